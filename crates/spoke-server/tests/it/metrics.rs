//! The metrics of docs/observability.md as a scrape shows them: bounded cardinality
//! under random paths, and every named series present with plausible
//! values after a small load run against PostgreSQL storage.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::hash::{BuildHasher, RandomState};
use std::net::SocketAddr;

use spoke_server::config::{Secret, StorageType};
use spoke_test_support::postgres as pg;
use spoke_test_support::server::{
    get, read_response, request, request_bytes, start, test_settings,
};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// The set of `name{labels}` series in a Prometheus text exposition.
fn series(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

/// The value of the series written exactly as `series` (name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            let (name, value) = line.rsplit_once(' ')?;
            (name == series).then(|| value.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {series} in\n{text}"))
}

/// The sum of every series of metric `name` (any labels).
fn sum(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|line| {
            line.strip_prefix(name)
                .is_some_and(|rest| rest.starts_with('{') || rest.starts_with(' '))
        })
        .filter_map(|line| line.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

async fn scrape(health: SocketAddr) -> String {
    let metrics = get(health, "/metrics").await;
    assert_eq!(metrics.status, 200);
    metrics.text()
}

/// One request of each shape the random run sends, so that their series
/// exist before the first scrape.
const SHAPES: [(&str, &str); 4] = [
    ("GET", ""),
    ("POST", ""),
    ("BREW", ""),
    ("POST", "application/grpc"),
];

/// `count` requests for random unknown paths over one keep-alive
/// connection, cycling through [`SHAPES`].
async fn random_requests(api: SocketAddr, seed: u64, count: usize) {
    let random = RandomState::new();
    let mut stream = TcpStream::connect(api).await.unwrap();
    for i in 0..count {
        let n = random.hash_one((seed, i));
        let path = match n % 3 {
            0 => format!("/{n:x}"),
            1 => format!("/modules/m{n}/versions/v{n}/nope/{}", n >> 7),
            // Unknown methods of an unknown gRPC service, and deep paths.
            _ => format!("/x.y{n}.Service/Method{}/{}", n >> 3, n >> 9),
        };
        let (method, content_type) = SHAPES[i % SHAPES.len()];
        let headers: &[(&str, &str)] = if content_type.is_empty() {
            &[]
        } else {
            &[("content-type", content_type)]
        };
        stream
            .write_all(&request_bytes(method, &path, headers, b"", false))
            .await
            .unwrap();
        let response = read_response(&mut stream).await;
        // gRPC answers an unknown method with 200 and a grpc-status.
        assert!(
            response.status >= 400 || response.header("grpc-status").is_some(),
            "{path}: {}",
            response.status
        );
        if response.header("connection") == Some("close") {
            stream = TcpStream::connect(api).await.unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_random_paths_add_no_series() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(test_settings(dir.path())).await;
    let (api, health) = (server.api_addr(), server.health_addr());

    random_requests(api, 0, SHAPES.len() * 3).await;
    let before = scrape(health).await;
    let unmatched_before = sum(&before, "spoke_http_requests_total");

    let runs: Vec<_> = (1..=4)
        .map(|seed| tokio::spawn(random_requests(api, seed, 2_500)))
        .collect();
    for run in runs {
        run.await.unwrap();
    }

    let after = scrape(health).await;
    assert_eq!(
        series(&after),
        series(&before),
        "random paths created series"
    );
    assert_eq!(
        sum(&after, "spoke_http_requests_total") - unmatched_before,
        10_000.0
    );
}

/// A push body of one file, `message` in package `load.v1`.
fn push_body(version: &str, message: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "version": version,
        "create_module": true,
        "files": [{
            "path": "load/v1/load.proto",
            "content": format!("syntax = \"proto3\";\npackage load.v1;\n{message}\n"),
        }],
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_metric_is_present_after_a_load_run() {
    let Some(admin_url) = pg::admin_url() else {
        return;
    };
    let db = pg::TestDb::create(&admin_url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.storage.kind = StorageType::Postgres;
    settings.postgres.url = Some(Secret::new(db.url.clone()));
    settings.postgres.max_conns = 7;
    settings.compile.max_concurrent = 3;
    let server = start(settings).await;
    let (api, health) = (server.api_addr(), server.health_addr());
    let json = [("content-type", "application/json")];
    let mut sent = 0.0;

    // Pushes: accepted.
    let good = [
        "message Order { string id = 1; }",
        "message Order { string id = 1; string note = 2; }",
        "message Order { string id = 1; string note = 2; int64 total = 3; }",
    ];
    for (i, message) in good.iter().enumerate() {
        let body = push_body(&format!("v1.{i}.0"), message);
        let pushed = request(api, "POST", "/modules/load/versions", &json, &body).await;
        assert_eq!(pushed.status, 201, "{}", pushed.text());
        sent += 1.0;
    }
    // Rejected: does not compile; a version that is not semver.
    for body in [
        push_body("v1.3.0", "message Order { strin id = 1; }"),
        push_body("not-a-version", good[0]),
    ] {
        let rejected = request(api, "POST", "/modules/load/versions", &json, &body).await;
        assert!(
            (400..500).contains(&rejected.status),
            "{} {}",
            rejected.status,
            rejected.text()
        );
        sent += 1.0;
    }

    // Checks.
    let files = r#"[{"path":"c.proto","content":"syntax = \"proto3\"; package c.v1; message C { string id = 1; }"}]"#;
    let checks = [
        ("/api/v1/validate", format!(r#"{{"files":{files}}}"#), 200),
        ("/api/v1/lint", format!(r#"{{"files":{files}}}"#), 422),
        (
            "/modules/load/compatibility",
            serde_json::json!({
                "version": "v1.4.0",
                "files": [{"path": "load/v1/load.proto", "content": format!("syntax = \"proto3\";\npackage load.v1;\n{}\n", good[2])}],
            })
            .to_string(),
            200,
        ),
    ];
    for (path, body, status) in &checks {
        let checked = request(api, "POST", path, &json, body.as_bytes()).await;
        assert_eq!(checked.status, *status, "{path}: {}", checked.text());
        sent += 1.0;
    }

    // Reads, repeated so the cache answers some.
    for _ in 0..5 {
        for path in [
            "/modules",
            "/modules/load",
            "/modules/load/versions",
            "/modules/load/versions/v1.2.0",
            "/modules/load/versions/v1.2.0/files/load/v1/load.proto",
        ] {
            let read = get(api, path).await;
            assert_eq!(read.status, 200, "{path}: {}", read.text());
            sent += 1.0;
        }
    }

    let text = scrape(health).await;
    // The compute pool, idle again after the pushes and checks.
    assert_eq!(value(&text, "spoke_compile_workers"), 3.0, "{text}");
    for idle in [
        "spoke_compile_queue_depth",
        "spoke_compile_running",
        "spoke_compile_rejected_total",
        "spoke_compile_timeouts_total",
    ] {
        assert_eq!(value(&text, idle), 0.0, "{idle}");
    }
    // HTTP, by route template.
    assert_eq!(sum(&text, "spoke_http_requests_total"), sent, "{text}");
    assert_eq!(
        sum(&text, "spoke_http_request_duration_seconds_count"),
        sent,
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            r#"spoke_http_requests_total{method="POST",route="/modules/{name}/versions",status="201"}"#
        ),
        3.0
    );
    assert!(sum(&text, "spoke_http_request_duration_seconds_sum") > 0.0);
    // The database pool.
    let primary = |name: &str| value(&text, &format!(r#"{name}{{role="primary"}}"#));
    let (active, idle) = (
        primary("spoke_db_connections_active"),
        primary("spoke_db_connections_idle"),
    );
    assert_eq!(primary("spoke_db_connections_max"), 7.0);
    assert!(
        active >= 0.0 && idle >= 1.0 && active + idle <= 7.0,
        "{text}"
    );
    assert!(primary("spoke_db_reads_total") > 0.0, "{text}");
    // The cache: repeated reads hit (pushes fill it, so nothing need miss).
    assert!(sum(&text, "spoke_cache_hits_total") > 0.0, "{text}");
    assert!(
        text.contains(r#"spoke_cache_misses_total{level="l1",kind="version"}"#),
        "{text}"
    );
    // Storage operations, by backend, operation and outcome.
    assert!(sum(&text, "spoke_storage_operations_total") > 0.0, "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("spoke_storage_operations_total{")
                && line.contains(r#"backend="postgres""#)
                && line.contains(r#"outcome="ok""#)),
        "{text}"
    );
    // Pushes and checks.
    assert_eq!(value(&text, r#"spoke_push_total{outcome="ok"}"#), 3.0);
    assert_eq!(value(&text, r#"spoke_push_total{outcome="rejected"}"#), 2.0);
    assert_eq!(value(&text, "spoke_push_duration_seconds_count"), 5.0);
    for (kind, outcome) in [
        ("validate", "ok"),
        ("lint", "rejected"),
        ("compatibility", "ok"),
    ] {
        assert_eq!(
            value(
                &text,
                &format!(r#"spoke_check_total{{kind="{kind}",outcome="{outcome}"}}"#)
            ),
            1.0,
            "{text}"
        );
        assert_eq!(
            value(
                &text,
                &format!(r#"spoke_check_duration_seconds_count{{kind="{kind}"}}"#)
            ),
            1.0
        );
    }
    // The build.
    assert!(
        text.lines()
            .any(|line| line.starts_with("spoke_build_info{") && line.ends_with(" 1")),
        "{text}"
    );

    server.shutdown();
    server.wait().await.unwrap();
}
