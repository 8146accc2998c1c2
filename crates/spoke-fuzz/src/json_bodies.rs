//! Target `json_bodies`: the bytes as the body of every REST route that
//! takes one, deserialised into its `spoke_wire` type and converted
//! to domain values the way the handler does before calling the registry
//! (names, versions, paths, dependencies, limits, compatibility policies,
//! the lint configuration of `buf_yaml`).
//!
//! Besides not crashing: a body that deserialises serialises back to
//! itself (the client sends these types), and every refusal is a 4xx.

use std::fmt::Debug;

use serde_json::Value;
use spoke_domain::{DependencyRef, Limits, ModuleName, validate_files};
use spoke_registry::spoke_schema::lint::LintConfig;
use spoke_registry::{RegistryError, validate_compatibility_policy};
use spoke_rest::{ApiError, convert};
use spoke_wire as wire;

/// The module of the URL, where a route has one.
const URL_MODULE: &str = "fuzz-module";

pub fn json_bodies(data: &[u8]) {
    // Each route reads the same bytes; most are refused early by serde.
    refused_with_4xx(create_module(data));
    refused_with_4xx(push(data));
    refused_with_4xx(validate(data));
    refused_with_4xx(lint(data));
    refused_with_4xx(set_policy(data));
    refused_with_4xx(check_compatibility(data));
    // Arbitrary JSON values must survive the error body's `details`.
    if let Ok(value) = serde_json::from_slice::<Value>(data) {
        let mut error = ApiError::bad_request("FUZZ", "fuzz");
        error.details = Some(value);
        refused_with_4xx(Err(error));
    }
}

/// A route's conversion; a body that does not deserialise passes (it is
/// a 400 `MALFORMED_JSON` before any conversion).
type Converted = Result<(), ApiError>;

fn refused_with_4xx(converted: Converted) {
    if let Err(error) = converted {
        assert!(
            error.status.is_client_error(),
            "refused with {}: {} ({})",
            error.status,
            error.code,
            error.message
        );
        let response = axum::response::IntoResponse::into_response(error);
        assert!(response.status().is_client_error());
    }
}

/// The body as `T`, checked to serialise back to itself.
fn body<T>(data: &[u8]) -> Option<T>
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + Debug,
{
    let body: T = serde_json::from_slice(data).ok()?;
    let again = serde_json::to_vec(&body)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<T>(&bytes).ok());
    assert_eq!(again.as_ref(), Some(&body), "the body does not round-trip");
    Some(body)
}

fn url_module() -> ModuleName {
    crate::harness("the URL's module", ModuleName::parse(URL_MODULE))
}

fn create_module(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::CreateModuleRequest>(data) else {
        return Ok(());
    };
    ModuleName::parse(&body.name)?;
    if let Some(policy) = body.compatibility {
        policy_body(policy)?;
    }
    Ok(())
}

fn push(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::PushRequest>(data) else {
        return Ok(());
    };
    let request = convert::push_request(url_module(), body)?;
    validate_files(&request.files, &Limits::default())?;
    Ok(())
}

fn validate(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::ValidateRequest>(data) else {
        return Ok(());
    };
    let files = convert::proto_files(body.files)?;
    DependencyRef::parse_all(&body.dependencies)?;
    validate_files(&files, &Limits::default())?;
    Ok(())
}

fn lint(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::LintRequest>(data) else {
        return Ok(());
    };
    let config = LintConfig::from_optional_buf_yaml(body.buf_yaml.as_deref())
        .map_err(RegistryError::from)?
        .with_overrides(body.uses, body.except, body.ignore);
    let files = convert::proto_files(body.files)?;
    DependencyRef::parse_all(&body.dependencies)?;
    validate_files(&files, &Limits::default())?;
    config.validate().map_err(RegistryError::from)?;
    Ok(())
}

fn set_policy(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::CompatibilityPolicyBody>(data) else {
        return Ok(());
    };
    policy_body(body)?;
    Ok(())
}

fn policy_body(body: wire::CompatibilityPolicyBody) -> Result<(), ApiError> {
    if let Some(policy) = convert::compatibility_policy(body)? {
        validate_compatibility_policy(&policy)?;
    }
    Ok(())
}

fn check_compatibility(data: &[u8]) -> Converted {
    let Some(body) = body::<wire::CompatibilityCheckRequest>(data) else {
        return Ok(());
    };
    let check = convert::compatibility_check(url_module(), body)?;
    if let Some(policy) = &check.policy {
        validate_compatibility_policy(policy)?;
    }
    validate_files(&check.push.files, &Limits::default())?;
    Ok(())
}
