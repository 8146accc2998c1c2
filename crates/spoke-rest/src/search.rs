//! `GET /api/v1/search`: symbols and files across modules (see docs/search.md).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use spoke_registry::Registry;
use utoipa::IntoParams;

use crate::access::Access;
use crate::convert::{self, SearchParams};
use crate::handlers::QueryResult;
use crate::{ApiError, openapi, wire};

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct SearchQueryParams {
    /// What to look for.
    #[param(schema_with = wire::schema::search_text)]
    q: String,
    /// Only results of this kind.
    #[param(schema_with = wire::schema::search_kind)]
    kind: Option<String>,
    /// Only results from this module.
    #[param(schema_with = wire::schema::optional_module_name)]
    module: Option<String>,
    /// Search every version, not only each module's latest.
    #[serde(default)]
    all_versions: bool,
    #[param(schema_with = openapi::page_limit)]
    limit: Option<u64>,
    /// The `next_cursor` of the previous page, unchanged. It holds the last
    /// result's place (score, module, full name, kind, version), so a push
    /// between pages neither repeats nor skips a result.
    #[param(schema_with = openapi::cursor)]
    cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/search", operation_id = "search",
    summary = "Search symbols and files across modules",
    params(SearchQueryParams),
    security((), ("bearer" = [])),
    description = openapi::ANONYMOUS_READS,
    responses(
        (status = 200, description = "A page of results, best first", body = wire::SearchBody),
        (status = 400, description = "Empty or too long q, a malformed type: name (INVALID_SEARCH_QUERY), unknown kind (INVALID_SEARCH_KIND), invalid module name (INVALID_MODULE_NAME), bad limit (INVALID_LIMIT) or cursor (INVALID_CURSOR), a missing q or an unknown parameter (INVALID_QUERY)", body = wire::ErrorBody),
    )
)]
pub(crate) async fn search(
    State(registry): State<Arc<Registry>>,
    access: Access,
    query: QueryResult<SearchQueryParams>,
) -> Result<Json<wire::SearchBody>, ApiError> {
    let params = query?.0;
    let query = convert::search_query(SearchParams {
        q: &params.q,
        kind: params.kind.as_deref(),
        module: params.module.as_deref(),
        all_versions: params.all_versions,
        limit: params.limit,
        cursor: params.cursor.as_deref(),
    })?;
    let readable = access.readable().await?;
    let page = registry.search(query, readable).await?;
    Ok(Json(convert::search_body(page)))
}
