#![allow(clippy::unwrap_used, clippy::expect_used)]
//! `spoke-server` processes over PostgreSQL, S3 (moto) and Redis: the
//! `postgres` and `hybrid` storage types end to end, `migrate`, readiness
//! and pool metrics, and the faults of issues 5 and 6 — the object store
//! down, the database down (behind a relay the test cuts), the server
//! SIGKILLed mid-push, two servers racing on one database, two servers
//! sharing Redis, and a replica stopped.
//!
//! Each test uses a fresh database (on `SPOKE_TEST_POSTGRES_URL`) and a
//! fresh bucket; without the services they skip with a note, or fail when
//! `SPOKE_TEST_REQUIRE_PROTOC` is set (`cargo xtask test` sets it).

use crate::common;
use spoke_test_support::redis;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::process::{Server, eventually, get, minimal, request};
use common::services::{
    Moto, Relay, TestDb, address_of, create_bucket, replica_pair, shared_s3, with_address,
    with_database,
};
use serde_json::{Value, json};

/// Where file content lives.
enum Content<'a> {
    /// In PostgreSQL (`postgres` without a bucket).
    Postgres,
    /// In S3: (endpoint, bucket). `postgres` with a bucket.
    S3(&'a str, &'a str),
    /// In S3 behind the local cache under the storage root.
    Hybrid(&'a str, &'a str),
}

/// A server on `db` with content where `content` says, storage root `root`.
fn server(db: &TestDb, content: &Content, root: &Path) -> Command {
    let mut command = minimal(root);
    command
        .env("SPOKE_POSTGRES_URL", &db.url)
        .env("SPOKE_POSTGRES_TIMEOUT", "5s")
        .env("SPOKE_POSTGRES_MAX_CONNS", "8");
    let (kind, s3) = match content {
        Content::Postgres => ("postgres", None),
        Content::S3(endpoint, bucket) => ("postgres", Some((endpoint, bucket))),
        Content::Hybrid(endpoint, bucket) => ("hybrid", Some((endpoint, bucket))),
    };
    command.env("SPOKE_STORAGE_TYPE", kind);
    if let Some((endpoint, bucket)) = s3 {
        command
            .env("SPOKE_S3_ENDPOINT", endpoint)
            .env("SPOKE_S3_BUCKET", bucket)
            .env("SPOKE_S3_ACCESS_KEY", "test")
            .env("SPOKE_S3_SECRET_KEY", "test")
            .env("SPOKE_S3_FORCE_PATH_STYLE", "true");
    }
    command
}

/// A `.proto` file of about `bytes` bytes, a function of its arguments only.
fn proto(package: &str, tag: &str, bytes: usize) -> String {
    let mut text = format!("syntax = \"proto3\";\npackage {package};\n\n// {tag}\n");
    let mut n = 0;
    while text.len() < bytes {
        text.push_str(&format!(
            "message M{n} {{\n  string name = 1;\n  int64 id = 2;\n  repeated string tags = 3;\n}}\n"
        ));
        n += 1;
    }
    text
}

/// The files of `version` of a module: `count` files of about `bytes` each.
fn files(version: &str, count: usize, bytes: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let package = format!("spoke.test.f{i}");
            (
                format!("spoke/test/f{i}.proto"),
                proto(&package, version, bytes),
            )
        })
        .collect()
}

fn push_body(version: &str, files: &[(String, String)], create_module: bool) -> String {
    let files: Vec<Value> = files
        .iter()
        .map(|(path, content)| json!({ "path": path, "content": content }))
        .collect();
    json!({ "version": version, "files": files, "create_module": create_module }).to_string()
}

fn push(server: &Server, module: &str, version: &str, files: &[(String, String)]) -> (u16, Value) {
    let (status, body) = request(
        server.api,
        "POST",
        &format!("/modules/{module}/versions"),
        &push_body(version, files, true),
    );
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

fn get_json(addr: std::net::SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = get(addr, path);
    let value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path}: not JSON ({e}): {body}"));
    (status, value)
}

/// Asserts that `module@version` reads back with exactly `expected` files.
fn assert_reads_back(server: &Server, module: &str, version: &str, expected: &[(String, String)]) {
    let (status, body) = get_json(server.api, &format!("/modules/{module}/versions/{version}"));
    assert_eq!(status, 200, "{module}@{version}: {body}");
    let read: Vec<(String, String)> = body["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["content"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut expected = expected.to_vec();
    expected.sort();
    assert_eq!(read, expected, "{module}@{version} content");
}

fn metrics(server: &Server) -> String {
    let (status, text) = get(server.health, "/metrics");
    assert_eq!(status, 200);
    text
}

fn ready(server: &Server) -> (u16, Value) {
    get_json(server.health, "/health/ready")
}

/// A value in [0, n) that differs from run to run (no timing assertions
/// depend on it; it only varies where a kill lands).
fn jitter(n: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    u64::from(nanos) % n
}

// (a) Round trips on each storage type.

#[test]
fn round_trip_with_content_in_postgres() {
    let Some(db) = TestDb::create() else { return };
    let root = tempfile::tempdir().unwrap();
    let server = Server::spawn(server(&db, &Content::Postgres, root.path()));
    let pushed = files("v1.0.0", 3, 2_000);
    let (status, body) = push(&server, "pgblobs", "v1.0.0", &pushed);
    assert_eq!(status, 201, "{body}");
    assert_reads_back(&server, "pgblobs", "v1.0.0", &pushed);
    // Three files and the image, in the database.
    assert_eq!(db.query("SELECT count(*) FROM blobs"), "4");

    let (status, body) = ready(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "up", "{body}");
    assert_eq!(body["checks"]["object_store"]["backend"], "postgres");
    assert!(body["checks"].get("postgres_replicas").is_none(), "{body}");

    let text = metrics(&server);
    for series in [
        r#"spoke_db_connections_max{role="primary"} 8"#,
        r#"spoke_db_connections_active{role="primary"}"#,
        r#"spoke_db_connections_idle{role="primary"}"#,
        r#"spoke_db_connections_waiting{role="primary"} 0"#,
        r#"spoke_storage_operations_total{backend="postgres",operation="insert_version",outcome="ok"} 1"#,
        r#"spoke_storage_operations_total{backend="postgres",operation="put_blobs",outcome="ok"} 1"#,
    ] {
        assert!(text.contains(series), "no {series} in\n{text}");
    }
}

#[test]
fn round_trip_with_content_in_s3() {
    let Some(db) = TestDb::create() else { return };
    let Some(endpoint) = shared_s3() else { return };
    let bucket = create_bucket(&endpoint);
    let root = tempfile::tempdir().unwrap();
    let server = Server::spawn(server(&db, &Content::S3(&endpoint, &bucket), root.path()));
    let pushed = files("v1.0.0", 3, 2_000);
    let (status, body) = push(&server, "s3blobs", "v1.0.0", &pushed);
    assert_eq!(status, 201, "{body}");
    assert_reads_back(&server, "s3blobs", "v1.0.0", &pushed);
    assert_eq!(db.query("SELECT count(*) FROM blobs"), "0");
    let listing = get(
        endpoint.strip_prefix("http://").unwrap().parse().unwrap(),
        &format!("/{bucket}?list-type=2&prefix=proto-files/sha256/"),
    )
    .1;
    assert_eq!(listing.matches("<Key>").count(), 4, "{listing}");

    let (status, body) = ready(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["object_store"]["backend"], "s3", "{body}");
    let text = metrics(&server);
    let series =
        r#"spoke_storage_operations_total{backend="s3",operation="put_blobs",outcome="ok"} 1"#;
    assert!(text.contains(series), "no {series} in\n{text}");
}

#[test]
fn round_trip_in_hybrid_survives_deleting_the_local_cache() {
    let Some(db) = TestDb::create() else { return };
    let Some(endpoint) = shared_s3() else { return };
    let bucket = create_bucket(&endpoint);
    let root = tempfile::tempdir().unwrap();
    let mut command = server(&db, &Content::Hybrid(&endpoint, &bucket), root.path());
    // No in-process cache: every read goes through the local blob cache.
    command.env("SPOKE_CACHE_ENABLED", "false");
    let server = Server::spawn(command);
    let pushed = files("v1.0.0", 3, 2_000);
    let (status, body) = push(&server, "hybrid", "v1.0.0", &pushed);
    assert_eq!(status, 201, "{body}");
    let cache = root.path().join("blob-cache");
    assert!(
        cache.join("sha256").is_dir(),
        "pushed blobs are kept locally"
    );
    assert_reads_back(&server, "hybrid", "v1.0.0", &pushed);

    std::fs::remove_dir_all(&cache).unwrap();
    assert_reads_back(&server, "hybrid", "v1.0.0", &pushed);
    assert!(cache.join("sha256").is_dir(), "reads fill the cache again");
    let (status, body) = ready(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["checks"]["object_store"]["backend"], "s3", "{body}");
}

#[test]
fn hybrid_without_a_bucket_is_a_startup_error() {
    let root = tempfile::tempdir().unwrap();
    let output = minimal(root.path())
        .env("SPOKE_STORAGE_TYPE", "hybrid")
        .env("SPOKE_POSTGRES_URL", "postgres://127.0.0.1:1/spoke")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("SPOKE_S3_BUCKET"), "{stderr}");
}

#[test]
fn migrate_applies_the_schema_once_and_exits() {
    let Some(db) = TestDb::create() else { return };
    let root = tempfile::tempdir().unwrap();
    let run = || {
        minimal(root.path())
            .env("SPOKE_POSTGRES_URL", &db.url)
            .arg("migrate")
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{first:?}");
    let stdout = String::from_utf8_lossy(&first.stdout);
    assert!(stdout.contains("applied migration 1 (initial)"), "{stdout}");
    let version = db.query("SELECT max(version) FROM schema_migrations");
    assert!(
        stdout.contains(&format!("schema version {version}")),
        "{stdout}"
    );

    let again = run();
    assert!(again.status.success(), "{again:?}");
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("no pending migrations"), "{stdout}");

    let output = minimal(root.path()).arg("migrate").output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("SPOKE_POSTGRES_URL"));
}

// (b) The object store down.

#[test]
fn object_store_down_means_503_and_nothing_written_until_it_returns() {
    let Some(db) = TestDb::create() else { return };
    let Some(mut moto) = Moto::start() else {
        return;
    };
    let bucket = create_bucket(&moto.endpoint());
    let root = tempfile::tempdir().unwrap();
    let endpoint = moto.endpoint();
    let server = Server::spawn(server(&db, &Content::S3(&endpoint, &bucket), root.path()));
    let first = files("v1.0.0", 2, 1_000);
    assert_eq!(push(&server, "outage", "v1.0.0", &first).0, 201);
    let count_rows = || {
        db.query("SELECT (SELECT count(*) FROM modules) || '/' || (SELECT count(*) FROM versions)")
    };
    let before = count_rows();
    assert_eq!(before, "1/1");

    moto.stop();
    let second = files("v1.1.0", 2, 1_000);
    let (status, body) = push(&server, "outage", "v1.1.0", &second);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "STORAGE_UNAVAILABLE", "{body}");
    // A push that would create its module leaves no module behind either.
    let (status, body) = push(&server, "unborn", "v1.0.0", &first);
    assert_eq!(status, 503, "{body}");
    assert_eq!(count_rows(), before, "no metadata written");
    let (status, module) = get_json(server.api, "/modules/outage");
    assert_eq!(status, 200);
    assert_eq!(module["latest_version"], "v1.0.0");

    let (status, body) = ready(&server);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["object_store"]["status"], "down", "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "up", "{body}");

    // Back, empty (moto keeps nothing): the bucket is created again.
    moto.restart();
    assert_eq!(create_bucket_named(&moto.endpoint(), &bucket), 200);
    eventually(Duration::from_secs(30), "readiness back to 200", || {
        ready(&server).0 == 200
    });
    let (status, body) = push(&server, "outage", "v1.1.0", &second);
    assert_eq!(status, 201, "{body}");
    assert_reads_back(&server, "outage", "v1.1.0", &second);
    let text = metrics(&server);
    let series = r#"spoke_storage_operations_total{backend="s3",operation="put_blobs",outcome="unavailable"}"#;
    assert!(text.contains(series), "no {series} in\n{text}");
}

// The PostgreSQL primary down.

#[test]
fn database_down_means_503_and_recovers_when_it_returns() {
    let Some(db) = TestDb::create() else { return };
    let Some(endpoint) = shared_s3() else { return };
    let bucket = create_bucket(&endpoint);
    let relay = Relay::start(address_of(&db.url));
    let root = tempfile::tempdir().unwrap();
    let mut command = server(&db, &Content::S3(&endpoint, &bucket), root.path());
    command
        .env(
            "SPOKE_POSTGRES_URL",
            with_address(&db.url, &format!("127.0.0.1:{}", relay.port)),
        )
        .env("SPOKE_POSTGRES_TIMEOUT", "2s");
    let server = Server::spawn(command);
    assert_eq!(
        push(&server, "dbdown", "v1.0.0", &files("v1.0.0", 1, 300)).0,
        201
    );

    relay.cut();
    let (status, body) = get_json(server.api, "/modules/dbdown");
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "STORAGE_UNAVAILABLE", "{body}");
    let (status, body) = push(&server, "dbdown", "v1.1.0", &files("v1.1.0", 1, 300));
    assert_eq!(status, 503, "{body}");
    let (status, body) = ready(&server);
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["checks"]["postgres"]["status"], "down", "{body}");
    assert_eq!(body["checks"]["object_store"]["status"], "up", "{body}");

    relay.restore();
    eventually(Duration::from_secs(30), "readiness back to 200", || {
        ready(&server).0 == 200
    });
    let (status, body) = push(&server, "dbdown", "v1.1.0", &files("v1.1.0", 1, 300));
    assert_eq!(status, 201, "{body}");
}

fn create_bucket_named(endpoint: &str, bucket: &str) -> u16 {
    let addr = endpoint.strip_prefix("http://").unwrap().parse().unwrap();
    request(addr, "PUT", &format!("/{bucket}"), "").0
}

// (c) SIGKILL in the middle of pushes.

#[test]
fn sigkill_mid_push_leaves_no_half_written_version() {
    const ROUNDS: usize = 5;
    let Some(db) = TestDb::create() else { return };
    let Some(endpoint) = shared_s3() else { return };
    let bucket = create_bucket(&endpoint);
    let root = tempfile::tempdir().unwrap();
    let content = Content::S3(&endpoint, &bucket);
    let version_files = |version: &str| files(version, 12, 8_000);
    for round in 0..ROUNDS {
        let mut server = Server::spawn(server(&db, &content, root.path()));
        let api = server.api;
        // Pushes until the server dies under one, saying when one is in.
        let (stored, first_stored) = std::sync::mpsc::channel();
        let pusher = std::thread::spawn(move || {
            for i in 0.. {
                let version = format!("v{round}.{i}.0");
                let body = push_body(&version, &version_files(&version), true);
                let answer =
                    common::process::try_request(api, "POST", "/modules/crash/versions", &body);
                let Ok((status, body)) = answer else { return };
                assert_eq!(status, 201, "{version}: {body}");
                let _ = stored.send(());
            }
        });
        // The kill lands mid-push after the round has stored one (a slow
        // machine may take longer than the jitter to get there).
        if first_stored.recv_timeout(Duration::from_secs(120)).is_err() {
            // The pusher's own failure says more.
            pusher.join().unwrap();
            panic!("no push completed in round {round}");
        }
        std::thread::sleep(Duration::from_millis(jitter(1_500)));
        server.kill();
        pusher.join().unwrap();
    }

    let server = Server::spawn(server(&db, &content, root.path()));
    let (status, list) = get_json(server.api, "/modules/crash/versions?limit=1000");
    assert_eq!(status, 200, "{list}");
    let versions: Vec<String> = list["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_str().unwrap().to_owned())
        .collect();
    assert!(!versions.is_empty(), "some pushes completed");
    for version in &versions {
        let expected = version_files(version);
        assert_reads_back(&server, "crash", version, &expected);
        // Same content again: an idempotent success, so the stored digest
        // is the digest of exactly these files.
        let (status, body) = push(&server, "crash", version, &expected);
        assert_eq!(status, 200, "{version}: {body}");
    }
    let stored = db.query("SELECT count(*) FROM versions");
    assert_eq!(
        stored,
        versions.len().to_string(),
        "every stored version is listed"
    );
}

// (d) Two servers racing on one database.

#[test]
fn two_servers_racing_on_one_version_store_exactly_one() {
    const PUSHES: usize = 50;
    let Some(db) = TestDb::create() else { return };
    let roots = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<Server> = roots
        .iter()
        .map(|root| Server::spawn(server(&db, &Content::Postgres, root.path())))
        .collect();
    let (status, body) = request(
        servers[0].api,
        "POST",
        "/modules",
        r#"{"name":"race","description":""}"#,
    );
    assert_eq!(status, 201, "{body}");
    let same = files("shared", 3, 1_500);
    let barrier = Arc::new(Barrier::new(PUSHES));
    let racers: Vec<_> = (0..PUSHES)
        .map(|i| {
            let api = servers[i % 2].api;
            // Every fifth pushes content of its own; the rest the same.
            let content = if i % 5 == 0 {
                files(&format!("own-{i}"), 3, 1_500)
            } else {
                same.clone()
            };
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                let body = push_body("v1.0.0", &content, false);
                barrier.wait();
                let (status, body) = request(api, "POST", "/modules/race/versions", &body);
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                (i, status, body)
            })
        })
        .collect();
    let answers: Vec<(usize, u16, Value)> = racers.into_iter().map(|r| r.join().unwrap()).collect();

    let (status, list) = get_json(servers[1].api, "/modules/race/versions");
    assert_eq!(status, 200, "{list}");
    let stored = list["versions"].as_array().unwrap();
    assert_eq!(stored.len(), 1, "{list}");
    let digest = stored[0]["digest"].as_str().unwrap();
    let created = answers.iter().filter(|(_, s, _)| *s == 201).count();
    assert_eq!(created, 1, "exactly one push created it");
    for (i, status, body) in &answers {
        match status {
            200 | 201 => assert_eq!(body["digest"], digest, "push {i}: {body}"),
            409 => assert_eq!(body["code"], "VERSION_CONFLICT", "push {i}: {body}"),
            other => panic!("push {i}: {other} {body}"),
        }
    }
    // The stored content decides who succeeded: the pushes of the same
    // content all succeeded or all conflicted, together.
    let outcomes: BTreeSet<u16> = answers
        .iter()
        .filter(|(i, _, _)| i % 5 != 0)
        .map(|(_, s, _)| if *s == 409 { 409 } else { 200 })
        .collect();
    assert_eq!(outcomes.len(), 1, "{answers:?}");
    assert_eq!(db.query("SELECT count(*) FROM versions"), "1");
}

// (e) Issue 6: two servers sharing the database and Redis.

#[test]
fn two_servers_sharing_redis_see_each_others_pushes() {
    // Long enough that seeing a push before it runs out proves invalidation.
    const TTL: Duration = Duration::from_secs(20);
    let Some(db) = TestDb::create() else { return };
    let Some(redis) = redis::Redis::start() else {
        return;
    };
    let roots = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<Server> = roots
        .iter()
        .map(|root| {
            let mut command = server(&db, &Content::Postgres, root.path());
            command
                .env(
                    "SPOKE_REDIS_URL",
                    format!("redis://127.0.0.1:{}/0", redis.port),
                )
                .env("SPOKE_CACHE_TTL", "20s");
            Server::spawn(command)
        })
        .collect();
    let (a, b) = (&servers[0], &servers[1]);
    for server in [a, b] {
        eventually(Duration::from_secs(20), "Redis up and subscribed", || {
            ready(server).1["checks"]["redis"]["status"] == "up"
        });
    }
    assert_eq!(push(a, "shared", "v1.0.0", &files("v1.0.0", 1, 200)).0, 201);
    let seen_by_b = |version: &str| {
        let latest = get_json(b.api, "/modules/shared").1["latest_version"] == version;
        let listed =
            get_json(b.api, "/modules/shared/versions").1["versions"][0]["version"] == version;
        latest && listed
    };
    // Warm B's caches (memory and Redis) with v1.0.0.
    for _ in 0..3 {
        assert!(seen_by_b("v1.0.0"));
    }

    assert_eq!(push(a, "shared", "v1.1.0", &files("v1.1.0", 1, 200)).0, 201);
    eventually(TTL / 4, "B sees v1.1.0 through invalidation", || {
        seen_by_b("v1.1.0")
    });

    // Cut B's (and A's) subscriptions again and again: B must not trust its
    // memory, and nothing may be staler than the TTL.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let cutter = {
        let stop = Arc::clone(&stop);
        let port = redis.port.to_string();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = Command::new("redis-cli")
                    .args(["-p", &port, "CLIENT", "KILL", "TYPE", "pubsub"])
                    .output();
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    assert!(seen_by_b("v1.1.0"));
    assert_eq!(push(a, "shared", "v1.2.0", &files("v1.2.0", 1, 200)).0, 201);
    eventually(
        TTL + Duration::from_secs(10),
        "B sees v1.2.0 within the TTL",
        || seen_by_b("v1.2.0"),
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    cutter.join().unwrap();
}

// (f) A replica stopped and restarted.

#[test]
fn a_stopped_replica_is_reported_down_and_reads_keep_working() {
    let Some((primary, replica, ctl)) = replica_pair() else {
        return;
    };
    let db = TestDb::create_on(primary);
    let replica_url = with_database(&replica, &db.name);
    // The replica replays the CREATE DATABASE; wait until it can connect.
    eventually(
        Duration::from_secs(30),
        "the database reaches the replica",
        || {
            Command::new("psql")
                .arg(&replica_url)
                .args(["-X", "-q", "-c", "SELECT 1"])
                .output()
                .is_ok_and(|o| o.status.success())
        },
    );
    let root = tempfile::tempdir().unwrap();
    let mut command = server(&db, &Content::Postgres, root.path());
    command
        .env("SPOKE_POSTGRES_REPLICA_URLS", &replica_url)
        .env("SPOKE_POSTGRES_REPLICA_MAX_LAG", "30s");
    let server = Server::spawn(command);
    let replica_status = |server: &Server| {
        let (status, body) = ready(server);
        assert_eq!(status, 200, "{body}");
        body["checks"]["postgres_replicas"][0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    eventually(Duration::from_secs(30), "replica up", || {
        replica_status(&server) == "up"
    });
    let pushed = files("v1.0.0", 2, 500);
    assert_eq!(push(&server, "replicated", "v1.0.0", &pushed).0, 201);
    assert_reads_back(&server, "replicated", "v1.0.0", &pushed);

    // Reads reach the replica once it has replayed the push.
    eventually(
        Duration::from_secs(30),
        "a read served by the replica",
        || {
            assert_eq!(get(server.api, "/modules/replicated").0, 200);
            metrics(&server).lines().any(|line| {
                line.starts_with(r#"spoke_db_reads_total{role="replica:"#) && !line.ends_with(" 0")
            })
        },
    );
    let control = |action: &str| {
        let output = Command::new(&ctl).arg(action).output().unwrap();
        assert!(output.status.success(), "replica {action}: {output:?}");
    };
    control("stop");
    let restarted = scopeguard(|| control("start"));
    for _ in 0..5 {
        assert_reads_back(&server, "replicated", "v1.0.0", &pushed);
    }
    eventually(Duration::from_secs(30), "replica reported down", || {
        replica_status(&server) == "down"
    });
    assert_reads_back(&server, "replicated", "v1.0.0", &pushed);
    drop(restarted);
    eventually(Duration::from_secs(60), "replica up again", || {
        replica_status(&server) == "up"
    });
    let text = metrics(&server);
    assert!(
        text.contains(r#"spoke_db_connections_max{role="replica:"#),
        "{text}"
    );
}

/// Runs `f` when dropped, so a failing assertion still restarts the replica.
fn scopeguard(f: impl FnOnce()) -> impl Drop {
    struct Guard<F: FnOnce()>(Option<F>);
    impl<F: FnOnce()> Drop for Guard<F> {
        fn drop(&mut self) {
            if let Some(f) = self.0.take() {
                f();
            }
        }
    }
    Guard(Some(f))
}

// (f) Issue 19: two servers sharing the database answer the same searches,
// each catching its own index up from the database before answering.

#[test]
fn two_servers_answer_the_same_search_after_a_push_through_either() {
    let Some(db) = TestDb::create() else { return };
    let roots = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let servers: Vec<Server> = roots
        .iter()
        .map(|root| Server::spawn(server(&db, &Content::Postgres, root.path())))
        .collect();
    let money = "syntax = \"proto3\";\npackage acme.common.v1;\n// Money.\nmessage Money {\n  int64 units = 1;\n}\n";
    let user = "syntax = \"proto3\";\npackage acme.user.v1;\nimport \"acme/common/v1/money.proto\";\nmessage User {\n  acme.common.v1.Money balance = 1;\n}\n";
    let push_through =
        |server: &Server, module: &str, version: &str, file: (&str, &str), deps: &[&str]| {
            let body = json!({
                "version": version,
                "files": [{"path": file.0, "content": file.1}],
                "dependencies": deps,
                "create_module": true,
            });
            let path = format!("/modules/{module}/versions");
            let (status, body) = request(server.api, "POST", &path, &body.to_string());
            assert_eq!(status, 201, "{body}");
        };
    let results = |server: &Server, query: &str| -> Vec<String> {
        let (status, body) = get_json(server.api, &format!("/api/v1/search?{query}"));
        assert_eq!(status, 200, "{body}");
        body["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                format!(
                    "{}@{} {}",
                    r["module"].as_str().unwrap(),
                    r["version"].as_str().unwrap(),
                    r["full_name"].as_str().unwrap()
                )
            })
            .collect()
    };
    // Both build their index before anything is pushed.
    for server in &servers {
        assert_eq!(results(server, "q=Money"), Vec::<String>::new());
    }
    push_through(
        &servers[0],
        "common",
        "v1.0.0",
        ("acme/common/v1/money.proto", money),
        &[],
    );
    push_through(
        &servers[1],
        "user",
        "v1.0.0",
        ("acme/user/v1/user.proto", user),
        &["common"],
    );
    for query in [
        "q=Money",
        "q=type:acme.common.v1.Money",
        "q=acme&all_versions=true",
    ] {
        let first = results(&servers[0], query);
        assert_eq!(first, results(&servers[1], query), "{query}");
        assert!(!first.is_empty(), "{query}");
    }
    let by_type = results(&servers[0], "q=type:acme.common.v1.Money");
    assert_eq!(by_type, ["user@v1.0.0 acme.user.v1.User.balance"]);

    // A newer version pushed through one is the latest on both at once.
    let user2 = user.replace("balance = 1;", "balance = 1;\n  string email = 2;");
    push_through(
        &servers[0],
        "user",
        "v1.1.0",
        ("acme/user/v1/user.proto", &user2),
        &["common"],
    );
    for server in &servers {
        assert_eq!(
            results(server, "q=email&kind=field"),
            ["user@v1.1.0 acme.user.v1.User.email"]
        );
    }
}
