//! The CA certificates a client trusts for `https://` registries.

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use crate::ClientError;

/// The certificates of a PEM bundle: at least one, every one well formed.
pub(crate) fn ca_certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(&e))?;
    if certificates.is_empty() {
        return Err(ClientError::InvalidCaCertificates {
            reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) found".to_owned(),
        });
    }
    Ok(certificates)
}

pub(crate) fn invalid(error: &dyn std::fmt::Display) -> ClientError {
    ClientError::InvalidCaCertificates {
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        for bad in [&b""[..], b"not pem", b"-----BEGIN CERTIFICATE-----\n!!!\n"] {
            assert!(
                matches!(
                    ca_certificates(bad),
                    Err(ClientError::InvalidCaCertificates { .. })
                ),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
