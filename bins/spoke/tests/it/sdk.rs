//! `spoke sdk download` against a real registry, over REST and gRPC: the
//! archive the registry serves, written whole; existing files kept unless
//! `--force`; one-line errors for unknown generators, modules and versions.

use std::fs;

use serde_json::Value;
use spoke_client::{Client, ClientOptions};

use crate::support::{Server, path_str, write_tree};

const COMMON: &str = "syntax = \"proto3\";\n\npackage acme.common.v1;\n\nmessage Money {\n  string currency = 1;\n}\n";
const USER: &str = "syntax = \"proto3\";\n\npackage acme.user.v1;\n\nimport \"acme/common/v1/money.proto\";\n\nmessage User {\n  acme.common.v1.Money balance = 1;\n}\n";

/// `common@v1.0.0` and `user@v1.0.0` (importing it), pushed with the CLI.
fn push_user_and_common(server: &Server, work: &std::path::Path) {
    let common = work.join("common");
    write_tree(&common, &[("acme/common/v1/money.proto", COMMON)]);
    server
        .spoke(&[
            "push",
            "-m",
            "common",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&common),
        ])
        .success();
    let user = work.join("user");
    write_tree(&user, &[("acme/user/v1/user.proto", USER)]);
    server
        .spoke(&[
            "push",
            "-m",
            "user",
            "--version",
            "v1.0.0",
            "--dep",
            "common@v1.0.0",
            "-d",
            path_str(&user),
        ])
        .success();
}

/// The SDK as the registry serves it, through the Rust client.
fn served(server: &Server, options: &[&str]) -> Vec<u8> {
    let client = Client::rest(&server.base, &ClientOptions::default()).unwrap();
    let options: Vec<String> = options.iter().map(|o| (*o).to_owned()).collect();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(client.sdk("user", "v1.0.0", "rust", &options))
        .unwrap()
        .archive
}

#[test]
fn sdk_download_writes_the_registrys_archive_and_keeps_existing_files() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    push_user_and_common(&server, work.path());
    let expected = served(&server, &[]);
    assert_eq!(&expected[..2], [0x1f, 0x8b], "a gzip stream");

    // The registry's file name, in the working directory.
    let out = server.spoke_in(work.path(), &["sdk", "download", "user@v1.0.0", "rust"]);
    let default = work.path().join("user-v1.0.0-rust.tar.gz");
    assert_eq!(
        out.success(),
        format!("wrote user-v1.0.0-rust.tar.gz ({} bytes)\n", expected.len())
    );
    assert_eq!(fs::read(&default).unwrap(), expected);

    // Not replaced without --force, before anything is asked (latest
    // resolves to the same file name).
    fs::write(&default, b"mine").unwrap();
    let refused = server.spoke_in(work.path(), &["sdk", "download", "user", "rust"]);
    assert_eq!(
        refused.failure(),
        "error: user-v1.0.0-rust.tar.gz already exists; pass --force to replace it"
    );
    assert_eq!(fs::read(&default).unwrap(), b"mine");
    let forced = server.spoke_in(
        work.path(),
        &["sdk", "download", "user@latest", "rust", "--force"],
    );
    forced.success();
    assert_eq!(fs::read(&default).unwrap(), expected);

    // -o and --opt, over gRPC, with --json.
    let with_mod = served(&server, &["include_file=mod.rs"]);
    assert_ne!(with_mod, expected);
    let file = work.path().join("nested.tar.gz");
    let out = server.spoke_grpc(&[
        "--json",
        "sdk",
        "download",
        "user@v1.0.0",
        "rust",
        "--opt",
        "include_file=mod.rs",
        "-o",
        path_str(&file),
    ]);
    let body: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(body["file"], path_str(&file));
    assert_eq!(body["bytes"], with_mod.len());
    assert!(
        body["etag"].as_str().unwrap().starts_with("sha256:"),
        "{body}"
    );
    assert_eq!(fs::read(&file).unwrap(), with_mod);
    let existing = server.spoke_grpc(&["sdk", "download", "user", "rust", "-o", path_str(&file)]);
    assert!(
        existing
            .failure()
            .ends_with("already exists; pass --force to replace it"),
        "{existing:?}"
    );
    assert_eq!(fs::read(&file).unwrap(), with_mod);
}

#[test]
fn sdk_download_failures_are_one_line_and_write_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    push_user_and_common(&server, work.path());
    let before: Vec<_> = fs::read_dir(work.path()).unwrap().collect();
    for (args, expected) in [
        (
            vec!["sdk", "download", "user@v1.0.0", "cobol"],
            "error: unknown generator \"cobol\"; available: rust (GENERATOR_NOT_FOUND)",
        ),
        (
            vec!["sdk", "download", "usr@v1.0.0", "rust"],
            "error: version v1.0.0 of module usr not found (VERSION_NOT_FOUND); did you mean `user`?",
        ),
        (
            vec!["sdk", "download", "user@v9.0.0", "rust"],
            "error: version v9.0.0 of module user not found (VERSION_NOT_FOUND)",
        ),
        (
            vec![
                "sdk",
                "download",
                "user@v1.0.0",
                "rust",
                "--opt",
                "frobnicate",
            ],
            "error: invalid parameter for rust: unknown option \"frobnicate\" (INVALID_SDK_OPTION)",
        ),
        (
            vec!["sdk", "download", "Bad Name", "rust"],
            "error: bad module reference \"Bad Name\"",
        ),
    ] {
        for transport in ["rest", "grpc"] {
            let out = match transport {
                "rest" => server.spoke_in(work.path(), &args),
                _ => server.spoke_grpc(&args),
            };
            let line = out.failure();
            assert!(line.starts_with(expected), "{transport} {args:?}: {line}");
        }
    }
    let after: Vec<_> = fs::read_dir(work.path()).unwrap().collect();
    assert_eq!(before.len(), after.len(), "nothing written");
}
