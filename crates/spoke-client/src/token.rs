//! The bearer token a client authenticates with.

use std::fmt;

use crate::ClientError;

/// A secret that authenticates a client to a registry with access control
/// on: an API token (`spoke token create`) or an OIDC access token. REST
/// sends it as `Authorization: Bearer …`, gRPC as `authorization` metadata;
/// the embedded transport has no use for it (the registry is the caller's
/// own process). It never appears in `Debug` output.
#[derive(Clone)]
pub struct BearerToken(String);

impl BearerToken {
    /// A token from its secret: 1 or more visible ASCII characters, which is
    /// what an HTTP header can carry (no spaces, no line breaks). The error
    /// says what is wrong without repeating the secret.
    pub fn new(secret: impl Into<String>) -> Result<Self, ClientError> {
        let secret = secret.into();
        let reason = if secret.is_empty() {
            "it is empty"
        } else if !secret.bytes().all(|b| b.is_ascii_graphic()) {
            "it may hold only visible ASCII characters (no spaces, line breaks or control characters)"
        } else {
            return Ok(Self(secret));
        };
        Err(ClientError::InvalidToken { reason })
    }

    /// The secret itself, for the one who has to store it.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// `Bearer <secret>`: the value of the header and of the metadata.
    pub(crate) fn authorization(&self) -> String {
        format!("Bearer {}", self.0)
    }
}

impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BearerToken(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_a_header_can_carry() {
        let token = BearerToken::new("spk_AbC-123.x/y+z=").unwrap();
        assert_eq!(token.secret(), "spk_AbC-123.x/y+z=");
        assert_eq!(token.authorization(), "Bearer spk_AbC-123.x/y+z=");
        for bad in ["", "two words", "line\nbreak", "tab\t", "caf\u{e9}"] {
            let err = BearerToken::new(bad).unwrap_err();
            assert!(matches!(err, ClientError::InvalidToken { .. }), "{bad:?}");
            if !bad.is_empty() {
                assert!(!err.to_string().contains(bad), "{err}");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let token = BearerToken::new("spk_secret").unwrap();
        let debug = format!("{token:?} {token:#?} {:?}", Some(token.clone()));
        assert!(!debug.contains("spk_secret"), "{debug}");
    }
}
