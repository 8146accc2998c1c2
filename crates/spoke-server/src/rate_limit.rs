//! Per-client rate limits: a token bucket for each [`ClientKey`] (set by
//! [`ClientKeyLayer`](crate::client::ClientKeyLayer) or an authentication
//! layer before this one), one set of buckets for all requests and,
//! optionally, one apart for writes. A request over its client's budget is
//! answered at once, before its body is read: 429 with `Retry-After` and a
//! `RATE_LIMITED` JSON body, or gRPC `RESOURCE_EXHAUSTED` with the same
//! code in its details.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use spoke_rest::ApiError;

use crate::api::{Hook, is_grpc, registry_rpc};
use crate::client::ClientKey;
use crate::config::{ConfigError, RateLimit, RateLimitSettings};
use crate::metrics::Metrics;

/// The machine code of a refusal, in the JSON body and the gRPC details.
const CODE: &str = "RATE_LIMITED";

/// How often buckets that have refilled completely are dropped: a full
/// bucket is the same as none, so memory follows the clients active in
/// the last few seconds, not every client ever seen.
const SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// The gRPC methods that count as writes, like REST's non-GET requests:
/// changes, and the checks that compile.
const GRPC_WRITES: &[&str] = &[
    "CreateModule",
    "PushVersion",
    "SetCompatibility",
    "SetLabel",
    "DeleteLabel",
    "DeprecateVersion",
    "UndeprecateVersion",
    "DeprecateModule",
    "UndeprecateModule",
    "Validate",
    "Lint",
    "CheckCompatibility",
];

/// Which budget a request draws on; also the metric's `class` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestClass {
    Read,
    Write,
}

impl RequestClass {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RequestClass::Read => "read",
            RequestClass::Write => "write",
        }
    }

    /// The class of a request, or `None` for what is never limited: the
    /// readiness and liveness probes (REST and gRPC) on the API port.
    fn of(request: &Request) -> Option<RequestClass> {
        let path = request.uri().path();
        if is_grpc(request) {
            if path.starts_with("/grpc.health.v1.Health/") {
                return None;
            }
            return Some(match registry_rpc(path) {
                Some(rpc) if GRPC_WRITES.contains(&rpc) => RequestClass::Write,
                _ => RequestClass::Read,
            });
        }
        if matches!(path, "/health/live" | "/health/ready") {
            return None;
        }
        Some(
            if matches!(
                *request.method(),
                Method::GET | Method::HEAD | Method::OPTIONS
            ) {
                RequestClass::Read
            } else {
                RequestClass::Write
            },
        )
    }
}

/// One budget: its shape (for messages) and a bucket per client.
struct Buckets {
    limit: RateLimit,
    limiter: DefaultKeyedRateLimiter<ClientKey>,
}

impl Buckets {
    /// `None` for a rate configuration would have refused (settings built
    /// in code) or a burst of 0.
    fn new(limit: RateLimit) -> Option<Buckets> {
        let quota = Quota::with_period(limit.refill_interval()?)?
            .allow_burst(NonZeroU32::new(limit.burst)?);
        Some(Buckets {
            limit,
            limiter: RateLimiter::dashmap(quota),
        })
    }

    /// `None` when the client may go ahead, else how long it must wait.
    fn wait_time(&self, client: &ClientKey) -> Option<Duration> {
        let refused = self.limiter.check_key(client).err()?;
        Some(refused.wait_time_from(self.limiter.clock().now()))
    }
}

struct Limits {
    requests: Option<Buckets>,
    writes: Option<Buckets>,
    metrics: Option<Arc<Metrics>>,
}

impl Limits {
    /// The budget a request of `class` draws on: writes their own when they
    /// have one, else the one for all requests.
    fn budget(&self, class: RequestClass) -> Option<&Buckets> {
        match class {
            RequestClass::Write => self.writes.as_ref().or(self.requests.as_ref()),
            RequestClass::Read => self.requests.as_ref(),
        }
    }

    fn sweep(&self) {
        for buckets in [&self.requests, &self.writes].into_iter().flatten() {
            buckets.limiter.retain_recent();
            buckets.limiter.shrink_to_fit();
        }
    }
}

/// The rate-limiting hook (a `HookLayer` applies it): refuses a request
/// over its budget; cheap to clone (the buckets are shared).
#[derive(Clone)]
pub(crate) struct RateLimitHook {
    limits: Arc<Limits>,
}

impl RateLimitHook {
    /// The layer for `settings`, or `None` when no limit is set. Starts a
    /// task (on the current Tokio runtime) that drops refilled buckets and
    /// ends when the last clone of the layer is gone.
    pub(crate) fn new(
        settings: &RateLimitSettings,
        metrics: Option<Arc<Metrics>>,
    ) -> Result<Option<RateLimitHook>, ConfigError> {
        if !settings.enabled() {
            return Ok(None);
        }
        let buckets = |limit: Option<RateLimit>, var: &str| {
            limit
                .map(|limit| {
                    Buckets::new(limit).ok_or_else(|| ConfigError::Conflict {
                        var: var.to_owned(),
                        message: format!(
                            "{} per second with bursts of {} is not a limit: the rate must be above 0 and at most 1000000, the burst at least 1",
                            limit.per_second, limit.burst
                        ),
                    })
                })
                .transpose()
        };
        let limits = Arc::new(Limits {
            requests: buckets(settings.requests, "SPOKE_RATE_LIMIT_RPS")?,
            writes: buckets(settings.writes, "SPOKE_RATE_LIMIT_WRITE_RPS")?,
            metrics,
        });
        tokio::spawn(sweep(Arc::downgrade(&limits)));
        Ok(Some(RateLimitHook { limits }))
    }
}

async fn sweep(limits: Weak<Limits>) {
    let mut interval = tokio::time::interval(SWEEP_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        match limits.upgrade() {
            Some(limits) => limits.sweep(),
            None => return,
        }
    }
}

impl Hook for RateLimitHook {
    type Memo = ();

    fn refuse(&self, request: &mut Request) -> Option<Response> {
        let (client, class, limit, wait) = RequestClass::of(request).and_then(|class| {
            let buckets = self.limits.budget(class)?;
            // No key means nothing identified the client (only in-process
            // calls without a connection): there is no one to account to.
            let client = request.extensions().get::<ClientKey>()?;
            let key = bucket_key(client);
            let wait = buckets.wait_time(&key)?;
            Some((key, class, buckets.limit, wait))
        })?;
        // Debug: under a flood, the access log already has a line each.
        tracing::debug!(%client, class = class.as_str(), "rate limited");
        if let Some(metrics) = &self.limits.metrics {
            metrics.count_rate_limited(class);
        }
        Some(refuse(request, class, limit, wait))
    }

    fn before(&self, _request: &mut Request) {}

    fn after(&self, (): (), response: Response) -> Response {
        response
    }
}

/// The bucket a client draws from: one per principal or address, except
/// that IPv6 clients share one per /64, the block a single host usually
/// holds (it could otherwise take a fresh bucket, and memory, per request).
fn bucket_key(client: &ClientKey) -> ClientKey {
    match client {
        ClientKey::Address(IpAddr::V6(ip)) => {
            let network = u128::from(*ip) & !((1u128 << 64) - 1);
            ClientKey::Address(IpAddr::V6(network.into()))
        }
        other => other.clone(),
    }
}

/// The answer to a request over its budget, in its protocol.
fn refuse(request: &Request, class: RequestClass, limit: RateLimit, wait: Duration) -> Response {
    // Whole seconds, rounded up: retrying sooner would be refused again.
    let retry_after = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
    let what = match class {
        RequestClass::Read => "requests",
        RequestClass::Write => "writes",
    };
    let message = format!(
        "too many {what} from this client: the limit is {} per second with bursts of {}; retry in {retry_after}s",
        limit.per_second, limit.burst
    );
    if is_grpc(request) {
        let mut status =
            spoke_grpc::status_with_code(tonic::Code::ResourceExhausted, CODE, message);
        if let Ok(value) = tonic::metadata::MetadataValue::try_from(retry_after.to_string()) {
            status.metadata_mut().insert("retry-after", value);
        }
        return status.into_http();
    }
    ApiError {
        details: Some(serde_json::json!({
            "class": class.as_str(),
            "retry_after_seconds": retry_after,
        })),
        retry_after: Some(retry_after),
        ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, CODE, message)
    }
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::header;
    use tower::{Layer as _, ServiceExt as _};

    fn request(method: Method, path: &str, grpc: bool) -> Request {
        let mut builder = Request::builder().method(method).uri(path);
        if grpc {
            builder = builder.header(header::CONTENT_TYPE, "application/grpc");
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn reads_writes_and_probes() {
        fn class(method: Method, path: &str, grpc: bool) -> Option<RequestClass> {
            RequestClass::of(&request(method, path, grpc))
        }
        assert_eq!(
            class(Method::GET, "/modules/a/versions", false),
            Some(RequestClass::Read)
        );
        assert_eq!(
            class(Method::POST, "/modules/a/versions", false),
            Some(RequestClass::Write)
        );
        assert_eq!(
            class(Method::PUT, "/modules/a/compatibility", false),
            Some(RequestClass::Write)
        );
        assert_eq!(class(Method::GET, "/health/ready", false), None);
        let service = "/spoke.registry.v1.RegistryService";
        assert_eq!(
            class(Method::POST, &format!("{service}/GetFile"), true),
            Some(RequestClass::Read)
        );
        assert_eq!(
            class(Method::POST, &format!("{service}/Validate"), true),
            Some(RequestClass::Write)
        );
        assert_eq!(
            class(Method::POST, "/grpc.health.v1.Health/Check", true),
            None
        );
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64() {
        let key = |ip: &str| bucket_key(&ClientKey::Address(ip.parse().unwrap()));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::2"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(
            key("192.0.2.1"),
            ClientKey::Address("192.0.2.1".parse().unwrap())
        );
        assert_ne!(key("192.0.2.1"), key("192.0.2.2"));
    }

    #[test]
    fn sweeping_forgets_clients_whose_buckets_have_refilled() {
        let limit = RateLimit {
            per_second: 1000.0,
            burst: 1,
        };
        let limits = Limits {
            requests: Buckets::new(limit),
            writes: None,
            metrics: None,
        };
        let buckets = limits.requests.as_ref().unwrap();
        for n in 0..1000u32 {
            let client = ClientKey::Address(IpAddr::from((0x0a00_0000 + n).to_be_bytes()));
            assert_eq!(buckets.wait_time(&client), None);
        }
        assert_eq!(buckets.limiter.len(), 1000);
        // One token per millisecond: every bucket is full again long before.
        std::thread::sleep(Duration::from_millis(50));
        limits.sweep();
        assert_eq!(buckets.limiter.len(), 0);
    }

    /// A principal set by an earlier layer (authentication, one day) is
    /// the key: two principals behind one address have budgets of their own.
    #[tokio::test]
    async fn principals_have_buckets_of_their_own() {
        let settings = RateLimitSettings {
            requests: Some(RateLimit {
                per_second: 0.001,
                burst: 1,
            }),
            writes: None,
        };
        let layer = RateLimitHook::new(&settings, None).unwrap().unwrap();
        let service = crate::api::HookLayer(layer).layer(tower::service_fn(|_: Request| async {
            Ok::<_, std::convert::Infallible>(StatusCode::OK.into_response())
        }));
        let call = |principal: &str| {
            let mut request = request(Method::GET, "/modules", false);
            request
                .extensions_mut()
                .insert(ClientKey::Principal(principal.to_owned()));
            service.clone().oneshot(request)
        };
        assert_eq!(call("alice").await.unwrap().status(), StatusCode::OK);
        assert_eq!(call("bob").await.unwrap().status(), StatusCode::OK);
        let refused = call("alice").await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        // 1000 s to the next token.
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1000");
    }
}
