//! A client that does not embed the registry does not compile it: the REST
//! and gRPC transports need neither `spoke-registry` nor axum (nor the
//! OpenAPI machinery of the server side).

use std::process::Command;

/// The crates `cargo tree` lists for spoke-client built with `features`.
fn normal_dependencies(features: &[&str]) -> String {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "spoke-client",
            "-e",
            "normal",
            "--prefix",
            "none",
        ])
        .args(["--no-default-features", "--offline", "--locked"]);
    if !features.is_empty() {
        command.args(["--features", &features.join(",")]);
    }
    let out = command.output().expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn assert_lean(features: &[&str]) {
    let tree = normal_dependencies(features);
    for heavy in ["spoke-registry ", "axum ", "utoipa "] {
        assert!(
            !tree.lines().any(|line| line.starts_with(heavy)),
            "spoke-client with features {features:?} depends on {heavy}:\n{tree}"
        );
    }
}

#[test]
fn rest_and_grpc_clients_do_not_compile_the_registry() {
    assert_lean(&[]);
    assert_lean(&["grpc"]);
}

#[test]
fn the_embedded_client_does_compile_it() {
    let tree = normal_dependencies(&["embedded"]);
    assert!(tree.lines().any(|line| line.starts_with("spoke-registry ")));
}
