//! Access control's own routes: API tokens, grants, `whoami` and the audit
//! log. Who may do what is `spoke-auth`'s to decide (and to audit); these
//! handlers parse, call it once and translate its answer.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use spoke_domain::{
    AccessId, AuditAction, AuditQuery, Cursor, PageRequest, Principal, Role, Scope,
};
use utoipa::IntoParams;

use crate::access::Managing;
use crate::extract::JsonBody;
use crate::handlers::{PathResult, QueryResult};
use crate::{ApiError, convert, openapi, wire};

/// `{id}`: a token or a grant.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub(crate) struct IdPath {
    #[param(schema_with = wire::schema::access_id)]
    id: String,
}

fn access_id(path: PathResult<IdPath>) -> Result<AccessId, ApiError> {
    Ok(AccessId::parse(&path?.0.id)?)
}

#[utoipa::path(
    post, path = "/api/v1/tokens", operation_id = "createToken",
    summary = "Create an API token: an admin for any user, a user for itself. The secret is in this answer only; the server keeps its hash.",
    request_body = wire::CreateTokenRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The token, with its secret (shown once)", body = wire::CreatedTokenBody, headers(("Cache-Control" = String, description = "`no-store`: the body holds a secret."))),
        (status = 400, description = "Malformed JSON, a subject that is not a `user:` principal (INVALID_PRINCIPAL), or an `expires_in` that is not a duration, is zero or over 3660 days (INVALID_EXPIRES_IN)", body = wire::ErrorBody),
        (status = 403, description = "A token for another user, by a caller that is not an admin (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn create_token(
    Managing(access): Managing,
    JsonBody(body): JsonBody<wire::CreateTokenRequest>,
) -> Result<Response, ApiError> {
    let subject = Principal::parse(&body.subject)?;
    let expires_in = body
        .expires_in
        .as_deref()
        .map(spoke_auth::parse_lifetime)
        .transpose()?;
    let (record, secret) = access
        .auth
        .create_token(&access.caller, &subject, expires_in, access.request_id())
        .await?;
    Ok((
        StatusCode::CREATED,
        [(header::CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        Json(convert::created_token_body(&record, &secret)),
    )
        .into_response())
}

#[utoipa::path(
    get, path = "/api/v1/tokens", operation_id = "listTokens",
    summary = "API tokens, never their secrets: an admin sees all, others their own",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The tokens", body = wire::TokenList),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn list_tokens(
    Managing(access): Managing,
) -> Result<Json<wire::TokenList>, ApiError> {
    let tokens = access.auth.list_tokens(&access.caller).await?;
    Ok(Json(wire::TokenList {
        tokens: tokens.iter().map(convert::token_body).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/tokens/{id}", operation_id = "revokeToken",
    summary = "Revoke an API token: an admin any, a user its own. This server refuses it at once, the others within the cache TTL.",
    params(IdPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "Invalid id (INVALID_ID)", body = wire::ErrorBody),
        (status = 403, description = "Another user's token, by a caller that is not an admin (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "No such token (TOKEN_NOT_FOUND)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn revoke_token(
    Managing(access): Managing,
    path: PathResult<IdPath>,
) -> Result<StatusCode, ApiError> {
    let id = access_id(path)?;
    access
        .auth
        .revoke_token(&access.caller, &id, access.request_id())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    post, path = "/api/v1/grants", operation_id = "createGrant",
    summary = "Grant a role on a scope to a principal: an admin anything (`admin` only on `*`), an owner up to `owner` within a scope it owns",
    request_body = wire::CreateGrantRequest,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The grant", body = wire::GrantBody),
        (status = 400, description = "Malformed JSON, invalid subject (INVALID_PRINCIPAL), scope (INVALID_SCOPE; also `admin` on a scope other than `*`) or role (INVALID_ROLE)", body = wire::ErrorBody),
        (status = 403, description = "The caller may not grant this role on this scope (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn create_grant(
    Managing(access): Managing,
    JsonBody(body): JsonBody<wire::CreateGrantRequest>,
) -> Result<Response, ApiError> {
    let subject = Principal::parse(&body.subject)?;
    let scope = Scope::parse(&body.scope)?;
    let role = Role::parse(&body.role)?;
    let grant = access
        .auth
        .create_grant(&access.caller, &subject, &scope, role, access.request_id())
        .await?;
    Ok((StatusCode::CREATED, Json(convert::grant_body(&grant))).into_response())
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct GrantFilter {
    /// Only the grants to this principal.
    #[param(schema_with = wire::schema::principal)]
    subject: Option<String>,
    /// Only the grants on exactly this scope.
    #[param(schema_with = wire::schema::scope)]
    scope: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/grants", operation_id = "listGrants",
    summary = "Grants: an admin sees all, others those they hold and those within the scopes they own",
    params(GrantFilter),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The grants", body = wire::GrantList),
        (status = 400, description = "Invalid subject (INVALID_PRINCIPAL) or scope (INVALID_SCOPE), or an unknown parameter (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn list_grants(
    Managing(access): Managing,
    query: QueryResult<GrantFilter>,
) -> Result<Json<wire::GrantList>, ApiError> {
    let GrantFilter { subject, scope } = query?.0;
    let subject = subject.as_deref().map(Principal::parse).transpose()?;
    let scope = scope.as_deref().map(Scope::parse).transpose()?;
    let grants = access
        .auth
        .list_grants(&access.caller, subject.as_ref(), scope.as_ref())
        .await?;
    Ok(Json(wire::GrantList {
        grants: grants.iter().map(convert::grant_body).collect(),
    }))
}

#[utoipa::path(
    delete, path = "/api/v1/grants/{id}", operation_id = "deleteGrant",
    summary = "Delete a grant, under the rules that would allow creating it",
    params(IdPath),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid id (INVALID_ID)", body = wire::ErrorBody),
        (status = 403, description = "The caller may not change grants of this role on this scope (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 404, description = "No such grant (GRANT_NOT_FOUND)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn delete_grant(
    Managing(access): Managing,
    path: PathResult<IdPath>,
) -> Result<StatusCode, ApiError> {
    let id = access_id(path)?;
    access
        .auth
        .delete_grant(&access.caller, &id, access.request_id())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(
    get, path = "/api/v1/whoami", operation_id = "whoami",
    summary = "Who the request's credentials authenticate as, and the roles it holds; `anonymous` without credentials",
    description = "Anonymous callers are answered too, as `anonymous` with no groups or roles.",
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = wire::WhoAmIBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn whoami(Managing(access): Managing) -> Result<Json<wire::WhoAmIBody>, ApiError> {
    let whoami = access.auth.whoami(&access.caller).await?;
    Ok(Json(convert::whoami_body(&whoami)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    #[param(schema_with = openapi::page_limit)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page, unchanged.
    #[param(schema_with = openapi::cursor)]
    cursor: Option<String>,
    /// Only the entries of this subject: a principal, or `anonymous`.
    #[param(schema_with = openapi::audit_subject)]
    subject: Option<String>,
    /// Only the entries of this action.
    #[param(schema_with = openapi::audit_action)]
    action: Option<String>,
}

/// An audit subject filter: `anonymous`, or a principal as the log writes
/// it.
fn audit_subject(text: &str) -> Result<String, ApiError> {
    if text == convert::ANONYMOUS {
        return Ok(text.to_owned());
    }
    Ok(Principal::parse(text)?.to_string())
}

#[utoipa::path(
    get, path = "/api/v1/audit", operation_id = "listAudit",
    summary = "The audit log, oldest first: every write attempted (pushes, module creations, policy changes, token and grant changes), denied and failed ones included; admins only",
    params(AuditParams),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "A page of entries", body = wire::AuditList),
        (status = 400, description = "Bad limit (INVALID_LIMIT) or cursor (INVALID_CURSOR), invalid subject (INVALID_PRINCIPAL) or action (INVALID_AUDIT_ACTION), or an unknown parameter (INVALID_QUERY)", body = wire::ErrorBody),
        (status = 403, description = "The caller is not an admin (PERMISSION_DENIED)", body = wire::ErrorBody),
        (status = 409, description = "Access control is off (AUTH_DISABLED)", body = wire::ErrorBody),
        (status = 503, description = "Storage unavailable", body = wire::ErrorBody),
    )
)]
pub(crate) async fn audit(
    Managing(access): Managing,
    query: QueryResult<AuditParams>,
) -> Result<Json<wire::AuditList>, ApiError> {
    let AuditParams {
        limit,
        cursor,
        subject,
        action,
    } = query?.0;
    let page = PageRequest::new(limit, cursor.as_deref().map(Cursor::parse).transpose()?)?;
    let query = AuditQuery {
        after: page.cursor.as_ref().map(Cursor::audit_seq).transpose()?,
        limit: page.limit,
        subject: subject.as_deref().map(audit_subject).transpose()?,
        action: action.as_deref().map(AuditAction::parse).transpose()?,
    };
    let records = access.auth.audit(&access.caller, &query).await?;
    // A full page has a next one only if an entry follows its last.
    let next_cursor = match records.last() {
        Some(last) if records.len() == page.limit as usize => {
            let peek = AuditQuery {
                after: Some(last.seq),
                limit: 1,
                ..query
            };
            let more = access.auth.audit(&access.caller, &peek).await?;
            (!more.is_empty()).then(|| Cursor::after_audit(last.seq).token())
        }
        _ => None,
    };
    Ok(Json(wire::AuditList {
        entries: records
            .iter()
            .map(|record| convert::audit_entry_body(&record.entry))
            .collect(),
        next_cursor,
    }))
}
