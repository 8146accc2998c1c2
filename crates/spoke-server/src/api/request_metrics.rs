//! The request metrics: requests by method, route and status with their
//! durations, and the outcome of each push and check.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::response::Response;

use super::hook::Hook;
use super::{RequestFacts, Verdict, registry_rpc};
use crate::metrics::{CheckKind, Metrics, Operation};

/// Records into the metrics, when the server keeps them.
#[derive(Clone)]
pub(super) struct RequestMetrics(pub(super) Option<Arc<Metrics>>);

impl Hook for RequestMetrics {
    type Memo = Option<(Instant, Arc<RequestFacts>)>;

    fn before(&self, request: &mut Request) -> Self::Memo {
        self.0
            .is_some()
            .then(|| (Instant::now(), RequestFacts::of(request)))
    }

    fn after(&self, memo: Self::Memo, response: Response) -> Response {
        let (Some(metrics), Some((started, facts))) = (&self.0, memo) else {
            return response;
        };
        let elapsed = started.elapsed();
        let (method, route) = (&facts.method, facts.route());
        metrics.observe(method, route, response.status(), elapsed);
        if let Some(operation) = operation(method, route, facts.path(), facts.grpc) {
            let outcome = Verdict::of(&response, facts.grpc).outcome;
            metrics.observe_operation(operation, outcome, elapsed);
        }
        response
    }
}

/// The push or check a request is, by REST route template or gRPC method.
fn operation(method: &Method, route: &str, path: &str, grpc: bool) -> Option<Operation> {
    if grpc {
        return match registry_rpc(path)? {
            "PushVersion" => Some(Operation::Push),
            "Validate" => Some(Operation::Check(CheckKind::Validate)),
            "Lint" => Some(Operation::Check(CheckKind::Lint)),
            "CheckCompatibility" => Some(Operation::Check(CheckKind::Compatibility)),
            _ => None,
        };
    }
    if *method != Method::POST {
        return None;
    }
    match route {
        "/modules/{name}/versions" => Some(Operation::Push),
        "/api/v1/validate" => Some(Operation::Check(CheckKind::Validate)),
        "/api/v1/lint" => Some(Operation::Check(CheckKind::Lint)),
        "/modules/{name}/compatibility" => Some(Operation::Check(CheckKind::Compatibility)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::UNMATCHED_ROUTE;

    #[test]
    fn pushes_and_checks_are_recognised_by_route_or_grpc_method() {
        let rest = |method: Method, route: &str| operation(&method, route, "/ignored", false);
        assert_eq!(
            rest(Method::POST, "/modules/{name}/versions"),
            Some(Operation::Push)
        );
        assert_eq!(rest(Method::GET, "/modules/{name}/versions"), None);
        assert_eq!(
            rest(Method::POST, "/modules/{name}/compatibility"),
            Some(Operation::Check(CheckKind::Compatibility))
        );
        assert_eq!(rest(Method::PUT, "/modules/{name}/compatibility"), None);
        assert_eq!(rest(Method::POST, UNMATCHED_ROUTE), None);
        let grpc = |path: &str| operation(&Method::POST, "ignored", path, true);
        assert_eq!(
            grpc("/spoke.registry.v1.RegistryService/PushVersion"),
            Some(Operation::Push)
        );
        assert_eq!(
            grpc("/spoke.registry.v1.RegistryService/Lint"),
            Some(Operation::Check(CheckKind::Lint))
        );
        assert_eq!(grpc("/spoke.registry.v1.RegistryService/GetModule"), None);
        assert_eq!(grpc("/other.Service/PushVersion"), None);
    }
}
