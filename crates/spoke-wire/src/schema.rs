//! The OpenAPI schemas of the strings the server parses (feature
//! `openapi`): the patterns and lengths come from `spoke-domain`, which
//! enforces them, so the description cannot drift from the rules.

use spoke_domain::{
    AccessId, BumpKind, CompatibilityMode, DependencyRef, DocumentName, FilePath, LabelName,
    ModuleName, Principal, Role, Scope, SearchKind, SearchQuery, VersionId, VersionSelector,
};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AllOfBuilder, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};

fn text(pattern: &str, max_len: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .max_length(Some(max_len))
        .description(Some(description))
}

/// The string schema, or `null`.
fn nullable(object: ObjectBuilder) -> Schema {
    let mut object = object.build();
    object.schema_type = SchemaType::Array(vec![Type::String, Type::Null]);
    if let Some(values) = object.enum_values.as_mut() {
        values.push(serde_json::Value::Null);
    }
    Schema::Object(object)
}

fn module_name_builder() -> ObjectBuilder {
    text(
        ModuleName::PATTERN,
        ModuleName::MAX_LEN,
        "A module name: lowercase letters, digits, `-`, `_` and `.`, starting with a letter, at most 128 bytes.",
    )
}

fn version_builder() -> ObjectBuilder {
    text(
        VersionId::PATTERN,
        VersionId::MAX_LEN,
        "SemVer 2.0 with an optional leading `v` (numeric parts at most 19 digits), or a commit id of 7 to 64 lowercase hex digits; at most 128 bytes.",
    )
}

fn mode_builder() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(CompatibilityMode::ALL.map(CompatibilityMode::as_str)))
}

pub fn module_name() -> RefOr<Schema> {
    module_name_builder().into()
}

pub fn optional_module_name() -> RefOr<Schema> {
    nullable(module_name_builder()).into()
}

pub fn version() -> RefOr<Schema> {
    version_builder().into()
}

fn version_selector_builder() -> ObjectBuilder {
    text(
        VersionSelector::PATTERN,
        VersionId::MAX_LEN,
        "`latest`, a version (SemVer 2.0 with an optional leading `v`, numeric parts at most 19 digits, or a commit id of 7 to 64 lowercase hex digits; at most 128 bytes), or else a label name (at most 63 bytes, see the label schema): what parses as a version is a version.",
    )
}

/// A version, `latest` or a label, as URLs and queries name one.
pub fn version_selector() -> RefOr<Schema> {
    version_selector_builder().into()
}

pub fn optional_version_selector() -> RefOr<Schema> {
    nullable(version_selector_builder()).into()
}

/// A label name, as `/modules/{name}/labels/{label}` names one.
pub fn label_name() -> RefOr<Schema> {
    text(
        LabelName::PATTERN,
        LabelName::MAX_LEN,
        "A label name: lowercase letters, digits, `-`, `_` and `.`, starting with a letter, at most 63 bytes, never a version (not `v` then a digit, not 7 or more hex digits only), and not `latest` (the built-in label).",
    )
    .into()
}

/// A search's `q`.
pub fn search_text() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(SearchQuery::MAX_TEXT_BYTES))
        .description(Some(
            "What to look for: a name, full or short (a prefix, CamelCase or snake_case segments, a typo or two); several words, each of which must match a name, a type used or a comment; a qualified name or path (`User.email`, `acme/user`); or `type:NAME` for the fields and RPCs that use the type `NAME`. Not blank; at most 256 bytes.",
        ))
        .into()
}

/// A search's `kind` filter.
pub fn search_kind() -> RefOr<Schema> {
    nullable(
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(SearchKind::ALL.map(SearchKind::as_str))),
    )
    .into()
}

pub fn file_path() -> RefOr<Schema> {
    text(
        FilePath::PATTERN,
        FilePath::MAX_LEN,
        "A relative `/`-separated path ending in `.proto`, without `.` or `..` segments, empty segments, backslashes or control characters; at most 1024 bytes.",
    )
    .into()
}

pub fn dependencies() -> RefOr<Schema> {
    // One pattern states the form, the other bounds the version part.
    let version_length = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^[^@]*(@[^@]{{1,{}}})?$", VersionId::MAX_LEN)));
    let reference = AllOfBuilder::new()
        .item(text(
            DependencyRef::PATTERN,
            ModuleName::MAX_LEN + 1 + VersionId::MAX_LEN,
            "`module@version`, `module@latest`, `module@label` or `module` (the latest version), pinned to an exact version when the request is served.",
        ))
        .item(version_length);
    ArrayBuilder::new().items(reference).into()
}

pub fn optional_mode() -> RefOr<Schema> {
    nullable(mode_builder()).into()
}

/// The compatibility mode of a policy in force.
pub fn mode() -> RefOr<Schema> {
    mode_builder().into()
}

/// A document's name, which is also its path at the module's root.
pub fn document_name() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(DocumentName::ALL.map(DocumentName::as_str)))
        .into()
}

/// The part of a version a `SEMVER` break must bump.
pub fn bump_kind() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(BumpKind::ALL.map(BumpKind::as_str)))
        .into()
}

/// `user:NAME` or `group:NAME`.
pub fn principal() -> RefOr<Schema> {
    text(
        Principal::PATTERN,
        "group:".len() + Principal::MAX_NAME_LEN,
        "`user:NAME` or `group:NAME`; the name is 1 to 256 visible ASCII characters (no spaces).",
    )
    .into()
}

/// What a grant covers.
pub fn scope() -> RefOr<Schema> {
    text(
        Scope::PATTERN,
        ModuleName::MAX_LEN,
        "`*` (every module), a module name, or a prefix of module names ending in `*` (`acme.payments.*`).",
    )
    .into()
}

/// The id of a token or a grant.
pub fn access_id() -> RefOr<Schema> {
    text(
        AccessId::PATTERN,
        AccessId::MAX_LEN,
        "1 to 64 ASCII letters, digits, `-` or `_`.",
    )
    .into()
}

pub fn role() -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(Role::ALL.map(Role::as_str)))
        .description(Some(
            "`reader` < `writer` (pushes versions) < `owner` (policies and grants on the scope); `admin` (on `*` only) may do everything.",
        ))
        .into()
}
