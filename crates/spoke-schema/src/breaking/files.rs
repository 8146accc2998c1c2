//! File and package rules: deleted files and packages, elements deleted
//! from a package, and file-wide settings (package, syntax, options).

use std::collections::BTreeSet;

use prost_reflect::prost_types::FileOptions;

use super::{Sink, quote};
use crate::pairing::{Deleted, Element, Identity, Pair, Side, SourceFile, Subject};

pub(super) fn check(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    file_no_delete(sink, pair);
    package_no_delete(sink, pair);
    package_elements_no_delete(sink, pair);
    for (previous, current) in pair.files() {
        file_same_values(sink, previous, current);
    }
}

fn file_no_delete(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    const RULE: &str = "FILE_NO_DELETE";
    if !sink.wants(RULE) {
        return;
    }
    for previous in pair.previous.files() {
        if pair.current.file(previous.path()).is_none() {
            sink.report(
                RULE,
                None,
                Some(previous),
                Subject::previous(Identity::File(previous.path().to_owned())),
                format!(
                    "Previously present file {} was deleted.",
                    quote(previous.path())
                ),
            );
        }
    }
}

fn package_no_delete(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    const RULE: &str = "PACKAGE_NO_DELETE";
    if !sink.wants(RULE) {
        return;
    }
    let kept: BTreeSet<&str> = pair.current.files().map(SourceFile::package).collect();
    let mut reported = BTreeSet::new();
    // Files come by path, so the first of a package is the one buf names.
    for previous in pair.previous.files() {
        let package = previous.package();
        if !kept.contains(package) && reported.insert(package) {
            sink.report(
                RULE,
                None,
                Some(previous),
                Subject::previous(Identity::Package(package.to_owned())),
                format!("Previously present package {} was deleted.", quote(package)),
            );
        }
    }
}

fn package_elements_no_delete(sink: &mut Sink<'_>, pair: &Pair<'_>) {
    use Located::{AtEnclosingMessage, AtFile};
    if sink.wants("PACKAGE_ENUM_NO_DELETE") {
        let deleted = pair.deleted_from_packages(Side::enums);
        let rule = "PACKAGE_ENUM_NO_DELETE";
        report_package_deletions(sink, pair, rule, "enum", AtEnclosingMessage, deleted);
    }
    if sink.wants("PACKAGE_MESSAGE_NO_DELETE") {
        let deleted = pair.deleted_from_packages(Side::messages);
        let rule = "PACKAGE_MESSAGE_NO_DELETE";
        report_package_deletions(sink, pair, rule, "message", AtEnclosingMessage, deleted);
    }
    if sink.wants("PACKAGE_EXTENSION_NO_DELETE") {
        let deleted = pair.deleted_from_packages(Side::extensions);
        let rule = "PACKAGE_EXTENSION_NO_DELETE";
        report_package_deletions(sink, pair, rule, "extension", AtEnclosingMessage, deleted);
    }
    if sink.wants("PACKAGE_SERVICE_NO_DELETE") {
        let deleted = pair.deleted_from_packages(Side::services);
        let rule = "PACKAGE_SERVICE_NO_DELETE";
        report_package_deletions(sink, pair, rule, "service", AtFile, deleted);
    }
}

/// Where buf reports an element deleted from a file that is still there.
#[derive(Clone, Copy)]
enum Located {
    /// At its closest enclosing message that the file still has, else at
    /// the file.
    AtEnclosingMessage,
    /// At the file (services have no enclosing element).
    AtFile,
}

/// Reports each deletion in the file that declared the element when it is
/// still there, else without a location.
fn report_package_deletions<T: Element>(
    sink: &mut Sink<'_>,
    pair: &Pair<'_>,
    rule: &'static str,
    kind: &str,
    located: Located,
    deleted: Vec<Deleted<'_, T>>,
) {
    for Deleted {
        element,
        nested_name,
        previous_file,
        current_file,
    } in deleted
    {
        let place = current_file.map(|file| match located {
            Located::AtFile => file.whole(),
            Located::AtEnclosingMessage => pair.current.deleted_element_place(file, nested_name),
        });
        sink.report(
            rule,
            place,
            previous_file,
            Subject::previous(element.identity()),
            format!(
                "Previously present {kind} {} was deleted from package {}.",
                quote(nested_name),
                quote(element.package())
            ),
        );
    }
}

/// A file-wide value buf compares between the two versions of a file.
struct FileValue {
    rule: &'static str,
    /// What it is: buf's messages read `File {setting} changed from … to ….`
    setting: Setting,
    /// Descriptor path of its declaration in the file.
    source_path: &'static [i32],
    value: fn(&SourceFile<'_>) -> String,
}

/// A file-wide value: a statement (`package`, `syntax`) or a file option,
/// by its name in `FileOptions`.
#[derive(Clone, Copy)]
enum Setting {
    Statement(&'static str),
    Option(&'static str),
}

impl Setting {
    /// As buf's messages name it: `package`, `option "go_package"`.
    fn describe(self) -> String {
        match self {
            Setting::Statement(name) => name.to_owned(),
            Setting::Option(name) => format!("option {}", quote(name)),
        }
    }

    /// What a change of it is about in `file`: the file, or its option.
    fn identity(self, file: &SourceFile<'_>) -> Identity {
        let file = Identity::File(file.path().to_owned());
        match self {
            Setting::Statement(_) => file,
            Setting::Option(name) => file.option(name),
        }
    }
}

/// `FileDescriptorProto.options` and the `FileOptions` field tags.
const OPTIONS: i32 = 8;

fn options(file: &SourceFile<'_>) -> FileOptions {
    file.proto().options.clone().unwrap_or_default()
}

const FILE_VALUES: &[FileValue] = &[
    FileValue {
        rule: "FILE_SAME_PACKAGE",
        setting: Setting::Statement("package"),
        source_path: &[2],
        value: |file| file.package().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_SYNTAX",
        setting: Setting::Statement("syntax"),
        source_path: &[12],
        value: |file| file.syntax().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_JAVA_PACKAGE",
        setting: Setting::Option("java_package"),
        source_path: &[OPTIONS, 1],
        value: |file| options(file).java_package().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_JAVA_OUTER_CLASSNAME",
        setting: Setting::Option("java_outer_classname"),
        source_path: &[OPTIONS, 8],
        value: |file| options(file).java_outer_classname().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_OPTIMIZE_FOR",
        setting: Setting::Option("optimize_for"),
        source_path: &[OPTIONS, 9],
        value: |file| options(file).optimize_for().as_str_name().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_JAVA_MULTIPLE_FILES",
        setting: Setting::Option("java_multiple_files"),
        source_path: &[OPTIONS, 10],
        value: |file| options(file).java_multiple_files().to_string(),
    },
    FileValue {
        rule: "FILE_SAME_GO_PACKAGE",
        setting: Setting::Option("go_package"),
        source_path: &[OPTIONS, 11],
        value: |file| options(file).go_package().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_CC_GENERIC_SERVICES",
        setting: Setting::Option("cc_generic_services"),
        source_path: &[OPTIONS, 16],
        value: |file| options(file).cc_generic_services().to_string(),
    },
    FileValue {
        rule: "FILE_SAME_JAVA_GENERIC_SERVICES",
        setting: Setting::Option("java_generic_services"),
        source_path: &[OPTIONS, 17],
        value: |file| options(file).java_generic_services().to_string(),
    },
    FileValue {
        rule: "FILE_SAME_PY_GENERIC_SERVICES",
        setting: Setting::Option("py_generic_services"),
        source_path: &[OPTIONS, 18],
        value: |file| options(file).py_generic_services().to_string(),
    },
    FileValue {
        rule: "FILE_SAME_CC_ENABLE_ARENAS",
        setting: Setting::Option("cc_enable_arenas"),
        source_path: &[OPTIONS, 31],
        value: |file| options(file).cc_enable_arenas().to_string(),
    },
    FileValue {
        rule: "FILE_SAME_OBJC_CLASS_PREFIX",
        setting: Setting::Option("objc_class_prefix"),
        source_path: &[OPTIONS, 36],
        value: |file| options(file).objc_class_prefix().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_CSHARP_NAMESPACE",
        setting: Setting::Option("csharp_namespace"),
        source_path: &[OPTIONS, 37],
        value: |file| options(file).csharp_namespace().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_SWIFT_PREFIX",
        setting: Setting::Option("swift_prefix"),
        source_path: &[OPTIONS, 39],
        value: |file| options(file).swift_prefix().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_PHP_CLASS_PREFIX",
        setting: Setting::Option("php_class_prefix"),
        source_path: &[OPTIONS, 40],
        value: |file| options(file).php_class_prefix().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_PHP_NAMESPACE",
        setting: Setting::Option("php_namespace"),
        source_path: &[OPTIONS, 41],
        value: |file| options(file).php_namespace().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_PHP_METADATA_NAMESPACE",
        setting: Setting::Option("php_metadata_namespace"),
        source_path: &[OPTIONS, 44],
        value: |file| options(file).php_metadata_namespace().to_owned(),
    },
    FileValue {
        rule: "FILE_SAME_RUBY_PACKAGE",
        setting: Setting::Option("ruby_package"),
        source_path: &[OPTIONS, 45],
        value: |file| options(file).ruby_package().to_owned(),
    },
];

fn file_same_values(sink: &mut Sink<'_>, previous: &SourceFile<'_>, current: &SourceFile<'_>) {
    for FileValue {
        rule,
        setting,
        source_path,
        value,
    } in FILE_VALUES
    {
        if !sink.wants(rule) {
            continue;
        }
        let (before, after) = (value(previous), value(current));
        if before != after {
            sink.report(
                rule,
                Some(current.at(source_path)),
                Some(previous),
                Subject::current(setting.identity(current)),
                format!(
                    "File {} changed from {} to {}.",
                    setting.describe(),
                    quote(&before),
                    quote(&after)
                ),
            );
        }
    }
}
