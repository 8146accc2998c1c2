//! The Cargo registry over real sockets, tried with cargo itself: a fresh
//! project depends on the `user` crate, builds, and its program's bytes
//! decode with the stored image to the same message. Crates.io's crates
//! (prost) come from crates.io through a copy of this machine's cache.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;

use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Value};
use spoke_domain::Digest;
use spoke_server::config::Secret;
use spoke_test_support::server::{HttpResponse, request, start, test_settings};

use crate::sdk::{push_user_and_common, untar};

async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
    request(addr, "GET", path, headers, b"").await
}

#[tokio::test]
async fn the_index_lists_every_version_with_the_checksum_of_its_download() {
    let root = tempfile::tempdir().unwrap();
    let server = start(test_settings(root.path())).await;
    let addr = server.api_addr();
    push_user_and_common(addr, None).await;

    let config = get(addr, "/cargo/index/config.json", &[]).await;
    assert_eq!(config.status, 200, "{}", config.text());
    let config = config.json();
    assert_eq!(config["dl"], "http://test/cargo/api/v1/crates");
    assert_eq!(config["api"], "http://test/cargo");
    assert!(config.get("auth-required").is_none(), "{config}");

    let index = get(addr, "/cargo/index/us/er/user", &[]).await;
    assert_eq!(index.status, 200, "{}", index.text());
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let lines: Vec<serde_json::Value> = index
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line["name"], "user");
    assert_eq!(line["vers"], "1.0.0");
    assert_eq!(line["yanked"], false);
    let deps = line["deps"].as_array().unwrap();
    let names: Vec<&str> = deps.iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["common", "prost", "prost-types"]);
    assert_eq!(deps[0]["req"], "=1.0.0");
    assert!(deps[0]["registry"].is_null(), "common is in this registry");
    assert_eq!(
        deps[1]["registry"],
        "https://github.com/rust-lang/crates.io-index"
    );

    let download = get(addr, "/cargo/api/v1/crates/user/1.0.0/download", &[]).await;
    assert_eq!(download.status, 200, "{}", download.text());
    assert_eq!(
        line["cksum"].as_str().unwrap(),
        Digest::of(&download.body).hex(),
        "the index's checksum is the download's"
    );
    let files = untar(&download.body);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "user-1.0.0/Cargo.toml",
            "user-1.0.0/src/acme.user.v1.rs",
            "user-1.0.0/src/lib.rs"
        ]
    );
    let code = String::from_utf8(files[1].1.clone()).unwrap();
    assert!(
        code.contains("::common::acme::common::v1::Money"),
        "the dependency's type comes from its crate: {code}"
    );
    // Deterministic: the same bytes again, after a restart of the cache too.
    let again = get(addr, "/cargo/api/v1/crates/user/1.0.0/download", &[]).await;
    assert_eq!(again.body, download.body);

    // Bad cases: unknown crates and versions, paths Cargo would not use.
    for path in [
        "/cargo/index/no/bo/nobody",
        "/cargo/index/xx/er/user",
        "/cargo/index/user",
        "/cargo/api/v1/crates/user/9.9.9/download",
        "/cargo/api/v1/crates/user/not-a-version/download",
        "/cargo/api/v1/crates/nobody/1.0.0/download",
    ] {
        let missing = get(addr, path, &[]).await;
        assert_eq!(missing.status, 404, "{path}: {}", missing.text());
        assert!(missing.json()["code"].is_string(), "{path}");
    }
}

/// The scheme `config.json` names: a proxy's `X-Forwarded-Proto` counts
/// only from a trusted proxy. The test's requests come from 127.0.0.1: a
/// trusted proxy for the first server, anyone for the second.
#[tokio::test]
async fn config_json_believes_x_forwarded_proto_only_from_a_trusted_proxy() {
    for (trusted, believed) in [("127.0.0.1/32", true), ("10.0.0.0/8", false)] {
        let root = tempfile::tempdir().unwrap();
        let mut settings = test_settings(root.path());
        settings.trusted_proxies = vec![trusted.parse().unwrap()];
        let server = start(settings).await;
        let addr = server.api_addr();
        for (proto, https) in [
            (Some("https"), believed),
            (Some("http"), false),
            (None, false),
        ] {
            let headers: Vec<_> = proto
                .map(|p| ("x-forwarded-proto", p))
                .into_iter()
                .collect();
            let config = get(addr, "/cargo/index/config.json", &headers).await;
            assert_eq!(config.status, 200, "{}", config.text());
            let scheme = if https { "https" } else { "http" };
            assert_eq!(
                config.json()["dl"],
                format!("{scheme}://test/cargo/api/v1/crates"),
                "trusted {trusted}, X-Forwarded-Proto {proto:?}"
            );
        }
    }
}

#[tokio::test]
async fn cargo_needs_a_token_when_anonymous_reads_are_off_and_sends_it_raw() {
    const BOOTSTRAP: &str = "bootstrap-token-for-the-cargo-tests-0123456789";
    let root = tempfile::tempdir().unwrap();
    let mut settings = test_settings(root.path());
    settings.auth.enabled = true;
    settings.auth.anonymous_read = false;
    settings.auth.bootstrap_token = Some(Secret::new(BOOTSTRAP));
    let server = start(settings).await;
    let addr = server.api_addr();
    push_user_and_common(addr, Some(BOOTSTRAP)).await;

    // Cargo asks without credentials first, and learns it must send them.
    let anonymous = get(addr, "/cargo/index/config.json", &[]).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text());
    // Cargo's credential providers send the token alone.
    let raw = [("Authorization", BOOTSTRAP)];
    let config = get(addr, "/cargo/index/config.json", &raw).await;
    assert_eq!(config.status, 200, "{}", config.text());
    assert_eq!(config.json()["auth-required"], true);
    let index = get(addr, "/cargo/index/us/er/user", &raw).await;
    assert_eq!(index.status, 200, "{}", index.text());
    let download = get(addr, "/cargo/api/v1/crates/user/1.0.0/download", &raw).await;
    assert_eq!(download.status, 200);
    for path in [
        "/cargo/index/us/er/user",
        "/cargo/api/v1/crates/user/1.0.0/download",
    ] {
        assert_eq!(get(addr, path, &[]).await.status, 401, "{path}");
        let wrong = [("Authorization", "spoke_0123456789abcdef_wrong")];
        let refused = get(addr, path, &wrong).await;
        assert_eq!(refused.status, 401, "{path}");
        assert!(!refused.text().contains("wrong"));
    }
}

/// A fresh Cargo home that knows the registry, with a copy of this
/// machine's crates.io index and crate cache (so only what is missing is
/// downloaded).
fn cargo_home(dir: &Path, addr: SocketAddr) -> std::path::PathBuf {
    let home = dir.join("cargo-home");
    std::fs::create_dir_all(&home).unwrap();
    let machine = std::env::var_os("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo")));
    if let Some(registry) = machine.map(|m| m.join("registry")).filter(|r| r.is_dir()) {
        std::fs::create_dir_all(home.join("registry")).unwrap();
        for part in ["index", "cache"] {
            if registry.join(part).is_dir() {
                let copied = Command::new("cp")
                    .arg("-a")
                    .arg(registry.join(part))
                    .arg(home.join("registry").join(part))
                    .status()
                    .unwrap();
                assert!(copied.success());
            }
        }
    }
    std::fs::write(
        home.join("config.toml"),
        format!("[registries.spoke]\nindex = \"sparse+http://{addr}/cargo/index/\"\n"),
    )
    .unwrap();
    home
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fresh_cargo_project_builds_against_the_user_crate_and_its_bytes_decode() {
    let root = tempfile::tempdir().unwrap();
    let server = start(test_settings(root.path())).await;
    let addr = server.api_addr();
    push_user_and_common(addr, None).await;

    let work = tempfile::tempdir().unwrap();
    let home = cargo_home(work.path(), addr);
    let project = work.path().join("app");
    std::fs::create_dir_all(project.join("src")).unwrap();
    std::fs::write(
        project.join("Cargo.toml"),
        "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
         [dependencies]\nprost = \"0.14\"\n",
    )
    .unwrap();
    std::fs::write(
        project.join("src/main.rs"),
        r#"use prost::Message;
use user::acme::user::v1::User;

fn main() {
    let user = User {
        name: "Ada".into(),
        balance: Some(common::acme::common::v1::Money { currency: "EUR".into(), units: 42 }),
        tags: vec!["admin".into()],
    };
    let hex: String = user.encode_to_vec().iter().map(|b| format!("{b:02x}")).collect();
    println!("{hex}");
}
"#,
    )
    .unwrap();
    let target = work.path().join("target");
    let cargo = |args: &'static [&'static str]| {
        let (project, home, target) = (project.clone(), home.clone(), target.clone());
        tokio::task::spawn_blocking(move || run_cargo(&project, &home, &target, args))
    };
    // As a new user would: `cargo add` from the registry.
    cargo(&["add", "--registry", "spoke", "user"])
        .await
        .unwrap();
    cargo(&["add", "--registry", "spoke", "common"])
        .await
        .unwrap();
    let manifest = std::fs::read_to_string(project.join("Cargo.toml")).unwrap();
    assert!(manifest.contains("registry = \"spoke\""), "{manifest}");
    let hex = cargo(&["run", "--quiet"]).await.unwrap();
    // `common` came in as `user`'s dependency, pinned exactly.
    let lock = std::fs::read_to_string(work.path().join("app/Cargo.lock")).unwrap();
    let user_entry = lock
        .split("[[package]]")
        .find(|p| p.contains("name = \"user\""))
        .unwrap();
    assert!(user_entry.contains("\"common\""), "{user_entry}");
    assert!(user_entry.contains("checksum = "), "{user_entry}");

    // The bytes decode, with the image the registry stores, to the message.
    let image = get(addr, "/modules/user/versions/v1.0.0/image", &[]).await;
    assert_eq!(image.status, 200);
    let pool = DescriptorPool::decode(image.body.as_slice()).unwrap();
    let descriptor = pool.get_message_by_name("acme.user.v1.User").unwrap();
    let bytes: Vec<u8> = (0..hex.trim().len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex.trim()[i..i + 2], 16).unwrap())
        .collect();
    let decoded = DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap();
    assert_eq!(
        decoded.get_field_by_name("name").unwrap().as_str(),
        Some("Ada")
    );
    let balance = decoded.get_field_by_name("balance").unwrap();
    let Value::Message(balance) = balance.as_ref() else {
        panic!("balance is a message: {balance:?}");
    };
    assert_eq!(
        balance.get_field_by_name("units").unwrap().as_i64(),
        Some(42)
    );
    assert_eq!(
        balance.get_field_by_name("currency").unwrap().as_str(),
        Some("EUR")
    );
    // And back: the same bytes.
    assert_eq!(decoded.encode_to_vec(), bytes);
}

/// Runs cargo in `project` with the test's Cargo home; its standard output.
fn run_cargo(project: &Path, home: &Path, target: &Path, args: &[&str]) -> String {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(project)
        .env("CARGO_HOME", home)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
