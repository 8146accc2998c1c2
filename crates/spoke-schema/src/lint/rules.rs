//! buf's lint rules and categories, as buf v1.75 defines them.

use std::collections::BTreeSet;

/// The buf.yaml version a configuration was written for: a few rules exist,
/// or belong to categories, only from v2 on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ConfigVersion {
    /// `version: v1` (also `v1beta1` and a missing version).
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

impl RuleInfo {
    /// The rule's categories under `version`, `None` when that version has
    /// no such rule.
    pub fn categories_in(&self, version: ConfigVersion) -> Option<&'static [&'static str]> {
        match version {
            ConfigVersion::V1 => self.v1_categories,
            ConfigVersion::V2 => Some(self.categories),
        }
    }

    /// Whether the rule belongs to `category` (`DEFAULT` meaning `STANDARD`).
    pub fn in_category(&self, category: &str, version: ConfigVersion) -> bool {
        let category = if category == "DEFAULT" {
            "STANDARD"
        } else {
            category
        };
        self.categories_in(version)
            .is_some_and(|categories| categories.contains(&category))
    }
}

/// Every rule and category ID a configuration of `version` accepts.
pub fn known_ids(version: ConfigVersion) -> BTreeSet<&'static str> {
    CATEGORIES
        .iter()
        .copied()
        .chain(RULES.iter().map(|rule| rule.id))
        .filter(|id| expand(id, version).is_some())
        .collect()
}

/// The rule IDs a rule or category ID names under `version`, or `None`
/// when it is neither.
pub(crate) fn expand(id: &str, version: ConfigVersion) -> Option<BTreeSet<&'static str>> {
    if CATEGORIES.contains(&id) {
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
    }
}
