//! Who a request is, before anything accounts for it. With access control
//! on, [`AuthenticateLayer`] turns the `Authorization` header into a
//! [`Caller`] in the request's extensions, which the front-ends authorize
//! per route, and an authenticated principal into the [`ClientKey`] the
//! rate limits count by. A request without the header is anonymous at no
//! cost: the inner future runs as it is, nothing boxed. A refused
//! credential is answered here, in the request's protocol (401 with
//! `WWW-Authenticate`, or gRPC UNAUTHENTICATED with the machine code in the
//! details), counted in `spoke_auth_failures_total{reason}` and its reason
//! named in the access log line; the token itself is never logged. gRPC
//! health and reflection and the probes are never authenticated.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::Request;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use futures::future::BoxFuture;
use pin_project_lite::pin_project;
use spoke_auth::{Auth, AuthError, Caller, FailureReason};
use spoke_rest::ApiError;
use tower::{Layer, Service};

use crate::api::{grpc_code, is_grpc};
use crate::client::ClientKey;
use crate::metrics::Metrics;

/// The gRPC services open to anyone, whatever credentials they carry:
/// probes and tooling must work without them.
const OPEN_GRPC_SERVICES: [&str; 3] = [
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1.ServerReflection/",
    "/grpc.reflection.v1alpha.ServerReflection/",
];

/// Why a request's credentials were refused, on its response for the
/// access log.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthRefusal(pub(crate) &'static str);

/// Authenticates requests with `auth`, which must have access control on.
#[derive(Clone)]
pub(crate) struct AuthenticateLayer {
    auth: Auth,
    metrics: Option<Arc<Metrics>>,
}

impl AuthenticateLayer {
    pub(crate) fn new(auth: Auth, metrics: Option<Arc<Metrics>>) -> AuthenticateLayer {
        AuthenticateLayer { auth, metrics }
    }
}

impl<S> Layer<S> for AuthenticateLayer {
    type Service = Authenticate<S>;

    fn layer(&self, inner: S) -> Authenticate<S> {
        Authenticate {
            inner,
            auth: self.auth.clone(),
            metrics: self.metrics.clone(),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Authenticate<S> {
    inner: S,
    auth: Auth,
    metrics: Option<Arc<Metrics>>,
}

impl<S> Service<Request> for Authenticate<S>
where
    S: Service<Request, Response = Response> + Clone + Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = AuthenticateFuture<S>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        if is_open(&request) {
            return AuthenticateFuture::Inner {
                future: self.inner.call(request),
                anonymous: None,
            };
        }
        let grpc = is_grpc(&request);
        let mut headers = request.headers().get_all(AUTHORIZATION).iter();
        let (Some(header), more) = (headers.next(), headers.next().is_some()) else {
            request.extensions_mut().insert(Caller::Anonymous);
            return AuthenticateFuture::Inner {
                future: self.inner.call(request),
                anonymous: Some(Anonymous {
                    grpc,
                    metrics: self.metrics.clone(),
                }),
            };
        };
        // Two credentials are one too many: which would a proxy in front
        // have checked? Refused as malformed, as an empty one is.
        let header = if more {
            HeaderValue::from_static("")
        } else {
            header.clone()
        };
        // The inner service was made ready for this request: take it, and
        // keep a fresh clone for the next one (tower's usual move).
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let auth = self.auth.clone();
        AuthenticateFuture::Verifying {
            verifying: Box::pin(async move { auth.authenticate(Some(header.as_bytes())).await }),
            pending: Some((inner, request)),
            grpc,
            metrics: self.metrics.clone(),
        }
    }
}

/// Paths never authenticated: gRPC health and reflection, and the REST
/// probes on the API port.
fn is_open(request: &Request) -> bool {
    let path = request.uri().path();
    if is_grpc(request) {
        OPEN_GRPC_SERVICES
            .iter()
            .any(|service| path.starts_with(service))
    } else {
        matches!(path, "/health/live" | "/health/ready")
    }
}

/// An anonymous request in flight: if a handler refuses it for want of
/// credentials, that refusal is counted and logged like the layer's own.
pub(crate) struct Anonymous {
    grpc: bool,
    metrics: Option<Arc<Metrics>>,
}

impl Anonymous {
    fn settle(self, mut response: Response) -> Response {
        let unauthenticated = if self.grpc {
            grpc_code(&response) == tonic::Code::Unauthenticated
        } else {
            response.status() == StatusCode::UNAUTHORIZED
        };
        if unauthenticated {
            let reason = FailureReason::Missing.as_str();
            if let Some(metrics) = &self.metrics {
                metrics.count_auth_failure(reason);
            }
            response.extensions_mut().insert(AuthRefusal(reason));
        }
        response
    }
}

pin_project! {
    #[project = Projection]
    pub(crate) enum AuthenticateFuture<S: Service<Request>> {
        /// The inner service is answering.
        Inner {
            #[pin]
            future: S::Future,
            // Set for anonymous requests.
            anonymous: Option<Anonymous>,
        },
        /// The credential is being checked; then the inner service runs.
        Verifying {
            verifying: BoxFuture<'static, Result<Caller, AuthError>>,
            // The ready inner service and the request, until verified.
            pending: Option<(S, Request)>,
            grpc: bool,
            metrics: Option<Arc<Metrics>>,
        },
        /// Refused; polled again, it stays pending (as a fused future).
        Done,
    }
}

impl<S> Future for AuthenticateFuture<S>
where
    S: Service<Request, Response = Response>,
{
    type Output = Result<Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let (next, refusal) = match self.as_mut().project() {
                Projection::Inner { future, anonymous } => {
                    let answered = ready!(future.poll(cx));
                    return Poll::Ready(answered.map(|response| match anonymous.take() {
                        Some(anonymous) => anonymous.settle(response),
                        None => response,
                    }));
                }
                Projection::Verifying {
                    verifying,
                    pending,
                    grpc,
                    metrics,
                } => {
                    let verified = ready!(verifying.as_mut().poll(cx));
                    match (verified, pending.take()) {
                        (Ok(caller), Some((mut inner, mut request))) => {
                            if let Some(identity) = caller.identity() {
                                request
                                    .extensions_mut()
                                    .insert(ClientKey::Principal(identity.subject.to_string()));
                            }
                            request.extensions_mut().insert(caller);
                            let future = inner.call(request);
                            (
                                AuthenticateFuture::Inner {
                                    future,
                                    anonymous: None,
                                },
                                None,
                            )
                        }
                        (Err(error), _) => (
                            AuthenticateFuture::Done,
                            Some(refuse(error, *grpc, metrics.as_deref())),
                        ),
                        (Ok(_), None) => (AuthenticateFuture::Done, None),
                    }
                }
                Projection::Done => return Poll::Pending,
            };
            self.set(next);
            if let Some(refusal) = refusal {
                return Poll::Ready(Ok(refusal));
            }
        }
    }
}

/// The answer to a request whose credentials could not be accepted, in its
/// protocol, as the front-ends answer access control's errors.
fn refuse(error: AuthError, grpc: bool, metrics: Option<&Metrics>) -> Response {
    let reason = error.failure_reason();
    if let (Some(reason), Some(metrics)) = (reason, metrics) {
        metrics.count_auth_failure(reason);
    }
    let mut response = if grpc {
        grpc_status(error).into_http()
    } else {
        ApiError::from(error).into_response()
    };
    if let Some(reason) = reason {
        response.extensions_mut().insert(AuthRefusal(reason));
    }
    response
}

/// The gRPC status of what authentication can answer: a refused
/// credential, or a token store that cannot be read.
fn grpc_status(error: AuthError) -> tonic::Status {
    let code = match &error {
        AuthError::Unauthenticated(_) => tonic::Code::Unauthenticated,
        AuthError::Storage(_) => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    if code != tonic::Code::Unauthenticated {
        tracing::error!(error = %error, code = error.code(), "authentication failed");
    }
    spoke_grpc::status_with_code(code, error.code(), error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::http::header::WWW_AUTHENTICATE;
    use axum::routing::get;
    use spoke_auth::AuthConfig;
    use tower::ServiceExt as _;

    const BOOTSTRAP: &str = "bootstrap-token-0123456789abcdefghij";

    /// Answers who the request is, as the layer left it.
    async fn who(request: Request) -> String {
        let caller = match request.extensions().get::<Caller>() {
            None => "none".to_owned(),
            Some(caller) => caller.audit_name(),
        };
        let key = request
            .extensions()
            .get::<ClientKey>()
            .map_or("none".to_owned(), ToString::to_string);
        format!("{caller} / {key}")
    }

    async fn needs_credentials() -> StatusCode {
        StatusCode::UNAUTHORIZED
    }

    struct Fixture {
        app: Router,
        metrics: Arc<Metrics>,
        _dir: tempfile::TempDir,
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(spoke_storage_fs::FsStore::open(dir.path()).unwrap());
        let config = AuthConfig {
            enabled: true,
            bootstrap_token: Some(spoke_auth::Secret::new(BOOTSTRAP)),
            ..AuthConfig::default()
        };
        let auth = Auth::new(config, store).unwrap();
        let metrics = Arc::new(Metrics::new());
        let app = Router::new()
            .route("/who", get(who))
            .route("/grpc.health.v1.Health/Check", get(who))
            .route("/private", get(needs_credentials))
            .layer(AuthenticateLayer::new(auth, Some(Arc::clone(&metrics))));
        Fixture {
            app,
            metrics,
            _dir: dir,
        }
    }

    async fn call(app: &Router, path: &str, headers: &[(&str, &[u8])]) -> Response {
        let mut request = Request::builder().uri(path);
        for (name, value) in headers {
            request = request.header(*name, HeaderValue::from_bytes(value).unwrap());
        }
        app.clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    async fn text(response: Response) -> String {
        let body = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        String::from_utf8(body.to_vec()).unwrap()
    }

    fn failures(metrics: &Metrics, reason: &str) -> String {
        let text = metrics.render().unwrap();
        let prefix = format!("spoke_auth_failures_total{{reason=\"{reason}\"}} ");
        text.lines()
            .find_map(|line| line.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .to_owned()
    }

    #[tokio::test]
    async fn no_header_is_anonymous_and_a_valid_token_is_the_principal() {
        let Fixture { app, .. } = fixture();
        let anonymous = call(&app, "/who", &[]).await;
        assert_eq!(text(anonymous).await, "anonymous / none");
        let bearer = format!("Bearer {BOOTSTRAP}");
        let admin = call(&app, "/who", &[("authorization", bearer.as_bytes())]).await;
        assert_eq!(admin.status(), StatusCode::OK);
        assert_eq!(text(admin).await, "user:admin / principal user:admin");
    }

    #[tokio::test]
    async fn refused_credentials_are_401_with_the_challenge_and_counted() {
        let Fixture { app, metrics, .. } = fixture();
        for reason in FailureReason::ALL {
            assert_eq!(failures(&metrics, reason.as_str()), "0");
        }
        let malformed: [&[u8]; 4] = [b"Basic eDp5", b"Bearer", b"Bearer a b", b"Bearer \xff"];
        for header in malformed {
            let response = call(&app, "/who", &[("authorization", header)]).await;
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header:?}");
            assert_eq!(
                response.headers()[WWW_AUTHENTICATE],
                r#"Bearer error="invalid_token""#
            );
            assert_eq!(
                response.extensions().get::<AuthRefusal>().unwrap().0,
                "malformed"
            );
            let json: serde_json::Value = serde_json::from_str(&text(response).await).unwrap();
            assert_eq!(json["code"], "UNAUTHENTICATED", "{json}");
        }
        assert_eq!(failures(&metrics, "malformed"), "4");

        let unknown = call(&app, "/who", &[("authorization", b"Bearer nope")]).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(failures(&metrics, "unknown_token"), "1");

        // Two credentials: refused, whichever is valid.
        let bearer = format!("Bearer {BOOTSTRAP}");
        let twice = call(
            &app,
            "/who",
            &[
                ("authorization", bearer.as_bytes()),
                ("authorization", bearer.as_bytes()),
            ],
        )
        .await;
        assert_eq!(twice.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(failures(&metrics, "malformed"), "5");
    }

    #[tokio::test]
    async fn grpc_refusals_are_unauthenticated_with_the_code_in_the_details() {
        let Fixture { app, .. } = fixture();
        let response = call(
            &app,
            "/who",
            &[
                ("content-type", b"application/grpc"),
                ("authorization", b"Bearer nope"),
            ],
        )
        .await;
        assert_eq!(grpc_code(&response), tonic::Code::Unauthenticated);
        let status = tonic::Status::from_header_map(response.headers()).unwrap();
        let details = spoke_grpc::error_details(&status).unwrap();
        assert_eq!(details.code, "UNAUTHENTICATED");
    }

    #[tokio::test]
    async fn health_and_reflection_are_open_whatever_the_credentials() {
        let Fixture { app, metrics, .. } = fixture();
        let response = call(
            &app,
            "/grpc.health.v1.Health/Check",
            &[
                ("content-type", b"application/grpc"),
                ("authorization", b"Bearer nope"),
            ],
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        // Not authenticated at all: no caller, nothing counted.
        assert_eq!(text(response).await, "none / none");
        assert_eq!(failures(&metrics, "unknown_token"), "0");
    }

    #[tokio::test]
    async fn a_handler_refusing_an_anonymous_caller_counts_as_missing() {
        let Fixture { app, metrics, .. } = fixture();
        let response = call(&app, "/private", &[]).await;
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            response.extensions().get::<AuthRefusal>().unwrap().0,
            "missing"
        );
        assert_eq!(failures(&metrics, "missing"), "1");
    }
}
