//! The OpenAPI document at `/openapi.json`, generated from the code: the
//! handlers' `#[utoipa::path]` annotations, the wire bodies' schemas (whose
//! patterns come from `spoke-domain`), the running registry's limits, and
//! the answers the server's layers give before or around any handler.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use spoke_auth::Auth;
use spoke_domain::{AuditAction, Limits, PageRequest, Principal};
use spoke_registry::spoke_schema::breaking;
use spoke_registry::spoke_schema::lint::{self, ConfigVersion};
use utoipa::OpenApi as _;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::ArrayItems;
use utoipa::openapi::schema::{
    AllOfBuilder, AnyOfBuilder, ArrayBuilder, ObjectBuilder, Schema, Type,
};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Required};

use crate::{
    cargo, checks, compatibility, deprecation, handlers, labels, management, sdk, search, views,
};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Spoke registry REST API",
        version = "1",
        description = "Protobuf schema registry. With access control on (SPOKE_AUTH_ENABLED), requests authenticate with `Authorization: Bearer <token>` (the `bearer` scheme); each operation's `security` says whether it needs to. Every error is JSON `{error, code, details}` (the `Error` schema): `error` for humans, `code` stable (e.g. `VERSION_CONFLICT`), `details` where a code has them. Each operation lists every status it answers; 429 (over the client's rate limit), 500 (a handler fault) and 503 (not answered within SPOKE_WRITE_TIMEOUT) can answer any of them, and 408, 413 and 415 any request with a body.",
    ),
    paths(
        handlers::list_modules,
        handlers::create_module,
        handlers::get_module,
        handlers::list_versions,
        handlers::push_version,
        handlers::get_version,
        handlers::get_file,
        views::dependencies,
        views::dependents,
        views::lockfile,
        views::graph,
        views::image,
        views::symbols,
        sdk::sdk,
        cargo::config,
        cargo::index,
        cargo::download,
        search::search,
        checks::validate,
        checks::lint,
        compatibility::get,
        compatibility::set,
        compatibility::clear,
        compatibility::check,
        compatibility::diff,
        labels::list,
        labels::get,
        labels::set,
        labels::delete,
        deprecation::deprecate_module,
        deprecation::undeprecate_module,
        deprecation::deprecate_version,
        deprecation::undeprecate_version,
        management::create_token,
        management::list_tokens,
        management::revoke_token,
        management::create_grant,
        management::list_grants,
        management::delete_grant,
        management::whoami,
        management::audit,
        serve,
    )
)]
struct ApiDoc;

/// The document for a registry with `limits` behind a body limit of
/// `max_body_bytes`, under the server's access policy.
pub(crate) fn document(limits: &Limits, max_body_bytes: usize, auth: &Auth) -> OpenApi {
    let mut document = ApiDoc::openapi();
    state_access_policy(&mut document, auth);
    state_limits(&mut document, limits, max_body_bytes);
    state_rule_ids(&mut document);
    state_rules_need_a_mode(&mut document);
    require_parameters(&mut document, "/modules/{name}/diff", &["from", "to"]);
    require_parameters(&mut document, "/api/v1/search", &["q"]);
    declare_bearer(&mut document);
    add_server_answers(&mut document);
    document
}

/// The security scheme operations name in their `security`: `[{}, {"bearer":
/// []}]` for reads (anonymous callers allowed while the server allows
/// them), `[{"bearer": []}]` for writes and access management.
const BEARER: &str = "bearer";

/// The description of every read, which anonymous callers may make while
/// the server allows them.
pub(crate) const ANONYMOUS_READS: &str = "Anonymous callers (no `Authorization` header) may read while the server allows anonymous reads (SPOKE_AUTH_ANONYMOUS_READ, on by default) or access control is off; otherwise send a bearer token.";

/// Makes each operation's `security` say what this server asks: with access
/// control off, nothing (credentials are ignored); with anonymous reads off,
/// a token for reads too.
fn state_access_policy(document: &mut OpenApi, auth: &Auth) {
    let anonymous = SecurityRequirement::default();
    for path in document.paths.paths.values_mut() {
        for operation in operations(path) {
            if !auth.enabled() {
                operation.security = None;
            } else if !auth.anonymous_reads()
                && is_read(operation)
                && let Some(requirements) = &mut operation.security
            {
                // `[{}, {"bearer": []}]` becomes `[{"bearer": []}]`.
                requirements.retain(|requirement| *requirement != anonymous);
            }
        }
    }
}

/// Whether an operation is a read that anonymous callers may make only
/// while the server allows anonymous reads (its description says so).
fn is_read(operation: &Operation) -> bool {
    operation
        .description
        .as_deref()
        .is_some_and(|description| description.contains(ANONYMOUS_READS))
}

fn declare_bearer(document: &mut OpenApi) {
    let scheme = HttpBuilder::new()
        .scheme(HttpAuthScheme::Bearer)
        .bearer_format("spoke token or OIDC JWT")
        .description(Some(
            "`Authorization: Bearer <token>`: a Spoke API token (`POST /api/v1/tokens`), the bootstrap token (SPOKE_AUTH_BOOTSTRAP_TOKEN) or a JWT of the OIDC issuer (SPOKE_OIDC_ISSUER). Only with access control on (SPOKE_AUTH_ENABLED); with it off every request is allowed and credentials are ignored.",
        ))
        .build();
    document
        .components
        .get_or_insert_with(Default::default)
        .security_schemes
        .insert(BEARER.to_owned(), SecurityScheme::Http(scheme));
}

#[utoipa::path(
    get, path = "/openapi.json", operation_id = "openapi", summary = "This document",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 JSON", content_type = "application/json")),
)]
pub(crate) async fn serve(document: Arc<OpenApi>) -> Response {
    Json(document.as_ref()).into_response()
}

/// The request bodies that carry files, whose count the registry bounds.
const FILE_BODIES: &[&str] = &[
    "PushRequest",
    "ValidateRequest",
    "LintRequest",
    "CompatibilityCheckRequest",
];

fn state_limits(document: &mut OpenApi, limits: &Limits, max_body_bytes: usize) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    for name in FILE_BODIES {
        if let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(*name)
            && let Some(RefOr::T(Schema::Array(files))) = body.properties.get_mut("files")
        {
            files.max_items = Some(limits.max_files);
            files.description = Some(format!(
                "At least one file, at most {} (413 TOO_MANY_FILES), no path twice; each file's content at most {} bytes, all of them at most {} bytes (413).",
                limits.max_files, limits.max_file_bytes, limits.max_version_bytes
            ));
        }
    }
    if let Some(description) = document.info.description.as_mut() {
        description.push_str(&format!(
            " A request body is at most {max_body_bytes} bytes (413 BODY_TOO_LARGE); a module's description at most {} bytes (400).",
            limits.max_description_bytes
        ));
    }
}

/// The rule and category IDs each body's `use` and `except` may name: buf's
/// lint IDs for a lint run (its default configuration is v2), buf's breaking
/// IDs of a v2 configuration for a compatibility policy.
fn state_rule_ids(document: &mut OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let lint = lint::known_ids(ConfigVersion::V2);
    let breaking = breaking::known_ids(ConfigVersion::V2);
    for (name, ids) in [
        ("LintRequest", &lint),
        ("CompatibilityPolicyBody", &breaking),
        ("CompatibilityCheckRequest", &breaking),
    ] {
        let Some(RefOr::T(Schema::Object(body))) = components.schemas.get_mut(name) else {
            continue;
        };
        for list in ["use", "except"] {
            if let Some(RefOr::T(Schema::Array(array))) = body.properties.get_mut(list) {
                array.items = ArrayItems::RefOrSchema(Box::new(
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(ids.iter().copied()))
                        .into(),
                ));
            }
        }
    }
}

/// Marks every path parameter required (OpenAPI demands it; a
/// `schema_with` parameter is generated without it), and the query
/// parameters of `path` named in `query`, whose fields are optional only so
/// that a missing one gets the handler's own error.
fn require_parameters(document: &mut OpenApi, path: &str, query: &[&str]) {
    for (route, item) in document.paths.paths.iter_mut() {
        for operation in operations(item) {
            for parameter in operation.parameters.iter_mut().flatten() {
                let named = route == path && query.contains(&parameter.name.as_str());
                if parameter.parameter_in == ParameterIn::Path || named {
                    parameter.required = Required::True;
                }
            }
        }
    }
}

/// The bodies that may name compatibility rules, with those rules: rules
/// are refused without a mode (400 INVALID_COMPATIBILITY_POLICY,
/// `wire::RULES_NEED_A_MODE`), so a valid body names a mode or no rule.
const RULE_BODIES: &[(&str, &[&str], bool)] = &[
    (
        "CompatibilityPolicyBody",
        &["use", "except", "ignore"],
        true,
    ),
    ("CompatibilityCheckRequest", &["use", "except"], false),
];

fn state_rules_need_a_mode(document: &mut OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    for (name, lists, unstable_flag) in RULE_BODIES {
        let Some(body) = components.schemas.remove(*name) else {
            continue;
        };
        let with_mode = ObjectBuilder::new()
            .property("mode", ObjectBuilder::new().schema_type(Type::String))
            .required("mode");
        let mut without_rules = ObjectBuilder::new();
        for list in *lists {
            without_rules = without_rules.property(
                *list,
                ArrayBuilder::new()
                    .items(ObjectBuilder::new().schema_type(Type::String))
                    .max_items(Some(0)),
            );
        }
        if *unstable_flag {
            without_rules = without_rules.property(
                "ignore_unstable_packages",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .enum_values(Some([false])),
            );
        }
        let constrained = AllOfBuilder::new().item(body).item(
            AnyOfBuilder::new()
                .description(Some("Rules need a mode: a mode, or no rule."))
                .item(with_mode)
                .item(without_rules),
        );
        components
            .schemas
            .insert((*name).to_owned(), constrained.into());
    }
}

fn error_response(description: &str, retry_after: Option<&str>) -> ApiResponse {
    let mut response = ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    );
    if let Some(retry_after) = retry_after {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )
                .description(Some(retry_after))
                .build(),
        );
    }
    response.build()
}

/// 401: from the server's authentication layer (credentials refused) or a
/// handler (credentials needed), with the challenge.
fn unauthenticated() -> ApiResponse {
    let mut response = error_response(
        "Access control is on, and the credentials sent were refused (UNAUTHENTICATED; unknown, revoked, expired or malformed: `WWW-Authenticate: Bearer error=\"invalid_token\"`), or the request needs credentials and sent none (`WWW-Authenticate: Bearer`): writes and access management always, reads while anonymous reads are off.",
        None,
    );
    response.headers.insert(
        "WWW-Authenticate".to_owned(),
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String))
            .description(Some(
                "`Bearer`, with `error=\"invalid_token\"` when credentials were sent and refused.",
            ))
            .build(),
    );
    response
}

/// What the server's layers answer, as reusable responses: (status, name,
/// response, whether only requests with a body get it).
fn server_answers() -> [(&'static str, &'static str, ApiResponse, bool); 7] {
    [
        ("401", "Unauthenticated", unauthenticated(), false),
        (
            "429",
            "RateLimited",
            error_response(
                "Too many requests from this client (RATE_LIMITED): its rate limit (SPOKE_RATE_LIMIT_RPS, or SPOKE_RATE_LIMIT_WRITE_RPS for writes) is used up. Sent before the request body is read. `details`: `class` (`read` or `write`) and `retry_after_seconds`.",
                Some("Seconds until the client's next request can be served, rounded up."),
            ),
            false,
        ),
        (
            "500",
            "Internal",
            error_response(
                "A fault in the server (INTERNAL); the message names the request id.",
                None,
            ),
            false,
        ),
        (
            "503",
            "Unavailable",
            error_response("Not answered within SPOKE_WRITE_TIMEOUT (TIMEOUT).", None),
            false,
        ),
        (
            "408",
            "BodyTimeout",
            error_response(
                "The request body stopped arriving for SPOKE_READ_TIMEOUT (REQUEST_TIMEOUT); the connection is closed.",
                None,
            ),
            true,
        ),
        (
            "413",
            "BodyTooLarge",
            error_response(
                "The request body is over the server's limit (BODY_TOO_LARGE), refused from its Content-Length before it is read.",
                None,
            ),
            true,
        ),
        (
            "415",
            "UnsupportedEncoding",
            error_response(
                "The body's Content-Encoding is not gzip or zstd (UNSUPPORTED_CONTENT_ENCODING); the Accept-Encoding response header lists the accepted ones.",
                None,
            ),
            true,
        ),
    ]
}

/// Adds the layers' answers to every operation (a handler's own answer
/// with the same status keeps its description, which then names both).
fn add_server_answers(document: &mut OpenApi) {
    let answers = server_answers();
    for path in document.paths.paths.values_mut() {
        for operation in operations(path) {
            let has_body = operation.request_body.is_some();
            for (status, name, answer, body_only) in &answers {
                if *body_only && !has_body {
                    continue;
                }
                let responses = &mut operation.responses.responses;
                match responses.get_mut(*status) {
                    Some(RefOr::T(own)) => {
                        own.description = format!("{} {}", own.description, answer.description);
                    }
                    Some(RefOr::Ref(_)) => {}
                    None => {
                        responses.insert(
                            (*status).to_owned(),
                            RefOr::Ref(Ref::new(format!("#/components/responses/{name}"))),
                        );
                    }
                }
            }
        }
    }
    let components = document.components.get_or_insert_with(Default::default);
    for (_, name, answer, _) in answers {
        components
            .responses
            .insert(name.to_owned(), RefOr::T(answer));
    }
}

fn operations(path: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        path.get.as_mut(),
        path.put.as_mut(),
        path.post.as_mut(),
        path.delete.as_mut(),
        path.patch.as_mut(),
        path.head.as_mut(),
        path.options.as_mut(),
        path.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

fn string_enum(values: &[&str], description: &str) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .into()
}

pub(crate) fn graph_format() -> RefOr<Schema> {
    string_enum(views::GRAPH_FORMATS, "`dot`: Graphviz's DOT language.")
}

pub(crate) fn image_format() -> RefOr<Schema> {
    string_enum(
        views::IMAGE_FORMATS,
        "`json`: protobuf's JSON mapping of the FileDescriptorSet, custom options included.",
    )
}

pub(crate) fn diff_format() -> RefOr<Schema> {
    string_enum(
        compatibility::DIFF_FORMATS,
        "`text`: a readable summary (text/plain), one line per change.",
    )
}

pub(crate) fn file_format() -> RefOr<Schema> {
    string_enum(
        handlers::FILE_FORMATS,
        "Without it, `Accept: text/plain` (without JSON) asks for `raw`.",
    )
}

pub(crate) fn page_limit() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(PageRequest::MAX_LIMIT))
        .default(Some(PageRequest::DEFAULT_LIMIT.into()))
        .into()
}

/// A subject as the audit log names it: a principal, or `anonymous`.
pub(crate) fn audit_subject() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^anonymous$|{}", Principal::PATTERN)))
        .description(Some("`user:NAME`, `group:NAME` or `anonymous`."))
        .into()
}

pub(crate) fn audit_action() -> RefOr<Schema> {
    let actions = AuditAction::ALL.map(AuditAction::as_str);
    string_enum(&actions, "The kind of write.")
}

pub(crate) fn cursor() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some("^[A-Za-z0-9_-]+$"))
        .description(Some(
            "The `next_cursor` of the previous page of the same listing, unchanged (INVALID_CURSOR otherwise).",
        ))
        .into()
}
