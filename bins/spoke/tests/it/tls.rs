//! The CLI against a registry served over HTTPS by a private CA: trusted
//! through `SPOKE_CA_FILE` (or `--ca-file`) over REST and gRPC, refused
//! without it, and a CA file that holds no certificate named in the error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
};
use spoke_server::Settings;
use spoke_server::config::TlsSettings;
use support::{Run, write_tree};

/// `spoke-server` with TLS in a thread of its own, stopped on drop.
struct TlsServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsServer {
    fn start(dir: &Path) -> TlsServer {
        let mut settings = Settings {
            host: [127, 0, 0, 1].into(),
            port: 0,
            health_port: 0,
            tls: Some(TlsSettings {
                cert_file: dir.join("tls.crt"),
                key_file: dir.join("tls.key"),
                client_ca_file: None,
            }),
            ..Settings::default()
        };
        settings.storage.filesystem_root = dir.join("storage");
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let server = spoke_server::start(settings).await.unwrap();
                addr_tx.send(server.api_addr()).unwrap();
                let _ = stopped.await;
                server.shutdown();
                server.wait().await.unwrap();
            });
        });
        TlsServer {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A CA's certificate, and a server certificate for localhost it issued,
/// written as `ca.crt`, `tls.crt` and `tls.key` under `dir`.
fn issue_certificates(dir: &Path) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "CLI Test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
    let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    std::fs::write(dir.join("ca.crt"), ca.pem()).unwrap();
    std::fs::write(dir.join("tls.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("tls.key"), key.serialize_pem()).unwrap();
}

/// `spoke ARGS` with `SPOKE_CA_FILE` set to `ca_file`, if any.
fn spoke_with_ca(ca_file: Option<&Path>, args: &[&str]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_spoke"));
    command
        .args(args)
        .env_remove("SPOKE_REGISTRY")
        .env_remove("SPOKE_TRANSPORT")
        .env_remove("SPOKE_CA_FILE");
    if let Some(ca_file) = ca_file {
        command.env("SPOKE_CA_FILE", ca_file);
    }
    let output = command.output().unwrap();
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

#[test]
fn the_cli_talks_to_an_https_registry_trusting_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    issue_certificates(dir.path());
    let server = TlsServer::start(dir.path());
    let registry = format!("https://localhost:{}", server.addr.port());
    let ca = dir.path().join("ca.crt");
    let protos = dir.path().join("protos");
    write_tree(
        &protos,
        &[(
            "secure/v1/secure.proto",
            "syntax = \"proto3\";\npackage secure.v1;\nmessage Sealed { string text = 1; }\n",
        )],
    );

    let pushed = spoke_with_ca(
        Some(&ca),
        &[
            "--registry",
            &registry,
            "push",
            "--module",
            "secure",
            "--version",
            "v1.0.0",
            "--dir",
            protos.to_str().unwrap(),
        ],
    );
    pushed.success();
    let listed = spoke_with_ca(Some(&ca), &["--registry", &registry, "modules"]);
    assert!(listed.success().contains("secure"), "{listed:?}");
    // The gRPC API on the same port, and --ca-file in place of the variable.
    let versions = spoke_with_ca(
        None,
        &[
            "--transport",
            "grpc",
            "--ca-file",
            ca.to_str().unwrap(),
            "--registry",
            &registry,
            "versions",
            "secure",
        ],
    );
    assert!(versions.success().contains("v1.0.0"), "{versions:?}");

    // The system's trust store does not know the test CA.
    let refused = spoke_with_ca(
        None,
        &["--registry", &registry, "--timeout", "10", "modules"],
    );
    let error = refused.failure();
    assert!(error.contains("cannot reach registry"), "{error}");

    // A CA file without a certificate is named as the culprit.
    let not_a_ca = dir.path().join("tls.key");
    let refused = spoke_with_ca(Some(&not_a_ca), &["--registry", &registry, "modules"]);
    let error = refused.failure();
    assert!(
        error.contains("--ca-file") && error.contains("unusable CA certificates"),
        "{error}"
    );
    // Its content is not echoed.
    let key = std::fs::read_to_string(&not_a_ca).unwrap();
    assert!(!error.contains(key.lines().nth(1).unwrap()), "{error}");
    let missing = dir.path().join("missing.crt");
    let refused = spoke_with_ca(Some(&missing), &["--registry", &registry, "modules"]);
    assert!(
        refused.failure().contains("cannot read --ca-file"),
        "{refused:?}"
    );
}
