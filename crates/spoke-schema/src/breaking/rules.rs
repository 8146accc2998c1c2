//! buf's breaking-change rules and categories, as buf v1.75 defines them.

use std::collections::BTreeSet;

use crate::lint::ConfigVersion;

/// One breaking-change rule: its buf ID, categories and purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakingRuleInfo {
    pub id: &'static str,
    /// The categories of a v2 configuration, `CSR` included.
    pub categories: &'static [&'static str],
    pub purpose: &'static str,
}

/// The categories, from the strictest to the most lenient: `FILE` keeps
/// generated code compiling file by file, `PACKAGE` package by package,
/// `WIRE_JSON` keeps the binary and JSON encodings, `WIRE` the binary one.
pub const CATEGORIES: &[&str] = &["FILE", "PACKAGE", "WIRE_JSON", "WIRE"];

/// A further category of v2 configurations, which v1 does not have: buf's
/// own selection of rules from across the four above.
const CSR: &str = "CSR";

/// The category buf uses when a configuration names none.
pub(crate) const DEFAULT_CATEGORY: &str = "FILE";

/// Rules a v1 configuration does not have.
const NOT_IN_V1: &[&str] = &[
    "EXTENSION_NO_DELETE",
    "FIELD_SAME_DEFAULT",
    "PACKAGE_EXTENSION_NO_DELETE",
];

/// Rules a v1beta1 configuration does not have, beyond those v1 lacks.
const NOT_IN_V1BETA1: &[&str] = &[
    "FIELD_WIRE_COMPATIBLE_TYPE",
    "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
];

/// Rules whose categories differ in a v1beta1 configuration.
const V1BETA1_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "FIELD_SAME_CARDINALITY",
        &["FILE", "PACKAGE", "WIRE_JSON", "WIRE"],
    ),
    ("FIELD_SAME_TYPE", &["FILE", "PACKAGE", "WIRE_JSON", "WIRE"]),
    ("FILE_SAME_PACKAGE", &["FILE"]),
];

/// Deprecated IDs buf still accepts, with the rules that replaced them
/// (none: the ID selects nothing), per configuration version.
const DEPRECATED: &[(&str, &[&str], ConfigVersion)] = &[
    (
        "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT",
        &[],
        ConfigVersion::V2,
    ),
    (
        "MESSAGE_SAME_MESSAGE_SET_WIRE_FORMAT",
        &[],
        ConfigVersion::V1,
    ),
    (
        "FIELD_SAME_CTYPE",
        &["FIELD_SAME_CPP_STRING_TYPE"],
        ConfigVersion::V1,
    ),
    (
        "FIELD_SAME_LABEL",
        &[
            "FIELD_SAME_CARDINALITY",
            "FIELD_WIRE_COMPATIBLE_CARDINALITY",
            "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        ],
        ConfigVersion::V1,
    ),
    (
        "FILE_SAME_JAVA_STRING_CHECK_UTF8",
        &["FIELD_SAME_JAVA_UTF8_VALIDATION"],
        ConfigVersion::V1,
    ),
    ("FILE_SAME_PHP_GENERIC_SERVICES", &[], ConfigVersion::V1),
];

const fn rule(
    id: &'static str,
    categories: &'static [&'static str],
    purpose: &'static str,
) -> BreakingRuleInfo {
    BreakingRuleInfo {
        id,
        categories,
        purpose,
    }
}

const FILE: &[&str] = &["FILE"];
const CSR_FILE: &[&str] = &["CSR", "FILE"];
const FILE_PACKAGE: &[&str] = &["FILE", "PACKAGE"];
const CSR_FILE_PACKAGE: &[&str] = &["CSR", "FILE", "PACKAGE"];
const CSR_FILE_PACKAGE_WIRE_JSON: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON"];
const CSR_FILE_PACKAGE_WIRE_JSON_WIRE: &[&str] = &["CSR", "FILE", "PACKAGE", "WIRE_JSON", "WIRE"];
const PACKAGE: &[&str] = &["PACKAGE"];
const CSR_WIRE_JSON: &[&str] = &["CSR", "WIRE_JSON"];
const CSR_WIRE_JSON_WIRE: &[&str] = &["CSR", "WIRE_JSON", "WIRE"];
const WIRE: &[&str] = &["WIRE"];

static RULES: &[BreakingRuleInfo] = &[
    rule(
        "EXTENSION_NO_DELETE",
        FILE,
        "Checks that extensions are not deleted from a given file.",
    ),
    rule(
        "SERVICE_NO_DELETE",
        FILE,
        "Checks that services are not deleted from a given file.",
    ),
    rule(
        "ENUM_NO_DELETE",
        CSR_FILE,
        "Checks that enums are not deleted from a given file.",
    ),
    rule(
        "FILE_NO_DELETE",
        CSR_FILE,
        "Checks that files are not deleted.",
    ),
    rule(
        "MESSAGE_NO_DELETE",
        CSR_FILE,
        "Checks that messages are not deleted from a given file.",
    ),
    rule(
        "ENUM_SAME_TYPE",
        FILE_PACKAGE,
        "Checks that enums have the same type (open vs closed).",
    ),
    rule(
        "FIELD_SAME_CARDINALITY",
        FILE_PACKAGE,
        "Checks that fields have the same cardinalities in a given message.",
    ),
    rule(
        "FIELD_SAME_CPP_STRING_TYPE",
        FILE_PACKAGE,
        "Checks that fields have the same C++ string type, based on ctype field option or (pb.cpp).string_type feature.",
    ),
    rule(
        "FIELD_SAME_JAVA_UTF8_VALIDATION",
        FILE_PACKAGE,
        "Checks that fields have the same Java string UTF8 validation, based on java_string_check_utf8 file option or (pb.java).utf8_validation feature.",
    ),
    rule(
        "FIELD_SAME_JSTYPE",
        FILE_PACKAGE,
        "Checks that fields have the same value for the jstype option.",
    ),
    rule(
        "FIELD_SAME_UTF8_VALIDATION",
        FILE_PACKAGE,
        "Checks that string fields have the same UTF8 validation mode.",
    ),
    rule(
        "FILE_SAME_CC_ENABLE_ARENAS",
        FILE_PACKAGE,
        "Checks that files have the same value for the cc_enable_arenas option.",
    ),
    rule(
        "FILE_SAME_CC_GENERIC_SERVICES",
        FILE_PACKAGE,
        "Checks that files have the same value for the cc_generic_services option.",
    ),
    rule(
        "FILE_SAME_CSHARP_NAMESPACE",
        FILE_PACKAGE,
        "Checks that files have the same value for the csharp_namespace option.",
    ),
    rule(
        "FILE_SAME_GO_PACKAGE",
        FILE_PACKAGE,
        "Checks that files have the same value for the go_package option.",
    ),
    rule(
        "FILE_SAME_JAVA_GENERIC_SERVICES",
        FILE_PACKAGE,
        "Checks that files have the same value for the java_generic_services option.",
    ),
    rule(
        "FILE_SAME_JAVA_MULTIPLE_FILES",
        FILE_PACKAGE,
        "Checks that files have the same value for the java_multiple_files option.",
    ),
    rule(
        "FILE_SAME_JAVA_OUTER_CLASSNAME",
        FILE_PACKAGE,
        "Checks that files have the same value for the java_outer_classname option.",
    ),
    rule(
        "FILE_SAME_JAVA_PACKAGE",
        FILE_PACKAGE,
        "Checks that files have the same value for the java_package option.",
    ),
    rule(
        "FILE_SAME_OBJC_CLASS_PREFIX",
        FILE_PACKAGE,
        "Checks that files have the same value for the objc_class_prefix option.",
    ),
    rule(
        "FILE_SAME_OPTIMIZE_FOR",
        FILE_PACKAGE,
        "Checks that files have the same value for the optimize_for option.",
    ),
    rule(
        "FILE_SAME_PHP_CLASS_PREFIX",
        FILE_PACKAGE,
        "Checks that files have the same value for the php_class_prefix option.",
    ),
    rule(
        "FILE_SAME_PHP_METADATA_NAMESPACE",
        FILE_PACKAGE,
        "Checks that files have the same value for the php_metadata_namespace option.",
    ),
    rule(
        "FILE_SAME_PHP_NAMESPACE",
        FILE_PACKAGE,
        "Checks that files have the same value for the php_namespace option.",
    ),
    rule(
        "FILE_SAME_PY_GENERIC_SERVICES",
        FILE_PACKAGE,
        "Checks that files have the same value for the py_generic_services option.",
    ),
    rule(
        "FILE_SAME_RUBY_PACKAGE",
        FILE_PACKAGE,
        "Checks that files have the same value for the ruby_package option.",
    ),
    rule(
        "FILE_SAME_SWIFT_PREFIX",
        FILE_PACKAGE,
        "Checks that files have the same value for the swift_prefix option.",
    ),
    rule(
        "RPC_NO_DELETE",
        FILE_PACKAGE,
        "Checks that rpcs are not deleted from a given service.",
    ),
    rule(
        "ENUM_VALUE_NO_DELETE",
        CSR_FILE_PACKAGE,
        "Checks that enum values are not deleted from a given enum.",
    ),
    rule(
        "EXTENSION_MESSAGE_NO_DELETE",
        CSR_FILE_PACKAGE,
        "Checks that extension ranges are not deleted from a given message.",
    ),
    rule(
        "FIELD_NO_DELETE",
        CSR_FILE_PACKAGE,
        "Checks that fields are not deleted from a given message.",
    ),
    rule(
        "FIELD_SAME_TYPE",
        CSR_FILE_PACKAGE,
        "Checks that fields have the same types in a given message.",
    ),
    rule(
        "FILE_SAME_SYNTAX",
        CSR_FILE_PACKAGE,
        "Checks that files have the same syntax.",
    ),
    rule(
        "MESSAGE_NO_REMOVE_STANDARD_DESCRIPTOR_ACCESSOR",
        CSR_FILE_PACKAGE,
        "Checks that messages do not change the no_standard_descriptor_accessor option from false or unset to true.",
    ),
    rule(
        "ONEOF_NO_DELETE",
        CSR_FILE_PACKAGE,
        "Checks that oneofs are not deleted from a given message.",
    ),
    rule(
        "ENUM_SAME_JSON_FORMAT",
        CSR_FILE_PACKAGE_WIRE_JSON,
        "Checks that enums have the same JSON format support.",
    ),
    rule(
        "ENUM_VALUE_SAME_NAME",
        CSR_FILE_PACKAGE_WIRE_JSON,
        "Checks that enum values have the same name.",
    ),
    rule(
        "FIELD_SAME_JSON_NAME",
        CSR_FILE_PACKAGE_WIRE_JSON,
        "Checks that fields have the same value for the json_name option.",
    ),
    rule(
        "FIELD_SAME_NAME",
        CSR_FILE_PACKAGE_WIRE_JSON,
        "Checks that fields have the same names in a given message.",
    ),
    rule(
        "MESSAGE_SAME_JSON_FORMAT",
        CSR_FILE_PACKAGE_WIRE_JSON,
        "Checks that messages have the same JSON format support.",
    ),
    rule(
        "FIELD_SAME_DEFAULT",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that fields have the same default value, if a default is specified.",
    ),
    rule(
        "FIELD_SAME_ONEOF",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that fields have the same oneofs in a given message.",
    ),
    rule(
        "FILE_SAME_PACKAGE",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that files have the same package.",
    ),
    rule(
        "MESSAGE_SAME_REQUIRED_FIELDS",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that messages have no added or deleted required fields.",
    ),
    rule(
        "RESERVED_ENUM_NO_DELETE",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that reserved ranges and names are not deleted from a given enum.",
    ),
    rule(
        "RESERVED_MESSAGE_NO_DELETE",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that reserved ranges and names are not deleted from a given message.",
    ),
    rule(
        "RPC_SAME_CLIENT_STREAMING",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that rpcs have the same client streaming value.",
    ),
    rule(
        "RPC_SAME_IDEMPOTENCY_LEVEL",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that rpcs have the same value for the idempotency_level option.",
    ),
    rule(
        "RPC_SAME_REQUEST_TYPE",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that rpcs are have the same request type.",
    ),
    rule(
        "RPC_SAME_RESPONSE_TYPE",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that rpcs are have the same response type.",
    ),
    rule(
        "RPC_SAME_SERVER_STREAMING",
        CSR_FILE_PACKAGE_WIRE_JSON_WIRE,
        "Checks that rpcs have the same server streaming value.",
    ),
    rule(
        "PACKAGE_ENUM_NO_DELETE",
        PACKAGE,
        "Checks that enums are not deleted from a given package.",
    ),
    rule(
        "PACKAGE_EXTENSION_NO_DELETE",
        PACKAGE,
        "Checks that extensions are not deleted from a given package.",
    ),
    rule(
        "PACKAGE_MESSAGE_NO_DELETE",
        PACKAGE,
        "Checks that messages are not deleted from a given package.",
    ),
    rule(
        "PACKAGE_NO_DELETE",
        PACKAGE,
        "Checks that packages are not deleted.",
    ),
    rule(
        "PACKAGE_SERVICE_NO_DELETE",
        PACKAGE,
        "Checks that services are not deleted from a given package.",
    ),
    rule(
        "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
        CSR_WIRE_JSON,
        "Checks that enum values are not deleted from a given enum unless the name is reserved.",
    ),
    rule(
        "FIELD_NO_DELETE_UNLESS_NAME_RESERVED",
        CSR_WIRE_JSON,
        "Checks that fields are not deleted from a given message unless the name is reserved.",
    ),
    rule(
        "FIELD_WIRE_JSON_COMPATIBLE_CARDINALITY",
        CSR_WIRE_JSON,
        "Checks that fields have wire and JSON compatible cardinalities in a given message.",
    ),
    rule(
        "FIELD_WIRE_JSON_COMPATIBLE_TYPE",
        CSR_WIRE_JSON,
        "Checks that fields have wire and JSON compatible types in a given message.",
    ),
    rule(
        "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
        CSR_WIRE_JSON_WIRE,
        "Checks that enum values are not deleted from a given enum unless the number is reserved.",
    ),
    rule(
        "FIELD_NO_DELETE_UNLESS_NUMBER_RESERVED",
        CSR_WIRE_JSON_WIRE,
        "Checks that fields are not deleted from a given message unless the number is reserved.",
    ),
    rule(
        "FIELD_WIRE_COMPATIBLE_CARDINALITY",
        WIRE,
        "Checks that fields have wire-compatible cardinalities in a given message.",
    ),
    rule(
        "FIELD_WIRE_COMPATIBLE_TYPE",
        WIRE,
        "Checks that fields have wire-compatible types in a given message.",
    ),
];

/// Every non-deprecated rule buf v1.75 knows, in buf's listing order.
pub fn rules() -> &'static [BreakingRuleInfo] {
    RULES
}

impl BreakingRuleInfo {
    /// Whether the rule exists in a configuration of `version`.
    fn exists_in(&self, version: ConfigVersion) -> bool {
        match version {
            ConfigVersion::V2 => true,
            ConfigVersion::V1 => !NOT_IN_V1.contains(&self.id),
            ConfigVersion::V1Beta1 => {
                !NOT_IN_V1.contains(&self.id) && !NOT_IN_V1BETA1.contains(&self.id)
            }
        }
    }

    /// Whether the rule belongs to `category` in a configuration of
    /// `version` (only v2 has `CSR`; v1beta1 files a few rules elsewhere).
    pub(crate) fn in_category(&self, category: &str, version: ConfigVersion) -> bool {
        let categories = V1BETA1_CATEGORIES
            .iter()
            .find(|(id, _)| version == ConfigVersion::V1Beta1 && *id == self.id)
            .map_or(self.categories, |(_, categories)| *categories);
        self.exists_in(version)
            && categories.contains(&category)
            && !(version != ConfigVersion::V2 && category == CSR)
    }
}

/// Every rule, category and deprecated ID a configuration of `version`
/// accepts.
pub fn known_ids(version: ConfigVersion) -> BTreeSet<&'static str> {
    CATEGORIES
        .iter()
        .copied()
        .chain([CSR])
        .chain(RULES.iter().map(|rule| rule.id))
        .chain(DEPRECATED.iter().map(|(id, _, _)| *id))
        .filter(|id| expand(id, version).is_some())
        .collect()
}

/// The rule IDs a rule, category or deprecated ID names in a configuration
/// of `version`, or `None` when it is none of these.
pub(crate) fn expand(id: &str, version: ConfigVersion) -> Option<BTreeSet<&'static str>> {
    let is_category = CATEGORIES.contains(&id) || (id == CSR && version == ConfigVersion::V2);
    if is_category {
        return Some(
            RULES
                .iter()
                .filter(|rule| rule.in_category(id, version))
                .map(|rule| rule.id)
                .collect(),
        );
    }
    if let Some(rule) = RULES
        .iter()
        .find(|rule| rule.id == id && rule.exists_in(version))
    {
        return Some(BTreeSet::from([rule.id]));
    }
    // v1beta1 accepts v1's deprecated IDs.
    let listed = match version {
        ConfigVersion::V1Beta1 => ConfigVersion::V1,
        version => version,
    };
    DEPRECATED
        .iter()
        .find(|(deprecated, _, in_version)| *deprecated == id && *in_version == listed)
        .map(|(_, replacements, _)| replacements.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_ids_are_what_a_configuration_accepts() {
        let v2 = known_ids(ConfigVersion::V2);
        assert!(v2.is_superset(&BTreeSet::from(["FILE", "CSR", "FIELD_NO_DELETE"])));
        assert!(!known_ids(ConfigVersion::V1).contains("CSR"));
        let v1beta1 = known_ids(ConfigVersion::V1Beta1);
        assert!(!v1beta1.contains("FIELD_WIRE_COMPATIBLE_TYPE") && !v1beta1.contains("CSR"));
        assert!(v1beta1.contains("FIELD_SAME_CTYPE"));
        let wire = expand("WIRE", ConfigVersion::V1Beta1).unwrap();
        assert!(wire.contains("FIELD_SAME_TYPE") && !wire.contains("FILE_SAME_PACKAGE"));
        assert!(v2.iter().all(|id| expand(id, ConfigVersion::V2).is_some()));
        assert!(!v2.contains("NOT_A_RULE"));
    }
}
