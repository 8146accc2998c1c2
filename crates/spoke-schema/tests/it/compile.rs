#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Import resolution across modules, well-known types and the image.

use std::process::Command;

use spoke_domain::{DependencyPin, FilePath, ProtoFile};
use spoke_schema::prost::Message;
use spoke_schema::prost_reflect::DescriptorPool;
use spoke_schema::prost_types::FileDescriptorSet;
use spoke_schema::{CompileRequest, DependencyFiles, DiagnosticKind, ImageFile, Provider, compile};

use crate::support;

fn file(path: &str, content: &str) -> ProtoFile {
    ProtoFile {
        path: FilePath::parse(path).unwrap(),
        content: content.to_owned(),
    }
}

fn dependency(pin: &str, files: Vec<ProtoFile>) -> DependencyFiles {
    DependencyFiles {
        pin: DependencyPin::parse(pin).unwrap(),
        files,
    }
}

fn pin(text: &str) -> Provider {
    Provider::Dependency(DependencyPin::parse(text).unwrap())
}

const COMMON: &str = r#"syntax = "proto3";
package common.v1;

message Money {
  string currency = 1;
  int64 units = 2;
}
"#;

const USER: &str = r#"syntax = "proto3";
package user.v1;

import "common/common.proto";

message User {
  string id = 1;
  common.v1.Money balance = 2;
}
"#;

fn paths(files: &[ImageFile]) -> Vec<&str> {
    files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn imports_a_file_of_a_dependency() {
    let request = CompileRequest {
        files: vec![file("user/user.proto", USER)],
        dependencies: vec![dependency(
            "common@v1.0.0",
            vec![
                file("common/common.proto", COMMON),
                file(
                    "common/unused.proto",
                    "syntax = \"proto3\";\nmessage Unused {}\n",
                ),
            ],
        )],
    };
    let compiled = compile(&request).unwrap();
    assert_eq!(
        compiled.files(),
        [
            ImageFile {
                path: "common/common.proto".into(),
                provider: pin("common@v1.0.0"),
            },
            ImageFile {
                path: "user/user.proto".into(),
                provider: Provider::Own,
            },
        ]
    );
    assert_eq!(
        paths(&compiled.roots().cloned().collect::<Vec<_>>()),
        ["user/user.proto"]
    );
    let user = compiled.pool().get_message_by_name("user.v1.User").unwrap();
    let balance = user.get_field_by_name("balance").unwrap();
    assert_eq!(
        balance.kind().as_message().unwrap().full_name(),
        "common.v1.Money"
    );
}

#[test]
fn without_the_dependency_the_import_is_unresolved() {
    let request = CompileRequest {
        files: vec![file("user/user.proto", USER)],
        dependencies: Vec::new(),
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!(d.kind, DiagnosticKind::UnresolvedImport);
    assert_eq!(
        (d.path.as_str(), d.line, d.column),
        ("user/user.proto", 4, 1)
    );
    assert_eq!(d.unresolved_import.as_deref(), Some("common/common.proto"));
    assert!(d.message.contains("common/common.proto"), "{d}");
}

#[test]
fn same_path_with_different_content_in_two_modules_is_ambiguous() {
    let other = COMMON.replace("int64 units = 2;", "int64 cents = 2;");
    let request = CompileRequest {
        files: vec![file("user/user.proto", USER)],
        dependencies: vec![
            dependency("common@v1.0.0", vec![file("common/common.proto", COMMON)]),
            dependency("fork@v2.0.0", vec![file("common/common.proto", &other)]),
        ],
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!(d.kind, DiagnosticKind::AmbiguousImport);
    assert_eq!((d.path.as_str(), d.line), ("user/user.proto", 4));
    assert!(d.message.contains("common@v1.0.0"), "{d}");
    assert!(d.message.contains("fork@v2.0.0"), "{d}");
    assert!(d.unresolved_import.is_none());
}

#[test]
fn same_path_with_identical_content_in_two_modules_is_fine() {
    let request = CompileRequest {
        files: vec![file("user/user.proto", USER)],
        dependencies: vec![
            dependency("common@v1.0.0", vec![file("common/common.proto", COMMON)]),
            dependency("vendored@v3.0.0", vec![file("common/common.proto", COMMON)]),
        ],
    };
    let compiled = compile(&request).unwrap();
    // The first provider in the request is credited.
    assert_eq!(compiled.files()[0].provider, pin("common@v1.0.0"));
}

#[test]
fn own_files_win_over_the_dependency_closure() {
    let own_common = COMMON.replace("package common.v1;", "package common.v1;\n// own copy");
    let request = CompileRequest {
        files: vec![
            file("user/user.proto", USER),
            file("common/common.proto", &own_common),
        ],
        dependencies: vec![dependency(
            "common@v1.0.0",
            vec![file("common/common.proto", COMMON)],
        )],
    };
    let compiled = compile(&request).unwrap();
    assert!(compiled.files().iter().all(|f| f.provider == Provider::Own));
}

#[test]
fn well_known_types_need_no_dependency() {
    let request = CompileRequest {
        files: vec![file(
            "event.proto",
            r#"syntax = "proto3";
package events.v1;

import "google/protobuf/timestamp.proto";
import "google/protobuf/duration.proto";

message Event {
  google.protobuf.Timestamp at = 1;
  google.protobuf.Duration took = 2;
}
"#,
        )],
        dependencies: Vec::new(),
    };
    let compiled = compile(&request).unwrap();
    assert_eq!(
        compiled.files(),
        [
            ImageFile {
                path: "google/protobuf/timestamp.proto".into(),
                provider: Provider::WellKnown,
            },
            ImageFile {
                path: "google/protobuf/duration.proto".into(),
                provider: Provider::WellKnown,
            },
            ImageFile {
                path: "event.proto".into(),
                provider: Provider::Own,
            },
        ]
    );
}

/// A file refused while its options are read leaves the pool as it was:
/// prost-reflect 0.16 alone keeps the refused file's extension of
/// `FieldOptions` (its index past those the next file declares), and
/// reading the next file's field options panicked.
#[test]
fn a_file_refused_for_an_option_value_leaves_the_next_one_linkable() {
    let request = CompileRequest {
        files: vec![
            file(
                "a.proto",
                "syntax = \"proto2\";\n\nimport \"google/protobuf/descriptor.proto\";\n\n\
                 message Rule { optional int32 n = 1; }\n\
                 extend google.protobuf.MessageOptions {\n  optional Rule message_rule = 50001;\n  \
                 optional Rule other = 50003;\n}\n\
                 extend google.protobuf.FieldOptions { optional Rule rule = 50001; }\n\n\
                 message A {\n  option (message_rule) = { nope: 1 };\n}\n",
            ),
            file(
                "b.proto",
                "syntax = \"proto2\";\n\nimport \"google/protobuf/descriptor.proto\";\n\n\
                 extend google.protobuf.FieldOptions { optional int32 mark = 50002; }\n\n\
                 message B {\n  optional int32 b = 1 [(mark) = 1];\n}\n",
            ),
        ],
        dependencies: Vec::new(),
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        (diagnostics[0].path.as_str(), diagnostics[0].line),
        ("a.proto", 13)
    );
}

#[test]
fn a_file_importing_a_broken_file_is_not_reported_twice() {
    let request = CompileRequest {
        files: vec![
            file(
                "a.proto",
                "syntax = \"proto3\";\n\nmessage A {\n  Missing m = 1;\n}\n",
            ),
            file(
                "b.proto",
                "syntax = \"proto3\";\n\nimport \"a.proto\";\n\nmessage B {\n  A a = 1;\n}\n",
            ),
        ],
        dependencies: Vec::new(),
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        (diagnostics[0].path.as_str(), diagnostics[0].line),
        ("a.proto", 4)
    );
}

#[test]
fn an_import_listed_twice_is_rejected() {
    let request = CompileRequest {
        files: vec![file(
            "twice.proto",
            "syntax = \"proto3\";\n\nimport \"google/protobuf/empty.proto\";\nimport \"google/protobuf/empty.proto\";\n",
        )],
        dependencies: Vec::new(),
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    assert_eq!(
        (diagnostics[0].path.as_str(), diagnostics[0].line),
        ("twice.proto", 4)
    );
}

/// Own `api/service.proto` imports `api/types.proto` (own) and
/// `lib/b.proto` (module lib), which imports `lib/c.proto` (module lib) and
/// `google/protobuf/empty.proto`. Module lib has an unused file, and another
/// module of the closure is not imported at all.
fn layered_request() -> CompileRequest {
    CompileRequest {
        files: vec![
            file(
                "api/service.proto",
                r#"syntax = "proto3";
package api.v1;

import "api/types.proto";
import "lib/b.proto";

service Things {
  rpc Get(Thing) returns (lib.v1.B);
}
"#,
            ),
            file(
                "api/types.proto",
                "syntax = \"proto3\";\npackage api.v1;\n\nmessage Thing {\n  string id = 1;\n}\n",
            ),
        ],
        dependencies: vec![
            dependency(
                "lib@v1.2.0",
                vec![
                    file(
                        "lib/b.proto",
                        r#"syntax = "proto3";
package lib.v1;

import "lib/c.proto";
import "google/protobuf/empty.proto";

message B {
  C c = 1;
  google.protobuf.Empty nothing = 2;
}
"#,
                    ),
                    file(
                        "lib/c.proto",
                        "syntax = \"proto3\";\npackage lib.v1;\n\nmessage C {\n  string v = 1;\n}\n",
                    ),
                    file(
                        "lib/unused.proto",
                        "syntax = \"proto3\";\npackage lib.v1;\n\nmessage Unused {}\n",
                    ),
                ],
            ),
            dependency(
                "other@v0.1.0",
                vec![file(
                    "other/o.proto",
                    "syntax = \"proto3\";\npackage other;\n\nmessage O {}\n",
                )],
            ),
        ],
    }
}

#[test]
fn the_image_holds_exactly_the_roots_and_their_transitive_imports() {
    let request = layered_request();
    let compiled = compile(&request).unwrap();
    let expected = [
        "api/types.proto",
        "lib/c.proto",
        "google/protobuf/empty.proto",
        "lib/b.proto",
        "api/service.proto",
    ];
    assert_eq!(paths(compiled.files()), expected);
    assert_eq!(
        compiled
            .files()
            .iter()
            .map(|f| f.provider.clone())
            .collect::<Vec<_>>(),
        [
            Provider::Own,
            pin("lib@v1.2.0"),
            Provider::WellKnown,
            pin("lib@v1.2.0"),
            Provider::Own,
        ]
    );

    // The encoded image decodes to the same files, with source info for
    // the files compiled from source.
    let image = FileDescriptorSet::decode(compiled.image().as_slice()).unwrap();
    let names: Vec<&str> = image.file.iter().map(|f| f.name()).collect();
    assert_eq!(names, expected);
    for f in &image.file {
        if !f.name().starts_with("google/") {
            assert!(
                f.source_code_info.is_some(),
                "{} has no source info",
                f.name()
            );
        }
    }
    assert_eq!(compiled.file_descriptor_set().file.len(), expected.len());

    // Every file comes after the files it imports.
    for (i, f) in image.file.iter().enumerate() {
        for dependency in &f.dependency {
            let at = names.iter().position(|n| n == dependency).unwrap();
            assert!(at < i, "{} precedes its import {dependency}", f.name());
        }
    }
}

#[test]
fn the_image_matches_protoc_include_imports() {
    if !support::protoc_available() {
        return;
    }
    let well_known = support::WELL_KNOWN_INCLUDE;
    let request = layered_request();
    let dir = tempfile::tempdir().unwrap();
    for f in request
        .files
        .iter()
        .chain(request.dependencies.iter().flat_map(|d| &d.files))
    {
        let path = dir.path().join(f.path.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &f.content).unwrap();
    }
    let out = dir.path().join("image.binpb");
    let status = Command::new("protoc")
        .arg(format!("-I{}", dir.path().display()))
        .arg(format!("-I{well_known}"))
        .arg("--include_imports")
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(request.files.iter().map(|f| f.path.as_str()))
        .status()
        .unwrap();
    assert!(status.success());
    let protoc = FileDescriptorSet::decode(std::fs::read(out).unwrap().as_slice()).unwrap();
    let protoc_names: Vec<&str> = protoc.file.iter().map(|f| f.name()).collect();

    let compiled = compile(&request).unwrap();
    assert_eq!(paths(compiled.files()), protoc_names);
}

#[test]
fn custom_options_survive_in_the_image() {
    let request = CompileRequest {
        files: vec![
            file(
                "opts/options.proto",
                r#"syntax = "proto3";
package opts;

import "google/protobuf/descriptor.proto";

extend google.protobuf.FieldOptions {
  string label = 50001;
}
"#,
            ),
            file(
                "opts/use.proto",
                r#"syntax = "proto3";
package opts;

import "opts/options.proto";

message Tagged {
  string id = 1 [(opts.label) = "primary"];
}
"#,
            ),
        ],
        dependencies: Vec::new(),
    };
    let compiled = compile(&request).unwrap();
    let pool = DescriptorPool::decode(compiled.image().as_slice()).unwrap();
    let field = pool
        .get_message_by_name("opts.Tagged")
        .unwrap()
        .get_field_by_name("id")
        .unwrap();
    let extension = pool.get_extension_by_name("opts.label").unwrap();
    let options = field.options();
    assert_eq!(options.get_extension(&extension).as_str(), Some("primary"));
}

#[test]
fn an_error_in_a_dependency_file_names_the_module_version() {
    let request = CompileRequest {
        files: vec![file("user/user.proto", USER)],
        dependencies: vec![dependency(
            "common@v1.0.0",
            vec![file(
                "common/common.proto",
                &COMMON.replace("int64 units = 2;", "Unknown units = 2;"),
            )],
        )],
    };
    let diagnostics = compile(&request).unwrap_err();
    assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
    let d = &diagnostics[0];
    assert_eq!((d.path.as_str(), d.line), ("common/common.proto", 6));
    assert!(d.message.ends_with("(in common@v1.0.0)"), "{d}");
}

#[test]
fn an_empty_request_compiles_to_an_empty_image() {
    let compiled = compile(&CompileRequest::default()).unwrap();
    assert!(compiled.files().is_empty());
    assert!(
        FileDescriptorSet::decode(compiled.image().as_slice())
            .unwrap()
            .file
            .is_empty()
    );
}

/// The first diagnostic of compiling `content` as `a.proto`.
fn first_error(content: &str) -> (u32, u32, String) {
    let request = CompileRequest {
        files: vec![file("a.proto", content)],
        dependencies: vec![],
    };
    let diagnostics = compile(&request).expect_err("does not compile");
    let first = &diagnostics[0];
    (first.line, first.column, first.message.clone())
}

#[test]
fn nesting_past_the_limits_is_a_located_error_not_a_crash() {
    let messages = |depth: usize| {
        format!(
            "syntax = \"proto3\";\n{}{}",
            "message M {\n".repeat(depth),
            "}\n".repeat(depth)
        )
    };
    let within = CompileRequest {
        files: vec![file("a.proto", &messages(spoke_schema::MAX_MESSAGE_DEPTH))],
        dependencies: vec![],
    };
    assert!(compile(&within).is_ok());
    let (line, column, message) = first_error(&messages(100_000));
    assert_eq!((line, column), (33, 11));
    assert!(
        message.contains("maximum recursion limit for nested messages"),
        "{message}"
    );

    let literal = format!(
        "syntax = \"proto2\";\nimport \"google/protobuf/descriptor.proto\";\n\
         message M {{ optional M m = 1; }}\n\
         extend google.protobuf.FileOptions {{ optional M o = 50000; }}\n\
         option (o) = {}{{}}{};\n",
        "{m: ".repeat(100_000),
        "}".repeat(100_000)
    );
    let (line, _, message) = first_error(&literal);
    assert_eq!(line, 5);
    assert!(
        message.contains("option value nested too deeply"),
        "{message}"
    );
}

#[test]
fn package_names_are_bounded_like_protoc() {
    let package = |name: String| format!("syntax = \"proto3\";\npackage {name};\nmessage M {{}}\n");
    let deepest = vec!["p"; spoke_schema::MAX_PACKAGE_COMPONENTS].join(".");
    let within = CompileRequest {
        files: vec![file("a.proto", &package(deepest.clone()))],
        dependencies: vec![],
    };
    assert!(compile(&within).is_ok());
    let (line, column, message) = first_error(&package(format!("{deepest}.p")));
    assert_eq!((line, column), (2, 1));
    assert!(
        message.starts_with("Exceeds Maximum Package Depth"),
        "{message}"
    );
    let (_, _, message) = first_error(&package("p".repeat(512)));
    assert!(message.starts_with("Package name is too long"), "{message}");
    // Rejected before linking: 100,000 components answer at once.
    let (_, _, message) = first_error(&package(vec!["p"; 100_000].join(".")));
    assert!(message.starts_with("Package name is too long"), "{message}");
}
