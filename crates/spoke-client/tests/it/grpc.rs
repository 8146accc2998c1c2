#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The gRPC transport's failures: no server, a server that answers
//! UNAVAILABLE, a server that does not answer. (Its answers are covered by
//! the scenario suite.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue};
use spoke_client::{Client, ClientError, ClientOptions, PushRequest};
use tokio::net::TcpListener;

/// A gRPC server whose every call ends with `grpc-status` (a trailers-only
/// answer), or never ends when `status` is `None`; it counts calls.
async fn scripted(status: Option<&'static str>) -> (String, Arc<AtomicUsize>) {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let app = axum::Router::new().fallback(move || {
        let seen = seen.clone();
        async move {
            seen.fetch_add(1, Ordering::SeqCst);
            let Some(status) = status else {
                tokio::time::sleep(Duration::from_secs(60)).await;
                return HeaderMap::new();
            };
            let mut headers = HeaderMap::new();
            let value = HeaderValue::from_static;
            headers.insert("content-type", value("application/grpc"));
            headers.insert("grpc-status", value(status));
            headers.insert("grpc-message", value("storage%20is%20down"));
            headers
        }
    });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, count)
}

fn options() -> ClientOptions {
    ClientOptions {
        backoff: Duration::from_millis(10),
        ..ClientOptions::default()
    }
}

#[tokio::test]
async fn reads_are_retried_on_unavailable_and_writes_are_not() {
    let (base, count) = scripted(Some("14")).await;
    let client = Client::grpc(&base, &options()).unwrap();
    let err = client.get_module("common").await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 3);
    // Not Spoke's status (no details): the gRPC code names it.
    assert_eq!(
        (err.status(), err.code()),
        (Some(503), Some("GRPC_UNAVAILABLE"))
    );
    assert_eq!(err.to_string(), "storage is down (GRPC_UNAVAILABLE)");

    count.store(0, Ordering::SeqCst);
    client.create_module("common", "").await.unwrap_err();
    let request = PushRequest {
        module_name: None,
        version: "v1.0.0".to_owned(),
        files: vec![],
        dependencies: vec![],
        source_info: None,
        create_module: false,
        description: None,
        documents: vec![],
    };
    client.push("common", &request).await.unwrap_err();
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn requests_time_out() {
    let (base, count) = scripted(None).await;
    let options = ClientOptions {
        timeout: Duration::from_millis(200),
        max_attempts: 2,
        ..options()
    };
    let err = Client::grpc(&base, &options)
        .unwrap()
        .get_version("common", "latest")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot reach registry at {base}: no answer within 200ms")
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unreachable_registry_is_a_transport_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let err = Client::grpc(&base, &options())
        .unwrap()
        .list_modules(None, None)
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Transport { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot reach registry at {base}: connection refused")
    );
}
