//! buf's lint rules and categories, as buf v1.75 defines them.

use std::collections::BTreeSet;

/// The buf.yaml version a configuration was written for: a few rules exist,
/// or belong to categories, only from v2 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigVersion {
    /// `version: v1beta1`: its own rule set and categories.
    V1Beta1,
    /// `version: v1` (also a missing version).
    V1,
    /// `version: v2`, the current one.
    #[default]
    V2,
}

/// One lint rule: its buf ID, categories and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleInfo {
    pub id: &'static str,
    /// Categories in a v2 configuration (`DEFAULT` is an alias of `STANDARD`).
    pub categories: &'static [&'static str],
    /// Categories in a v1 configuration; `None` when v1 has no such rule.
    pub v1_categories: Option<&'static [&'static str]>,
    pub purpose: &'static str,
    /// buf marks the rule deprecated: it is accepted but in no category.
    pub deprecated: bool,
    /// Spoke evaluates the rule. `false` only for `PROTOVALIDATE`, which
    /// needs a CEL compiler; it is accepted in configurations and never reports.
    pub checked: bool,
    /// The rule exists in v1 and v2 configurations (`false` for the rules
    /// only v1beta1 has).
    pub current: bool,
}

/// Every category, strictest last among the nested ones.
pub const CATEGORIES: &[&str] = &[
    "MINIMAL",
    "BASIC",
    "STANDARD",
    "DEFAULT",
    "COMMENTS",
    "UNARY_RPC",
];

const MINIMAL: &[&str] = &["MINIMAL", "BASIC", "STANDARD"];
const BASIC: &[&str] = &["BASIC", "STANDARD"];
const STANDARD: &[&str] = &["STANDARD"];
const COMMENTS: &[&str] = &["COMMENTS"];
const UNARY_RPC: &[&str] = &["UNARY_RPC"];
const NONE: &[&str] = &[];

const fn rule(
    id: &'static str,
    categories: &'static [&'static str],
    purpose: &'static str,
) -> RuleInfo {
    RuleInfo {
        id,
        categories,
        v1_categories: Some(categories),
        purpose,
        deprecated: false,
        checked: true,
        current: true,
    }
}

static RULES: &[RuleInfo] = &[
    rule(
        "DIRECTORY_SAME_PACKAGE",
        MINIMAL,
        "Checks that all files in a given directory are in the same package.",
    ),
    rule(
        "PACKAGE_DEFINED",
        MINIMAL,
        "Checks that all files have a package defined.",
    ),
    rule(
        "PACKAGE_DIRECTORY_MATCH",
        MINIMAL,
        "Checks that all files are in a directory that matches their package name.",
    ),
    RuleInfo {
        v1_categories: Some(NONE),
        ..rule(
            "PACKAGE_NO_IMPORT_CYCLE",
            MINIMAL,
            "Checks that packages do not have import cycles.",
        )
    },
    rule(
        "PACKAGE_SAME_DIRECTORY",
        MINIMAL,
        "Checks that all files with a given package are in the same directory.",
    ),
    rule(
        "ENUM_FIRST_VALUE_ZERO",
        BASIC,
        "Checks that all first values of enums have a numeric value of 0.",
    ),
    rule(
        "ENUM_NO_ALLOW_ALIAS",
        BASIC,
        "Checks that enums do not have the allow_alias option set.",
    ),
    rule(
        "ENUM_PASCAL_CASE",
        BASIC,
        "Checks that enums are PascalCase.",
    ),
    rule(
        "ENUM_VALUE_UPPER_SNAKE_CASE",
        BASIC,
        "Checks that enum values are UPPER_SNAKE_CASE.",
    ),
    rule(
        "FIELD_LOWER_SNAKE_CASE",
        BASIC,
        "Checks that field names are lower_snake_case.",
    ),
    RuleInfo {
        v1_categories: None,
        ..rule(
            "FIELD_NOT_REQUIRED",
            BASIC,
            "Checks that fields are not configured to be required.",
        )
    },
    rule(
        "IMPORT_NO_PUBLIC",
        BASIC,
        "Checks that imports are not public.",
    ),
    rule("IMPORT_USED", BASIC, "Checks that imports are used."),
    rule(
        "MESSAGE_PASCAL_CASE",
        BASIC,
        "Checks that messages are PascalCase.",
    ),
    rule(
        "ONEOF_LOWER_SNAKE_CASE",
        BASIC,
        "Checks that oneof names are lower_snake_case.",
    ),
    rule(
        "PACKAGE_LOWER_SNAKE_CASE",
        BASIC,
        "Checks that packages are lower_snake.case.",
    ),
    rule(
        "PACKAGE_SAME_CSHARP_NAMESPACE",
        BASIC,
        "Checks that all files with a given package have the same value for the csharp_namespace option.",
    ),
    rule(
        "PACKAGE_SAME_GO_PACKAGE",
        BASIC,
        "Checks that all files with a given package have the same value for the go_package option.",
    ),
    rule(
        "PACKAGE_SAME_JAVA_MULTIPLE_FILES",
        BASIC,
        "Checks that all files with a given package have the same value for the java_multiple_files option.",
    ),
    rule(
        "PACKAGE_SAME_JAVA_PACKAGE",
        BASIC,
        "Checks that all files with a given package have the same value for the java_package option.",
    ),
    rule(
        "PACKAGE_SAME_PHP_NAMESPACE",
        BASIC,
        "Checks that all files with a given package have the same value for the php_namespace option.",
    ),
    rule(
        "PACKAGE_SAME_RUBY_PACKAGE",
        BASIC,
        "Checks that all files with a given package have the same value for the ruby_package option.",
    ),
    rule(
        "PACKAGE_SAME_SWIFT_PREFIX",
        BASIC,
        "Checks that all files with a given package have the same value for the swift_prefix option.",
    ),
    rule("RPC_PASCAL_CASE", BASIC, "Checks that RPCs are PascalCase."),
    rule(
        "SERVICE_PASCAL_CASE",
        BASIC,
        "Checks that services are PascalCase.",
    ),
    rule(
        "SYNTAX_SPECIFIED",
        BASIC,
        "Checks that all files have a syntax specified.",
    ),
    rule(
        "ENUM_VALUE_PREFIX",
        STANDARD,
        "Checks that enum values are prefixed with ENUM_NAME_UPPER_SNAKE_CASE.",
    ),
    rule(
        "ENUM_ZERO_VALUE_SUFFIX",
        STANDARD,
        "Checks that enum zero values have a consistent suffix (configurable, default suffix is \"_UNSPECIFIED\").",
    ),
    rule(
        "FILE_LOWER_SNAKE_CASE",
        STANDARD,
        "Checks that filenames are lower_snake_case.",
    ),
    rule(
        "PACKAGE_VERSION_SUFFIX",
        STANDARD,
        "Checks that the last component of all packages is a version of the form v\\d+, v\\d+test.*, v\\d+(alpha|beta)\\d+, or v\\d+p\\d+(alpha|beta)\\d+, where numbers are >=1.",
    ),
    RuleInfo {
        checked: false,
        ..rule(
            "PROTOVALIDATE",
            STANDARD,
            "Checks that protovalidate rules are valid and all CEL expressions compile.",
        )
    },
    rule(
        "RPC_REQUEST_RESPONSE_UNIQUE",
        STANDARD,
        "Checks that RPC request and response types are only used in one RPC (configurable).",
    ),
    rule(
        "RPC_REQUEST_STANDARD_NAME",
        STANDARD,
        "Checks that RPC request type names are RPCNameRequest or ServiceNameRPCNameRequest (configurable).",
    ),
    rule(
        "RPC_RESPONSE_STANDARD_NAME",
        STANDARD,
        "Checks that RPC response type names are RPCNameResponse or ServiceNameRPCNameResponse (configurable).",
    ),
    rule(
        "SERVICE_SUFFIX",
        STANDARD,
        "Checks that services have a consistent suffix (configurable, default suffix is \"Service\").",
    ),
    rule(
        "COMMENT_ENUM",
        COMMENTS,
        "Checks that enums have non-empty comments.",
    ),
    rule(
        "COMMENT_ENUM_VALUE",
        COMMENTS,
        "Checks that enum values have non-empty comments.",
    ),
    rule(
        "COMMENT_FIELD",
        COMMENTS,
        "Checks that fields have non-empty comments.",
    ),
    rule(
        "COMMENT_MESSAGE",
        COMMENTS,
        "Checks that messages have non-empty comments.",
    ),
    rule(
        "COMMENT_ONEOF",
        COMMENTS,
        "Checks that oneofs have non-empty comments.",
    ),
    rule(
        "COMMENT_RPC",
        COMMENTS,
        "Checks that RPCs have non-empty comments.",
    ),
    rule(
        "COMMENT_SERVICE",
        COMMENTS,
        "Checks that services have non-empty comments.",
    ),
    rule(
        "RPC_NO_CLIENT_STREAMING",
        UNARY_RPC,
        "Checks that RPCs are not client streaming.",
    ),
    rule(
        "RPC_NO_SERVER_STREAMING",
        UNARY_RPC,
        "Checks that RPCs are not server streaming.",
    ),
    RuleInfo {
        deprecated: true,
        ..rule("IMPORT_NO_WEAK", NONE, "Checks that imports are not weak.")
    },
    RuleInfo {
        v1_categories: None,
        current: false,
        ..rule(
            "FIELD_NO_DESCRIPTOR",
            NONE,
            "Checks that field names are not any capitalization of \"descriptor\" with any number of prefix or suffix underscores.",
        )
    },
    RuleInfo {
        v1_categories: None,
        ..rule(
            "STABLE_PACKAGE_NO_IMPORT_UNSTABLE",
            NONE,
            "Checks that all files that have stable versioned packages do not import packages with unstable version packages.",
        )
    },
];

/// Every rule buf v1.75 knows, in buf's listing order.
pub fn rules() -> &'static [RuleInfo] {
    RULES
}

/// v1beta1's categories (`DEFAULT` and `STYLE_DEFAULT` are aliases of
/// `STANDARD` and `STYLE_STANDARD`).
pub const V1BETA1_CATEGORIES: &[&str] = &[
    "MINIMAL",
    "BASIC",
    "STANDARD",
    "DEFAULT",
    "FILE_LAYOUT",
    "PACKAGE_AFFINITY",
    "SENSIBLE",
    "STYLE_BASIC",
    "STYLE_STANDARD",
    "STYLE_DEFAULT",
    "COMMENTS",
    "UNARY_RPC",
    "OTHER",
];

const FILE_LAYOUT: &[&str] = &["MINIMAL", "BASIC", "STANDARD", "FILE_LAYOUT"];
const PACKAGE_AFFINITY: &[&str] = &["MINIMAL", "BASIC", "STANDARD", "PACKAGE_AFFINITY"];
const SENSIBLE: &[&str] = &["MINIMAL", "BASIC", "STANDARD", "SENSIBLE"];
const STYLE_BASIC: &[&str] = &["BASIC", "STANDARD", "STYLE_BASIC", "STYLE_STANDARD"];
const STYLE_STANDARD: &[&str] = &["STANDARD", "STYLE_STANDARD"];
const OTHER: &[&str] = &["OTHER"];

/// Every rule of a v1beta1 configuration with its categories, as `buf
/// config ls-lint-rules --version v1beta1 --include-deprecated` lists them.
const V1BETA1: &[(&str, &[&str])] = &[
    ("DIRECTORY_SAME_PACKAGE", FILE_LAYOUT),
    ("PACKAGE_DIRECTORY_MATCH", FILE_LAYOUT),
    ("PACKAGE_SAME_DIRECTORY", FILE_LAYOUT),
    ("PACKAGE_SAME_CSHARP_NAMESPACE", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_GO_PACKAGE", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_JAVA_MULTIPLE_FILES", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_JAVA_PACKAGE", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_PHP_NAMESPACE", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_RUBY_PACKAGE", PACKAGE_AFFINITY),
    ("PACKAGE_SAME_SWIFT_PREFIX", PACKAGE_AFFINITY),
    ("ENUM_NO_ALLOW_ALIAS", SENSIBLE),
    ("FIELD_NO_DESCRIPTOR", SENSIBLE),
    ("IMPORT_NO_PUBLIC", SENSIBLE),
    ("PACKAGE_DEFINED", SENSIBLE),
    ("ENUM_PASCAL_CASE", STYLE_BASIC),
    ("ENUM_VALUE_UPPER_SNAKE_CASE", STYLE_BASIC),
    ("FIELD_LOWER_SNAKE_CASE", STYLE_BASIC),
    ("MESSAGE_PASCAL_CASE", STYLE_BASIC),
    ("ONEOF_LOWER_SNAKE_CASE", STYLE_BASIC),
    ("PACKAGE_LOWER_SNAKE_CASE", STYLE_BASIC),
    ("RPC_PASCAL_CASE", STYLE_BASIC),
    ("SERVICE_PASCAL_CASE", STYLE_BASIC),
    ("ENUM_VALUE_PREFIX", STYLE_STANDARD),
    ("ENUM_ZERO_VALUE_SUFFIX", STYLE_STANDARD),
    ("FILE_LOWER_SNAKE_CASE", STYLE_STANDARD),
    ("PACKAGE_VERSION_SUFFIX", STYLE_STANDARD),
    ("RPC_REQUEST_RESPONSE_UNIQUE", STYLE_STANDARD),
    ("RPC_REQUEST_STANDARD_NAME", STYLE_STANDARD),
    ("RPC_RESPONSE_STANDARD_NAME", STYLE_STANDARD),
    ("SERVICE_SUFFIX", STYLE_STANDARD),
    ("COMMENT_ENUM", COMMENTS),
    ("COMMENT_ENUM_VALUE", COMMENTS),
    ("COMMENT_FIELD", COMMENTS),
    ("COMMENT_MESSAGE", COMMENTS),
    ("COMMENT_ONEOF", COMMENTS),
    ("COMMENT_RPC", COMMENTS),
    ("COMMENT_SERVICE", COMMENTS),
    ("RPC_NO_CLIENT_STREAMING", UNARY_RPC),
    ("RPC_NO_SERVER_STREAMING", UNARY_RPC),
    ("ENUM_FIRST_VALUE_ZERO", OTHER),
    ("IMPORT_NO_WEAK", NONE),
];

impl RuleInfo {
    /// The rule's categories under `version`, `None` when that version has
    /// no such rule.
    pub fn categories_in(&self, version: ConfigVersion) -> Option<&'static [&'static str]> {
        match version {
            ConfigVersion::V1Beta1 => V1BETA1
                .iter()
                .find(|(id, _)| *id == self.id)
                .map(|(_, categories)| *categories),
            ConfigVersion::V1 => self.v1_categories.filter(|_| self.current),
            ConfigVersion::V2 => Some(self.categories).filter(|_| self.current),
        }
    }

    /// Whether the rule belongs to `category` (`DEFAULT` meaning `STANDARD`,
    /// and in v1beta1 `STYLE_DEFAULT` meaning `STYLE_STANDARD`).
    pub fn in_category(&self, category: &str, version: ConfigVersion) -> bool {
        let category = match category {
            "DEFAULT" => "STANDARD",
            "STYLE_DEFAULT" if version == ConfigVersion::V1Beta1 => "STYLE_STANDARD",
            category => category,
        };
        self.categories_in(version)
            .is_some_and(|categories| categories.contains(&category))
    }
}

/// The category IDs of `version`.
fn categories(version: ConfigVersion) -> &'static [&'static str] {
    match version {
        ConfigVersion::V1Beta1 => V1BETA1_CATEGORIES,
        ConfigVersion::V1 | ConfigVersion::V2 => CATEGORIES,
    }
}

/// Every rule and category ID a configuration of `version` accepts.
pub fn known_ids(version: ConfigVersion) -> BTreeSet<&'static str> {
    categories(version)
        .iter()
        .copied()
        .chain(RULES.iter().map(|rule| rule.id))
        .filter(|id| expand(id, version).is_some())
        .collect()
}

/// The rule IDs a rule or category ID names under `version`, or `None`
/// when it is neither.
pub(crate) fn expand(id: &str, version: ConfigVersion) -> Option<BTreeSet<&'static str>> {
    if categories(version).contains(&id) {
        return Some(
            RULES
                .iter()
                .filter(|rule| rule.in_category(id, version))
                .map(|rule| rule.id)
                .collect(),
        );
    }
    RULES
        .iter()
        .find(|rule| rule.id == id && rule.categories_in(version).is_some())
        .map(|rule| BTreeSet::from([rule.id]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_are_what_a_configuration_accepts() {
        let v2 = known_ids(ConfigVersion::V2);
        assert!(v2.is_superset(&BTreeSet::from(["STANDARD", "DEFAULT", "PACKAGE_DEFINED"])));
        assert!(v2.iter().all(|id| expand(id, ConfigVersion::V2).is_some()));
        assert!(!v2.contains(""));
        assert!(!v2.contains("FIELD_NO_DESCRIPTOR"));
        let v1beta1 = known_ids(ConfigVersion::V1Beta1);
        assert!(v1beta1.contains("FIELD_NO_DESCRIPTOR") && v1beta1.contains("STYLE_DEFAULT"));
        assert!(!v1beta1.contains("IMPORT_USED") && !v1beta1.contains("PROTOVALIDATE"));
        // Every v1beta1 rule is one Spoke knows.
        assert!(
            V1BETA1
                .iter()
                .all(|(id, _)| RULES.iter().any(|r| r.id == *id))
        );
    }
}
