//! HTTPS on the API port and the gRPC port (`SPOKE_TLS_*`), tried on the
//! real binary with certificates from a test CA: REST and gRPC through the
//! Rust client, REST from Python's urllib (OpenSSL), ALPN, rotation of the
//! certificate files without a restart, client certificates, a plain-HTTP
//! client on the TLS port, silent clients, and the private key kept out of
//! every log line and error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::process::{Server, command, eventually, get, minimal, python_script, test_python};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use spoke_client::{Client, ClientError, ClientOptions, FileBody, PushRequest};

/// A test CA that issues server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, as PEM, and the certificate as DER to compare
/// with what a handshake presents.
struct Issued {
    cert_pem: String,
    key_pem: String,
    der: CertificateDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Ca {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server certificate for `localhost` and 127.0.0.1.
    fn server(&self, name: &str) -> Issued {
        self.issue(
            name,
            &["localhost", "127.0.0.1"],
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self, name: &str) -> Issued {
        self.issue(name, &[], ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn issue(&self, name: &str, sans: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        let mut params = CertificateParams::new(sans).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            der: cert.der().clone(),
        }
    }
}

/// Where the server reads its TLS files from.
struct TlsFiles {
    dir: tempfile::TempDir,
}

impl TlsFiles {
    fn new() -> TlsFiles {
        TlsFiles {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Replaces a file at once (write aside, then rename), as a careful
    /// rotation does.
    fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        let aside = self.path(&format!(".{name}.new"));
        std::fs::write(&aside, content).unwrap();
        std::fs::rename(&aside, &path).unwrap();
        path
    }

    fn install(&self, issued: &Issued) {
        self.write("tls.crt", &issued.cert_pem);
        self.write("tls.key", &issued.key_pem);
    }
}

/// The binary serving HTTPS with `files`' tls.crt and tls.key.
fn tls_command(storage: &Path, files: &TlsFiles) -> Command {
    let mut command = minimal(storage);
    command
        .env("SPOKE_TLS_CERT_FILE", files.path("tls.crt"))
        .env("SPOKE_TLS_KEY_FILE", files.path("tls.key"));
    command
}

/// A rustls client trusting `ca_pem`, offering `alpn`, with an optional
/// client certificate.
fn client_config(ca_pem: &str, alpn: &[&[u8]], identity: Option<&Issued>) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.unwrap()).unwrap();
    }
    let builder =
        ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let mut config = match identity {
        None => builder.with_no_client_auth(),
        Some(issued) => builder
            .with_client_auth_cert(
                vec![issued.der.clone()],
                PrivateKeyDer::from_pem_slice(issued.key_pem.as_bytes()).unwrap(),
            )
            .unwrap(),
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

type TlsStream = StreamOwned<ClientConnection, TcpStream>;

/// A completed handshake with `addr` as `localhost`.
fn handshake(addr: SocketAddr, config: &Arc<ClientConfig>) -> std::io::Result<TlsStream> {
    let mut tcp = TcpStream::connect(addr)?;
    tcp.set_read_timeout(Some(Duration::from_secs(30)))?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut connection = ClientConnection::new(Arc::clone(config), name).unwrap();
    while connection.is_handshaking() {
        connection.complete_io(&mut tcp)?;
    }
    Ok(StreamOwned::new(connection, tcp))
}

/// The certificate a new connection to `addr` is shown.
fn presented(addr: SocketAddr, config: &Arc<ClientConfig>) -> CertificateDer<'static> {
    let stream = handshake(addr, config).unwrap();
    stream.conn.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

/// `GET path` over HTTP/1.1 on a new TLS connection: (status, body).
fn https_get(
    addr: SocketAddr,
    config: &Arc<ClientConfig>,
    path: &str,
) -> std::io::Result<(u16, String)> {
    let mut stream = handshake(addr, config)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )?;
    stream.flush()?;
    let mut raw = Vec::new();
    // A peer that closes without close_notify ends the read with an error
    // after the response: what was read counts.
    let read = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok());
    match (status, read) {
        (Some(status), _) => Ok((
            status,
            text.split_once("\r\n\r\n")
                .map(|(_, b)| b.to_owned())
                .unwrap_or_default(),
        )),
        (None, Err(error)) => Err(error),
        (None, Ok(_)) => Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("no response: {text:?}"),
        )),
    }
}

fn options_trusting(ca: &Ca) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(20),
        max_attempts: 1,
        ca_certificates_pem: Some(ca.pem().into_bytes()),
        ..ClientOptions::default()
    }
}

/// The acceptance: a client trusting a private CA talks REST and gRPC over
/// TLS, on the API port and on the gRPC port, with HTTP/2 or HTTP/1.1 as
/// ALPN settles; Python's urllib (OpenSSL) too. The health port stays plain.
#[test]
fn rest_and_grpc_over_tls_with_a_private_ca() {
    let ca = Ca::new("Spoke Test CA");
    let files = TlsFiles::new();
    files.install(&ca.server("spoke-a"));
    let storage = tempfile::tempdir().unwrap();
    let mut command = tls_command(storage.path(), &files);
    command.env("SPOKE_GRPC_PORT", "0");
    let mut server = Server::spawn(command);
    let listening = server.wait_for_log(|log| log["message"] == "listening");
    assert_eq!(listening["tls"], true, "{listening}");
    let grpc_addr: SocketAddr = listening["grpc_addr"].as_str().unwrap().parse().unwrap();
    let api_port = server.api.port();

    let mut digest = String::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = options_trusting(&ca);
        let rest = Client::rest(&format!("https://localhost:{api_port}"), &options).unwrap();
        let created = rest.create_module("secure", "over TLS").await.unwrap();
        assert_eq!(created.name, "secure");
        let push = PushRequest {
            module_name: None,
            version: "v1.0.0".to_owned(),
            files: vec![FileBody {
                path: "secure/v1/sealed.proto".to_owned(),
                content: "syntax = \"proto3\";\npackage secure.v1;\nmessage Sealed {}\n".to_owned(),
                digest: None,
            }],
            dependencies: vec![],
            source_info: None,
            create_module: false,
            description: None,
            documents: vec![],
        };
        let (_, version) = rest.push("secure", &push).await.unwrap();
        digest = version.digest;
        for url in [
            format!("https://localhost:{api_port}"),
            format!("https://localhost:{}", grpc_addr.port()),
        ] {
            let grpc = Client::grpc(&url, &options).unwrap();
            let module = grpc.get_module("secure").await.unwrap();
            assert_eq!(module.description, "over TLS", "{url}");
        }

        // The system's trust store does not know the test CA.
        let untrusting = ClientOptions {
            ca_certificates_pem: None,
            ..options_trusting(&ca)
        };
        let rest = Client::rest(&format!("https://localhost:{api_port}"), &untrusting).unwrap();
        let error = rest.get_module("secure").await.unwrap_err();
        assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
        let grpc = Client::grpc(&format!("https://localhost:{api_port}"), &untrusting).unwrap();
        let error = grpc.get_module("secure").await.unwrap_err();
        assert!(matches!(error, ClientError::Transport { .. }), "{error:?}");
    });

    // ALPN: h2 when offered, HTTP/1.1 otherwise, and both serve REST.
    let h2 = handshake(
        server.api,
        &client_config(&ca.pem(), &[b"h2", b"http/1.1"], None),
    )
    .unwrap();
    assert_eq!(h2.conn.alpn_protocol(), Some(&b"h2"[..]));
    let http1 = client_config(&ca.pem(), &[b"http/1.1"], None);
    assert_eq!(
        handshake(server.api, &http1).unwrap().conn.alpn_protocol(),
        Some(&b"http/1.1"[..])
    );
    let (status, body) = https_get(server.api, &http1, "/modules/secure").unwrap();
    assert_eq!(status, 200, "{body}");
    let no_alpn = client_config(&ca.pem(), &[], None);
    assert_eq!(
        https_get(server.api, &no_alpn, "/modules/secure")
            .unwrap()
            .0,
        200
    );

    // Another TLS stack: Python's urllib over OpenSSL, trusting the CA.
    let ca_file = files.write("ca.crt", &ca.pem());
    let script = "import json, ssl, sys, urllib.request\n\
        context = ssl.create_default_context(cafile=sys.argv[2])\n\
        with urllib.request.urlopen(sys.argv[1], context=context, timeout=30) as answer:\n\
        \x20   print(json.dumps({'status': answer.status, 'body': json.load(answer)}))\n";
    let output = Command::new("python3")
        .args(["-c", script])
        .arg(format!("https://localhost:{api_port}/modules/secure"))
        .arg(&ca_file)
        .output()
        .expect("python3 runs (cargo xtask test installs it)");
    assert!(
        output.status.success(),
        "urllib failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(answer["body"]["name"], "secure", "{answer}");

    // gRPC from another TLS stack (grpcio's), with reflection, when the
    // test Python is there.
    if let Some(python) = test_python() {
        let found = python_script(
            &python,
            "reflection_lookup.py",
            &[
                &format!("localhost:{api_port}"),
                "secure",
                "v1.0.0",
                ca_file.to_str().unwrap(),
            ],
        );
        assert_eq!(
            found["version"]["version"]["digest"],
            digest.as_str(),
            "{found}"
        );
    }

    // The health port stays plain HTTP for probes and scrapers.
    assert_eq!(get(server.health, "/health/ready").0, 200);
}

/// A client speaking plain HTTP to the TLS port is told so in JSON; one
/// that connects and sends nothing is cut at the read timeout and does not
/// hold up others meanwhile.
#[test]
fn plain_and_silent_clients_on_the_tls_port() {
    let ca = Ca::new("Spoke Test CA");
    let files = TlsFiles::new();
    files.install(&ca.server("spoke-a"));
    let storage = tempfile::tempdir().unwrap();
    let mut command = tls_command(storage.path(), &files);
    command.env("SPOKE_READ_TIMEOUT", "1s");
    let server = Server::spawn(command);

    let (status, body) = get(server.api, "/modules");
    assert_eq!(status, 400, "{body}");
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "TLS_REQUIRED", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("https://"),
        "{body}"
    );

    let silent = TcpStream::connect(server.api).unwrap();
    // A handshake record header that promises a ClientHello never sent.
    let mut stalled = TcpStream::connect(server.api).unwrap();
    stalled.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00]).unwrap();
    let config = client_config(&ca.pem(), &[b"http/1.1"], None);
    assert_eq!(https_get(server.api, &config, "/modules").unwrap().0, 200);
    // Both are closed by the server (read timeout 1s, so well within the
    // generous bound that only catches a hang), without an answer.
    for (who, mut stream) in [("silent", silent), ("stalled", stalled)] {
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let started = Instant::now();
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(0) => {}
            Ok(n) => panic!("{who}: the server sent {n} bytes"),
            Err(error) => assert!(
                started.elapsed() < Duration::from_secs(20),
                "{who}: not closed by the server: {error}"
            ),
        }
    }
}

/// The acceptance: the certificate files are replaced and new connections
/// get the new certificate, without a restart; a broken replacement keeps
/// the working certificate and says why in the log.
#[test]
fn a_rotated_certificate_is_served_without_a_restart() {
    let ca = Ca::new("Spoke Test CA");
    let (first, second) = (ca.server("spoke-first"), ca.server("spoke-second"));
    let files = TlsFiles::new();
    files.install(&first);
    let storage = tempfile::tempdir().unwrap();
    let mut server = Server::spawn(tls_command(storage.path(), &files));
    let pid = server.child.id();
    let config = client_config(&ca.pem(), &[b"http/1.1"], None);
    assert_eq!(presented(server.api, &config), first.der);

    files.install(&second);
    eventually(
        Duration::from_secs(30),
        "the new certificate is served",
        || presented(server.api, &config) == second.der,
    );
    assert_eq!(https_get(server.api, &config, "/modules").unwrap().0, 200);
    let reloaded = server.wait_for_log(|log| {
        log["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("TLS certificate reloaded"))
    });
    assert!(
        reloaded["fingerprint"]
            .as_str()
            .is_some_and(|f| f.len() == 95),
        "{reloaded}"
    );

    // A key that does not belong to the certificate: logged, not served.
    let stranger = ca.server("spoke-stranger");
    files.write("tls.crt", &stranger.cert_pem);
    let refused = server.wait_for_log(|log| {
        log["message"]
            .as_str()
            .is_some_and(|m| m.contains("unusable: still serving the previous certificate"))
    });
    assert_eq!(refused["level"], "ERROR", "{refused}");
    assert_eq!(presented(server.api, &config), second.der);
    // Completing the pair puts it in service.
    files.write("tls.key", &stranger.key_pem);
    eventually(
        Duration::from_secs(30),
        "the completed pair is served",
        || presented(server.api, &config) == stranger.der,
    );
    assert_eq!(server.child.id(), pid);
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}

/// With `SPOKE_TLS_CLIENT_CA_FILE`, only clients with a certificate that CA
/// issued are served.
#[test]
fn client_certificates_are_required_with_a_client_ca() {
    let ca = Ca::new("Spoke Test CA");
    let clients = Ca::new("Spoke Client CA");
    let files = TlsFiles::new();
    files.install(&ca.server("spoke-a"));
    let client_ca = files.write("clients.crt", &clients.pem());
    let storage = tempfile::tempdir().unwrap();
    let mut command = tls_command(storage.path(), &files);
    command.env("SPOKE_TLS_CLIENT_CA_FILE", &client_ca);
    let server = Server::spawn(command);

    let member = clients.client("ci-bot");
    let config = client_config(&ca.pem(), &[b"http/1.1"], Some(&member));
    assert_eq!(https_get(server.api, &config, "/modules").unwrap().0, 200);

    // TLS 1.3 clients finish their side of the handshake before the server
    // has checked them: the refusal arrives in place of the response.
    let anonymous = client_config(&ca.pem(), &[b"http/1.1"], None);
    let outsider = client_config(&ca.pem(), &[b"http/1.1"], Some(&ca.client("outsider")));
    for (who, config) in [("no certificate", anonymous), ("another CA", outsider)] {
        let refused = https_get(server.api, &config, "/modules");
        assert!(refused.is_err(), "{who}: served {refused:?}");
    }
    // Plain HTTP is not a way around it.
    assert_eq!(get(server.api, "/modules").0, 400);
}

/// Configuration and startup errors name the variable; the private key's
/// content never appears in them, nor in any log line at the most verbose
/// level.
#[test]
fn tls_errors_name_the_setting_and_never_show_the_key() {
    let ca = Ca::new("Spoke Test CA");
    let issued = ca.server("spoke-a");
    let files = TlsFiles::new();
    files.install(&issued);
    // A line from the middle of the key's base64.
    let key_line = issued.key_pem.lines().nth(1).unwrap().to_owned();
    assert!(key_line.len() > 20);
    let storage = tempfile::tempdir().unwrap();

    let run = |extra: &[(&str, &Path)]| {
        let mut command = command();
        command
            .env("SPOKE_HOST", "127.0.0.1")
            .env("SPOKE_PORT", "0")
            .env("SPOKE_HEALTH_PORT", "0")
            .env("SPOKE_FILESYSTEM_ROOT", storage.path());
        for (name, value) in extra {
            command.env(name, value);
        }
        let output = command.output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!stderr.contains(&key_line), "the key leaked: {stderr}");
        assert!(
            !String::from_utf8_lossy(&output.stdout).contains(&key_line),
            "the key leaked into the log"
        );
        (output.status.code(), stderr)
    };
    let cert = files.path("tls.crt");
    let key = files.path("tls.key");

    let (code, stderr) = run(&[("SPOKE_TLS_CERT_FILE", &cert)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SPOKE_TLS_KEY_FILE: required"), "{stderr}");
    let (code, stderr) = run(&[("SPOKE_TLS_CLIENT_CA_FILE", &cert)]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("SPOKE_TLS_CLIENT_CA_FILE"), "{stderr}");

    // The key file given as the certificate: the key is not quoted back.
    let (code, stderr) = run(&[("SPOKE_TLS_CERT_FILE", &key), ("SPOKE_TLS_KEY_FILE", &key)]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("SPOKE_TLS_CERT_FILE") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
    // A certificate where the key should be.
    let (code, stderr) = run(&[
        ("SPOKE_TLS_CERT_FILE", &cert),
        ("SPOKE_TLS_KEY_FILE", &cert),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("SPOKE_TLS_KEY_FILE") && stderr.contains("no usable PEM private key"),
        "{stderr}"
    );
    // Another certificate's key.
    let other_key = files.write("other.key", &ca.server("other").key_pem);
    let (code, stderr) = run(&[
        ("SPOKE_TLS_CERT_FILE", &cert),
        ("SPOKE_TLS_KEY_FILE", &other_key),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("cannot serve"), "{stderr}");
    let missing = files.path("missing.crt");
    let (code, stderr) = run(&[
        ("SPOKE_TLS_CERT_FILE", &missing),
        ("SPOKE_TLS_KEY_FILE", &key),
    ]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("SPOKE_TLS_CERT_FILE: cannot read"),
        "{stderr}"
    );

    // Served at the most verbose level, handshakes good and bad, then stopped.
    let mut command = tls_command(storage.path(), &files);
    command.env("SPOKE_LOG_LEVEL", "trace");
    let mut server = Server::spawn(command);
    let config = client_config(&ca.pem(), &[b"h2", b"http/1.1"], None);
    assert_eq!(https_get(server.api, &config, "/modules").unwrap().0, 200);
    let untrusted = client_config(&Ca::new("Elsewhere").pem(), &[b"http/1.1"], None);
    assert!(https_get(server.api, &untrusted, "/modules").is_err());
    server.sigterm();
    assert!(server.wait_exit(Duration::from_secs(30)).success());
    let logs = server.drain_logs();
    assert!(
        logs.iter()
            .any(|log| log["message"] == "TLS certificate loaded")
    );
    for log in &logs {
        assert!(
            !log.to_string().contains(&key_line),
            "the key leaked: {log}"
        );
    }
}

/// Cargo's `config.json` over a TLS connection the server terminates
/// itself names the server by `https`; with SPOKE_PUBLIC_URL set, by that
/// URL whatever the request says; a malformed SPOKE_PUBLIC_URL fails
/// startup, naming the variable.
#[test]
fn cargo_config_names_https_over_tls_or_the_public_url() {
    let ca = Ca::new("Spoke Test CA");
    let files = TlsFiles::new();
    files.install(&ca.server("spoke-a"));
    let http1 = client_config(&ca.pem(), &[b"http/1.1"], None);
    let config = |server: &Server| {
        let (status, body) = https_get(server.api, &http1, "/cargo/index/config.json").unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<serde_json::Value>(&body).unwrap()
    };

    let storage = tempfile::tempdir().unwrap();
    let server = Server::spawn(tls_command(storage.path(), &files));
    let derived = config(&server);
    assert_eq!(derived["dl"], "https://localhost/cargo/api/v1/crates");
    assert_eq!(derived["api"], "https://localhost/cargo");
    drop(server);

    let mut command = tls_command(storage.path(), &files);
    command.env("SPOKE_PUBLIC_URL", "https://spoke.example.com/registry/");
    let server = Server::spawn(command);
    let public = config(&server);
    assert_eq!(
        public["dl"],
        "https://spoke.example.com/registry/cargo/api/v1/crates"
    );
    assert_eq!(public["api"], "https://spoke.example.com/registry/cargo");
    drop(server);

    let output = minimal(storage.path())
        .env("SPOKE_PUBLIC_URL", "spoke.example.com:8080")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("SPOKE_PUBLIC_URL: expected an http:// or https:// URL"),
        "{stderr}"
    );
}
