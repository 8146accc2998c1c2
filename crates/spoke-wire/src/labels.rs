//! The bodies of the label routes (`/modules/{name}/labels`).

use serde::{Deserialize, Serialize};

#[cfg(feature = "openapi")]
use crate::schema;

/// `PUT /modules/{name}/labels/{label}`: where the label is to point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SetLabelRequest {
    /// An exact version, `latest` or another label: resolved once, when the
    /// label is set, to the exact version it names then.
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::version_selector))]
    pub version: String,
}

/// One setting of a label.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelMoveBody {
    /// The exact version the label was pointed at.
    pub version: String,
    /// When (RFC 3339).
    pub time: String,
}

/// A label with its history: `GET` and `PUT /modules/{name}/labels/{label}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelBody {
    pub module_name: String,
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::label_name))]
    pub name: String,
    /// The exact version it points at now.
    pub version: String,
    /// When it was last set (RFC 3339).
    pub updated_at: String,
    /// Every setting, newest first: the first is where it points now.
    pub history: Vec<LabelMoveBody>,
}

/// One entry of `GET /modules/{name}/labels`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelSummaryBody {
    #[cfg_attr(feature = "openapi", schema(schema_with = schema::label_name))]
    pub name: String,
    pub version: String,
    pub updated_at: String,
}

/// `GET /modules/{name}/labels`: every label of the module, by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelList {
    pub module_name: String,
    pub labels: Vec<LabelSummaryBody>,
}
