#![allow(clippy::unwrap_used, clippy::expect_used)]
//! One small invalid file per class of error, each rejected with a
//! diagnostic at the file and line protoc reports. When `protoc` is installed
//! the expected lines are checked against it too.

use std::path::Path;
use std::process::Command;

use spoke_domain::{FilePath, ProtoFile};
use spoke_schema::{CompileRequest, Diagnostic, DiagnosticKind, compile};

use crate::support;

struct Case {
    class: &'static str,
    /// The version's own files, all under `tests/corpus/<dir>/`.
    dir: &'static str,
    files: &'static [&'static str],
    /// Every diagnostic expected: (path, line, kind).
    expect: &'static [(&'static str, u32, DiagnosticKind)],
    /// What protoc reports for each expected diagnostic: its line, or `None`
    /// where protoc names the file without a line.
    protoc_lines: &'static [Option<u32>],
}

use DiagnosticKind::{ImportCycle, Semantic, Syntax, UnresolvedImport};

const CASES: &[Case] = &[
    Case {
        class: "syntax error",
        dir: "invalid",
        files: &["syntax_error.proto"],
        expect: &[("syntax_error.proto", 6, Syntax)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "unknown type",
        dir: "invalid",
        files: &["unknown_type.proto"],
        expect: &[("unknown_type.proto", 6, Semantic)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "duplicate field number",
        dir: "invalid",
        files: &["duplicate_field_number.proto"],
        expect: &[("duplicate_field_number.proto", 6, Semantic)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "field number 0",
        dir: "invalid",
        files: &["field_number_zero.proto"],
        expect: &[("field_number_zero.proto", 5, Syntax)],
        protoc_lines: &[Some(5)],
    },
    Case {
        class: "field number in 19000-19999",
        dir: "invalid",
        files: &["field_number_reserved_range.proto"],
        expect: &[("field_number_reserved_range.proto", 6, Semantic)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "reserved number used",
        dir: "invalid",
        files: &["reserved_number.proto"],
        expect: &[("reserved_number.proto", 7, Semantic)],
        // protoc reports this one against the file, without a line.
        protoc_lines: &[None],
    },
    Case {
        class: "reserved field name used",
        dir: "invalid",
        files: &["reserved_name.proto"],
        expect: &[("reserved_name.proto", 7, Semantic)],
        protoc_lines: &[Some(7)],
    },
    Case {
        class: "reserved enum value name used",
        dir: "invalid",
        files: &["reserved_enum_value_name.proto"],
        expect: &[("reserved_enum_value_name.proto", 7, Semantic)],
        protoc_lines: &[Some(7)],
    },
    Case {
        class: "duplicate message names",
        dir: "invalid",
        files: &["duplicate_message.proto"],
        expect: &[("duplicate_message.proto", 8, Semantic)],
        protoc_lines: &[Some(8)],
    },
    Case {
        class: "duplicate enum value number",
        dir: "invalid",
        files: &["duplicate_enum_value.proto"],
        expect: &[("duplicate_enum_value.proto", 7, Semantic)],
        protoc_lines: &[Some(7)],
    },
    Case {
        class: "proto3 enum whose first value is not 0",
        dir: "invalid",
        files: &["enum_first_not_zero.proto"],
        expect: &[("enum_first_not_zero.proto", 5, Semantic)],
        protoc_lines: &[Some(5)],
    },
    Case {
        class: "unknown option",
        dir: "invalid",
        files: &["unknown_option.proto"],
        expect: &[("unknown_option.proto", 4, Semantic)],
        protoc_lines: &[Some(4)],
    },
    Case {
        class: "import cycle",
        dir: "invalid",
        files: &["cycle_a.proto", "cycle_b.proto"],
        expect: &[
            ("cycle_a.proto", 4, ImportCycle),
            ("cycle_b.proto", 4, ImportCycle),
        ],
        protoc_lines: &[Some(4), Some(4)],
    },
    Case {
        class: "file importing itself",
        dir: "invalid",
        files: &["self_import.proto"],
        expect: &[("self_import.proto", 4, ImportCycle)],
        protoc_lines: &[Some(4)],
    },
    Case {
        class: "missing import",
        dir: "invalid",
        files: &["missing_import.proto"],
        expect: &[("missing_import.proto", 4, UnresolvedImport)],
        protoc_lines: &[Some(4)],
    },
    Case {
        class: "optional on a map field",
        dir: "invalid",
        files: &["optional_map.proto"],
        expect: &[("optional_map.proto", 6, Syntax)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "required in proto3",
        dir: "invalid",
        files: &["proto3_required.proto"],
        expect: &[("proto3_required.proto", 5, Syntax)],
        protoc_lines: &[Some(5)],
    },
    Case {
        class: "float map key",
        dir: "invalid",
        files: &["map_key_float.proto"],
        expect: &[("map_key_float.proto", 6, Syntax)],
        protoc_lines: &[Some(6)],
    },
    Case {
        class: "message map key",
        dir: "invalid",
        files: &["map_key_message.proto"],
        expect: &[("map_key_message.proto", 9, Syntax)],
        protoc_lines: &[Some(9)],
    },
    Case {
        class: "several link errors in one file",
        dir: "multi",
        files: &["many_errors.proto"],
        expect: &[
            ("many_errors.proto", 5, Semantic),
            ("many_errors.proto", 7, Semantic),
            ("many_errors.proto", 8, Semantic),
            ("many_errors.proto", 13, Semantic),
            ("many_errors.proto", 14, Semantic),
        ],
        protoc_lines: &[Some(5), Some(7), Some(8), None, Some(14)],
    },
    Case {
        class: "several syntax errors in one file",
        dir: "multi",
        files: &["syntax_errors.proto"],
        expect: &[
            ("syntax_errors.proto", 6, Syntax),
            ("syntax_errors.proto", 10, Syntax),
        ],
        protoc_lines: &[Some(6), Some(10)],
    },
];

fn corpus_dir(dir: &str) -> String {
    format!("{}/tests/corpus/{dir}", env!("CARGO_MANIFEST_DIR"))
}

fn request(case: &Case) -> CompileRequest {
    let dir = corpus_dir(case.dir);
    CompileRequest {
        files: case
            .files
            .iter()
            .map(|f| ProtoFile {
                path: FilePath::parse(f).unwrap(),
                content: std::fs::read_to_string(Path::new(&dir).join(f)).unwrap(),
            })
            .collect(),
        dependencies: Vec::new(),
    }
}

fn diagnostics(case: &Case) -> Vec<Diagnostic> {
    match compile(&request(case)) {
        Ok(_) => panic!("{}: compiled, but should have been rejected", case.class),
        Err(diagnostics) => diagnostics,
    }
}

#[test]
fn every_class_is_rejected_at_the_expected_file_and_line() {
    for case in CASES {
        let diagnostics = diagnostics(case);
        let got: Vec<(&str, u32, DiagnosticKind)> = diagnostics
            .iter()
            .map(|d| (d.path.as_str(), d.line, d.kind))
            .collect();
        assert_eq!(
            got,
            case.expect,
            "{}: got {:#?}",
            case.class,
            diagnostics
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
        );
        for d in &diagnostics {
            assert!(d.column >= 1, "{}: column must be 1-based: {d}", case.class);
            assert!(!d.message.is_empty(), "{}: empty message", case.class);
        }
    }
}

#[test]
fn missing_import_names_the_import() {
    let case = CASES.iter().find(|c| c.class == "missing import").unwrap();
    let diagnostics = diagnostics(case);
    assert_eq!(
        diagnostics[0].unresolved_import.as_deref(),
        Some("does/not/exist.proto")
    );
    assert!(diagnostics[0].message.contains("does/not/exist.proto"));
    assert_eq!(
        diagnostics[0].column, 1,
        "at the start of the import statement"
    );
}

#[test]
fn two_broken_files_give_a_diagnostic_each() {
    let dir = corpus_dir("invalid");
    let file = |name: &str| ProtoFile {
        path: FilePath::parse(name).unwrap(),
        content: std::fs::read_to_string(Path::new(&dir).join(name)).unwrap(),
    };
    let request = CompileRequest {
        files: vec![
            file("syntax_error.proto"),
            file("unknown_type.proto"),
            file("duplicate_field_number.proto"),
        ],
        dependencies: Vec::new(),
    };
    let diagnostics = compile(&request).unwrap_err();
    let paths: Vec<&str> = diagnostics.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "duplicate_field_number.proto",
            "syntax_error.proto",
            "unknown_type.proto"
        ]
    );
}

/// One reported error line of protoc: (path, line if any, message).
fn protoc_errors(dir: &str, files: &[&str]) -> Option<Vec<(String, Option<u32>, String)>> {
    let output = Command::new("protoc")
        .arg(format!("-I{dir}"))
        .arg("--descriptor_set_out=/dev/null")
        .args(files)
        .output()
        .ok()?;
    assert!(!output.status.success(), "protoc accepted {files:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    Some(
        stderr
            .lines()
            .filter_map(|line| {
                let (path, rest) = line.split_once(':')?;
                let mut parts = rest.splitn(3, ':');
                let first = parts.next()?;
                match first.parse::<u32>() {
                    Ok(n) => {
                        let _column = parts.next()?;
                        Some((path.to_owned(), Some(n), parts.next()?.trim().to_owned()))
                    }
                    Err(_) => Some((path.to_owned(), None, rest.trim().to_owned())),
                }
            })
            .collect(),
    )
}

#[test]
fn expected_lines_match_protoc() {
    if !support::protoc_available() {
        return;
    }
    for case in CASES {
        let errors = protoc_errors(&corpus_dir(case.dir), case.files).unwrap();
        assert_eq!(case.expect.len(), case.protoc_lines.len(), "{}", case.class);
        for ((path, line, _), protoc_line) in case.expect.iter().zip(case.protoc_lines) {
            let found = errors.iter().any(|(p, l, _)| p == path && l == protoc_line);
            assert!(
                found,
                "{}: protoc does not report {path}:{protoc_line:?}; it reports {errors:#?}",
                case.class
            );
            if let Some(protoc_line) = protoc_line {
                assert_eq!(
                    line, protoc_line,
                    "{}: line differs from protoc",
                    case.class
                );
            }
        }
    }
}
