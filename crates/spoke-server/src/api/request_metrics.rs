//! The request metrics: requests by method, route and status with their
//! durations, and the outcome of each push and check.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use super::{RequestFacts, Verdict, registry_rpc};
use crate::metrics::{CheckKind, Metrics, Operation};

pub(super) async fn record(
    State(metrics): State<Option<Arc<Metrics>>>,
    mut request: Request,
    next: Next,
) -> Response {
    let Some(metrics) = metrics else {
        return next.run(request).await;
    };
    let started = Instant::now();
    let facts = RequestFacts::of(&mut request);
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    metrics.observe(&facts.method, &facts.route, response.status(), elapsed);
    if let Some(operation) = operation(&facts.method, &facts.route, &facts.path, facts.grpc) {
        let outcome = Verdict::of(&response, facts.grpc).outcome;
        metrics.observe_operation(operation, outcome, elapsed);
    }
    response
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
