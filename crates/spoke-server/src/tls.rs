//! HTTPS on the API listeners (`SPOKE_TLS_*`): rustls on the ring provider,
//! ALPN `h2` and `http/1.1`, optional client certificates, and the
//! certificate reloaded when its files change, so that a rotation (by
//! cert-manager, say) needs no restart.
//!
//! The handshake runs in the connection's own task, bounded by the read
//! timeout, so a slow handshake never holds up accepting.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::server::TlsStream;

use crate::config::TlsSettings;
use crate::listener::{self, Phase};

/// How often the certificate and key files are read to look for a change.
/// Reading two small files is cheap; rotations show within this time.
pub(crate) const RELOAD_INTERVAL: Duration = Duration::from_secs(2);

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Why the TLS files cannot be used. Never carries key material: key
/// problems are described, not quoted.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("{var}: cannot read {}: {source}", path.display())]
    Read {
        var: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{var}: {} holds no PEM certificate", path.display())]
    NoCertificate { var: &'static str, path: PathBuf },
    #[error("{var}: {} is not valid PEM: {reason}", path.display())]
    BadCertificate {
        var: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error(
        "SPOKE_TLS_KEY_FILE: {} holds no usable PEM private key (PKCS#8, PKCS#1 or SEC1)",
        path.display()
    )]
    BadKey { path: PathBuf },
    /// rustls refused the pair: an unsupported key type, or a key that does
    /// not belong to the certificate.
    #[error("SPOKE_TLS_KEY_FILE: {} cannot serve {}: {reason}", key.display(), cert.display())]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
    #[error("SPOKE_TLS_CLIENT_CA_FILE: {} cannot verify clients: {reason}", path.display())]
    ClientCa { path: PathBuf, reason: String },
}

/// The server side of TLS for the API listeners. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Acceptor {
    acceptor: tokio_rustls::TlsAcceptor,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor").finish_non_exhaustive()
    }
}

/// The TLS configuration and what keeps its certificate current.
pub(crate) struct Tls {
    pub(crate) acceptor: Acceptor,
    reloader: Reloader,
}

impl Tls {
    /// Reads and checks the files: a server never starts with a certificate
    /// it cannot serve.
    pub(crate) async fn load(settings: &TlsSettings) -> Result<Tls, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let files = PemFiles::read(settings).await?;
        let certified = files.certified_key(settings, &provider)?;
        tracing::info!(
            cert_file = %settings.cert_file.display(),
            fingerprint = %fingerprint(&certified),
            client_certificates = settings.client_ca_file.is_some(),
            "TLS certificate loaded"
        );
        let current = Arc::new(CurrentCert(RwLock::new(Arc::new(certified))));
        let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Unusable {
                cert: settings.cert_file.clone(),
                key: settings.key_file.clone(),
                reason: e.to_string(),
            })?;
        let builder = match &settings.client_ca_file {
            None => builder.with_no_client_auth(),
            Some(path) => {
                builder.with_client_cert_verifier(client_verifier(path, &provider).await?)
            }
        };
        let mut config = builder.with_cert_resolver(Arc::clone(&current) as _);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls {
            acceptor: Acceptor {
                acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
            },
            reloader: Reloader {
                settings: settings.clone(),
                provider,
                current,
                seen: files,
            },
        })
    }

    /// Watches the files until the server starts draining; see [`Reloader`].
    pub(crate) fn spawn_reloader(
        &self,
        phase: watch::Receiver<Phase>,
    ) -> tokio::task::JoinHandle<()> {
        let reloader = self.reloader.clone();
        tokio::spawn(reloader.run(phase))
    }
}

impl Acceptor {
    /// The TLS stream of an accepted connection, or `None` when the client
    /// does not complete a handshake within `timeout` (logged at debug: a
    /// scanner or a misconfigured client is not the server's problem). A
    /// client speaking plain HTTP gets a 400 JSON answer saying so.
    pub(crate) async fn handshake(
        &self,
        stream: TcpStream,
        remote: SocketAddr,
        timeout: Duration,
    ) -> Option<TlsStream<TcpStream>> {
        let accepted = tokio::time::timeout(timeout, async {
            let mut first = [0u8; 1];
            if matches!(stream.peek(&mut first).await, Ok(1) if first[0] != TLS_HANDSHAKE_RECORD) {
                refuse_plain_http(stream).await;
                return Err("plain HTTP on the TLS port".to_owned());
            }
            self.acceptor
                .accept(stream)
                .await
                .map_err(|e| e.to_string())
        })
        .await;
        match accepted {
            Ok(Ok(stream)) => Some(stream),
            Ok(Err(error)) => {
                tracing::debug!(%remote, %error, "TLS handshake failed");
                None
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake not completed within the read timeout");
                None
            }
        }
    }
}

/// Tells a plain-HTTP client, in the one language it understands, to use
/// `https://`, then closes.
async fn refuse_plain_http(mut stream: TcpStream) {
    let body = serde_json::json!({
        "error": "this port serves HTTPS only: use an https:// URL",
        "code": "TLS_REQUIRED",
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The certificate handed to every new handshake; replaced on reload, while
/// connections already open keep the one they began with.
struct CurrentCert(RwLock<Arc<CertifiedKey>>);

impl CurrentCert {
    fn get(&self) -> Arc<CertifiedKey> {
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, certified: CertifiedKey) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
    }
}

impl fmt::Debug for CurrentCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CurrentCert")
            .field("fingerprint", &fingerprint(&self.get()))
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for CurrentCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.get())
    }
}

/// Polls the certificate and key files every [`RELOAD_INTERVAL`]; when
/// their content changes and the new pair is usable, new handshakes get it.
/// A pair that is not usable (a half-written rotation, a key that does not
/// match) is logged as an error and the previous certificate stays.
/// Content, not modification times, is compared: Kubernetes swaps a
/// symbolic link and keeps old times.
#[derive(Clone)]
struct Reloader {
    settings: TlsSettings,
    provider: Arc<CryptoProvider>,
    current: Arc<CurrentCert>,
    /// The last content tried, loaded or not: a broken pair is reported
    /// once, not every interval.
    seen: PemFiles,
}

impl Reloader {
    async fn run(mut self, mut phase: watch::Receiver<Phase>) {
        let mut read_failing = false;
        loop {
            tokio::select! {
                () = listener::reached(&mut phase, Phase::Draining) => return,
                () = tokio::time::sleep(RELOAD_INTERVAL) => {}
            }
            let files = match PemFiles::read(&self.settings).await {
                Ok(files) => {
                    read_failing = false;
                    files
                }
                Err(error) => {
                    if !read_failing {
                        tracing::error!(%error, "cannot read the TLS files: still serving the previous certificate");
                    }
                    read_failing = true;
                    continue;
                }
            };
            if files == self.seen {
                continue;
            }
            match files.certified_key(&self.settings, &self.provider) {
                Ok(certified) => {
                    tracing::info!(
                        cert_file = %self.settings.cert_file.display(),
                        fingerprint = %fingerprint(&certified),
                        "TLS certificate reloaded: new connections use it"
                    );
                    self.current.replace(certified);
                }
                Err(error) => tracing::error!(
                    %error,
                    "the changed TLS files are unusable: still serving the previous certificate"
                ),
            }
            self.seen = files;
        }
    }
}

/// The raw content of the certificate and key files.
#[derive(Clone, PartialEq, Eq)]
struct PemFiles {
    cert: Vec<u8>,
    key: Vec<u8>,
}

impl PemFiles {
    async fn read(settings: &TlsSettings) -> Result<PemFiles, TlsError> {
        Ok(PemFiles {
            cert: read("SPOKE_TLS_CERT_FILE", &settings.cert_file).await?,
            key: read("SPOKE_TLS_KEY_FILE", &settings.key_file).await?,
        })
    }

    fn certified_key(
        &self,
        settings: &TlsSettings,
        provider: &CryptoProvider,
    ) -> Result<CertifiedKey, TlsError> {
        let chain = certificates("SPOKE_TLS_CERT_FILE", &settings.cert_file, &self.cert)?;
        // The PEM parser's errors may quote the input: not for a key.
        let key = PrivateKeyDer::from_pem_slice(&self.key).map_err(|_| TlsError::BadKey {
            path: settings.key_file.clone(),
        })?;
        CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Unusable {
            cert: settings.cert_file.clone(),
            key: settings.key_file.clone(),
            reason: e.to_string(),
        })
    }
}

async fn read(var: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    tokio::fs::read(path)
        .await
        .map_err(|source| TlsError::Read {
            var,
            path: path.to_owned(),
            source,
        })
}

/// Every certificate of a PEM file, in order; at least one.
fn certificates(
    var: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::BadCertificate {
            var,
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            var,
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// Requires client certificates issued by the CAs of `path`.
async fn client_verifier(
    path: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    const VAR: &str = "SPOKE_TLS_CLIENT_CA_FILE";
    let pem = read(VAR, path).await?;
    let mut roots = RootCertStore::empty();
    for certificate in certificates(VAR, path, &pem)? {
        roots.add(certificate).map_err(|e| TlsError::ClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| TlsError::ClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

/// The SHA-256 of the leaf certificate, as `openssl x509 -fingerprint
/// -sha256` prints it, for telling certificates apart in logs.
fn fingerprint(certified: &CertifiedKey) -> String {
    let Some(leaf) = certified.cert.first() else {
        return String::new();
    };
    Sha256::digest(leaf.as_ref())
        .iter()
        .map(|byte| format!("{byte:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}
