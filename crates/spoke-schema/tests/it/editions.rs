//! Protobuf Editions: each case of `testdata/editions/valid` compiles to the
//! FileDescriptorProtos `buf build` writes (source info included), and each
//! file of `testdata/editions/invalid` is refused with buf's errors, at
//! buf's line and column, with buf's message.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use spoke_domain::{DependencyPin, ProtoFile};
use spoke_schema::{
    CompileRequest, Compiled, DependencyFiles, Diagnostic, Edition, ImageOptions, compile,
};

use crate::buf;

const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/editions");

/// The case directories (or files) under `testdata/editions/<kind>`, sorted.
fn entries(kind: &str) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join(kind))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    entries.sort();
    assert!(!entries.is_empty(), "no {kind} editions cases");
    entries
}

/// A valid case: `own/` is the version's files, `dep/` (if any) one
/// dependency module of its closure.
fn request(case: &Path) -> CompileRequest {
    let dep = case.join("dep");
    CompileRequest {
        files: buf::proto_files(&case.join("own")),
        dependencies: if dep.is_dir() {
            vec![DependencyFiles {
                pin: DependencyPin::parse("dep@v1.0.0").unwrap(),
                files: buf::proto_files(&dep),
            }]
        } else {
            Vec::new()
        },
    }
}

/// Runs `buf build` on a workspace of `modules` (name, files) and returns
/// its exit code, stderr and the image it wrote.
fn buf_build(buf: &Path, modules: &[(&str, &[ProtoFile])]) -> (i32, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let mut yaml = String::from("version: v2\nmodules:\n");
    for (name, files) in modules {
        yaml.push_str(&format!("  - path: {name}\n"));
        for file in *files {
            let path = dir.path().join(name).join(file.path.as_str());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &file.content).unwrap();
        }
    }
    std::fs::write(dir.path().join("buf.yaml"), yaml).unwrap();
    let output = Command::new(buf)
        .args(["build", "-o", "image.binpb"])
        .current_dir(dir.path())
        .env("BUF_CACHE_DIR", dir.path().join(".cache"))
        .output()
        .unwrap();
    let image = std::fs::read(dir.path().join("image.binpb")).unwrap_or_default();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        image,
    )
}

/// Each file of an image in JSON, by name, without the well-known types
/// (buf's descriptor.proto is newer than the bundled one) and buf's image
/// extension.
fn files_json(json: &str) -> Vec<(String, Value)> {
    let image: Value = serde_json::from_str(json).unwrap();
    image["file"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|file| {
            let name = file["name"].as_str().unwrap().to_owned();
            let mut file = file.clone();
            file.as_object_mut().unwrap().remove("bufExtension");
            (!name.starts_with("google/protobuf/")).then_some((name, file))
        })
        .collect()
}

fn compiled(case: &Path) -> Compiled {
    compile(&request(case)).unwrap_or_else(|diagnostics| {
        let lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
        panic!("{} does not compile:\n{}", case.display(), lines.join("\n"))
    })
}

#[test]
fn valid_cases_compile_with_their_editions() {
    for case in entries("valid") {
        compiled(&case);
    }
    let features = compiled(&Path::new(ROOT).join("valid/features_2023"));
    assert_eq!(features.edition("features.proto"), Edition::E2023);
    let e2024 = compiled(&Path::new(ROOT).join("valid/edition_2024"));
    assert_eq!(e2024.edition("e2024.proto"), Edition::E2024);
    // Edition 2024's visibility and `import option` reach the image.
    let visibility = compiled(&Path::new(ROOT).join("valid/visibility_2024"))
        .image_json_with(ImageOptions::default())
        .unwrap();
    let vis = files_json(&visibility)
        .into_iter()
        .find(|(name, _)| name == "vis/v1/vis.proto")
        .unwrap()
        .1;
    assert_eq!(vis["visibility"], Value::Null);
    assert_eq!(vis["messageType"][0]["visibility"], "VISIBILITY_EXPORT");
    assert_eq!(
        vis["messageType"][0]["nestedType"][0]["visibility"],
        "VISIBILITY_LOCAL"
    );
    assert_eq!(vis["enumType"][0]["visibility"], "VISIBILITY_LOCAL");
    assert_eq!(
        vis["dependency"],
        serde_json::json!(["shared/v1/shared.proto"])
    );
    assert_eq!(
        vis["optionDependency"],
        serde_json::json!(["google/protobuf/cpp_features.proto"])
    );
    // What reads the pool's imports (lint, references) sees no option
    // import among them.
    let pool = compiled(&Path::new(ROOT).join("valid/visibility_2024"));
    let imports: Vec<String> = pool
        .pool()
        .get_file_by_name("vis/v1/vis.proto")
        .unwrap()
        .dependencies()
        .map(|f| f.name().to_owned())
        .collect();
    assert_eq!(imports, ["shared/v1/shared.proto"]);
    let mixed = compiled(&Path::new(ROOT).join("valid/mixed"));
    let editions: Vec<(&str, Edition)> = [
        "app/v1/app.proto",
        "app/v1/shared.proto",
        "modern/v1/modern.proto",
        "legacy/v1/legacy.proto",
    ]
    .into_iter()
    .map(|path| (path, mixed.edition(path)))
    .collect();
    assert_eq!(
        editions,
        [
            ("app/v1/app.proto", Edition::Proto3),
            ("app/v1/shared.proto", Edition::E2023),
            ("modern/v1/modern.proto", Edition::E2023),
            ("legacy/v1/legacy.proto", Edition::Proto2),
        ]
    );
}

/// A stored image read back writes the same image: what the pool cannot
/// hold of editions files (visibility, option imports, repeated legacy
/// JSON names) is kept beside it.
#[test]
fn images_read_back_are_written_again_unchanged() {
    for case in entries("valid") {
        let compiled = compiled(&case);
        let own: std::collections::BTreeSet<String> =
            compiled.roots().map(|f| f.path.clone()).collect();
        let image = compiled.image();
        let decoded = Compiled::from_image(&image, &own).unwrap();
        assert!(decoded.image() == image, "{}", case.display());
        // The pool holds a repeated JSON name under the placeholder a
        // compilation gives it, so both check alike.
        let json_names = |compiled: &Compiled| -> Vec<String> {
            compiled
                .pool()
                .all_messages()
                .filter(|m| !m.full_name().starts_with("google.protobuf."))
                .flat_map(|m| m.fields().collect::<Vec<_>>())
                .map(|f| format!("{} {}", f.full_name(), f.json_name()))
                .collect()
        };
        assert_eq!(
            json_names(&decoded),
            json_names(&compiled),
            "{}",
            case.display()
        );
    }
}

/// Language features resolve from the nearest element that sets them,
/// else from their definition's default for the file's edition; proto2
/// files from the options editions replaced.
#[test]
fn language_features_resolve_at_every_level() {
    use spoke_schema::editions::language::Element;
    let compiled = compiled(&Path::new(ROOT).join("valid/language_features"));
    let pool = compiled.pool();
    let field = |name: &str| {
        Element::Field(
            pool.get_message_by_name(name.rsplit_once('.').unwrap().0)
                .unwrap()
                .get_field_by_name(name.rsplit_once('.').unwrap().1)
                .unwrap(),
        )
    };
    let number = |element: &Element, extension: &str, feature: &str| {
        compiled
            .language_feature(element, extension, feature)
            .unwrap_or_else(|| panic!("{feature} of {element:?}"))
            .as_enum_number()
            .unwrap()
    };
    // CppFeatures.StringType: VIEW 1, CORD 2, STRING 3.
    assert_eq!(
        number(&field("lang.v1.Text.plain"), "pb.cpp", "string_type"),
        2
    );
    assert_eq!(
        number(&field("lang.v1.Text.viewed"), "pb.cpp", "string_type"),
        1
    );
    assert_eq!(
        number(&field("lang.v1.Modern.text"), "pb.cpp", "string_type"),
        1
    );
    assert_eq!(
        number(&field("lang.v1.Modern.piece"), "pb.cpp", "string_type"),
        3
    );
    assert_eq!(
        number(&field("lang.v1.Legacy.cord"), "pb.cpp", "string_type"),
        2
    );
    assert_eq!(
        number(&field("lang.v1.Legacy.plain"), "pb.cpp", "string_type"),
        3
    );
    // Edition 2023's `ctype = CORD` is CORD unless the field sets the
    // feature; other `ctype`s leave it alone (as protoc infers them).
    assert_eq!(
        number(&field("lang.v1.Cords.cord"), "pb.cpp", "string_type"),
        2
    );
    assert_eq!(
        number(&field("lang.v1.Cords.piece"), "pb.cpp", "string_type"),
        3
    );
    assert_eq!(
        number(&field("lang.v1.Cords.viewed"), "pb.cpp", "string_type"),
        1
    );
    assert_eq!(
        number(&field("lang.v1.Cords.plain"), "pb.cpp", "string_type"),
        3
    );
    // JavaFeatures.Utf8Validation: DEFAULT 1, VERIFY 2.
    assert_eq!(
        number(&field("lang.v1.Text.plain"), "pb.java", "utf8_validation"),
        2
    );
    assert_eq!(
        number(&field("lang.v1.Text.picked"), "pb.java", "utf8_validation"),
        1
    );
    assert_eq!(
        number(&field("lang.v1.Legacy.plain"), "pb.java", "utf8_validation"),
        2
    );
    // GoFeatures.APILevel: OPEN 1, HYBRID 2, OPAQUE 3.
    let message = |name: &str| Element::Message(pool.get_message_by_name(name).unwrap());
    let file = |name: &str| Element::File(pool.get_file_by_name(name).unwrap());
    assert_eq!(number(&file("lang/v1/lang.proto"), "pb.go", "api_level"), 2);
    assert_eq!(number(&message("lang.v1.Text"), "pb.go", "api_level"), 1);
    assert_eq!(number(&message("lang.v1.Modern"), "pb.go", "api_level"), 3);
    // GoFeatures.StripEnumPrefix: KEEP 1, STRIP 3.
    let level = pool.get_enum_by_name("lang.v1.Level").unwrap();
    let value = |name: &str| Element::EnumValue(level.get_value_by_name(name).unwrap());
    assert_eq!(
        number(&value("LEVEL_UNSPECIFIED"), "pb.go", "strip_enum_prefix"),
        3
    );
    assert_eq!(
        number(&value("LEVEL_HIGH"), "pb.go", "strip_enum_prefix"),
        1
    );
    let kind = Element::Enum(pool.get_enum_by_name("lang.v1.Kind").unwrap());
    let legacy_json = compiled.language_feature(&kind, "pb.go", "legacy_unmarshal_json_enum");
    assert_eq!(legacy_json.and_then(|v| v.as_bool()), Some(true));
    assert!(compiled.language_feature(&kind, "pb.nope", "x").is_none());
}

#[test]
fn valid_cases_match_buf_build() {
    let Some(buf) = buf::buf() else { return };
    let mut mismatches = Vec::new();
    for case in entries("valid") {
        let request = request(&case);
        let dep_files: Vec<ProtoFile> = request
            .dependencies
            .iter()
            .flat_map(|d| d.files.clone())
            .collect();
        let mut modules: Vec<(&str, &[ProtoFile])> = vec![("own", &request.files)];
        if !dep_files.is_empty() {
            modules.push(("dep", &dep_files));
        }
        let (code, stderr, image) = buf_build(&buf, &modules);
        assert_eq!(code, 0, "buf build {}: {stderr}", case.display());
        let theirs = files_json(&spoke_schema::image_json(&image).unwrap());
        let ours = files_json(
            &compiled(&case)
                .image_json_with(ImageOptions::default())
                .unwrap(),
        );
        let names = |files: &[(String, Value)]| -> Vec<String> {
            let mut names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
            names.sort();
            names
        };
        assert_eq!(names(&ours), names(&theirs), "{}", case.display());
        for (name, theirs) in &theirs {
            let ours = &ours.iter().find(|(n, _)| n == name).unwrap().1;
            let editions = theirs["syntax"] == "editions";
            let (ours, theirs) = (comparable(ours, editions), comparable(theirs, editions));
            if ours != theirs {
                mismatches.push(format!(
                    "{} {name}:\nspoke: {}\nbuf:   {}",
                    case.display(),
                    serde_json::to_string_pretty(&ours).unwrap(),
                    serde_json::to_string_pretty(&theirs).unwrap()
                ));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// A file's JSON as compared: the descriptor whole; the source info of an
/// editions file (that of proto2 and proto3 files is the existing
/// front-end's, not under test here) without the differences protox (like
/// protoc) and buf 1.75 have in every syntax:
/// - buf ends no trailing comment with its newline;
/// - buf spans a field's `default` and `json_name` pseudo-options from the
///   option name, protox from the value (only the end is compared), and
///   protox locates `json_name` twice (the option, then its value);
/// - buf writes no location for a field's `[…]` when it holds only
///   pseudo-options;
/// - custom options: buf locates each field of an aggregate value and
///   spans the option from its name (locations under extension numbers are
///   left out).
fn comparable(file: &Value, editions: bool) -> Value {
    let mut file = file.clone();
    let object = file.as_object_mut().unwrap();
    let info = object.remove("sourceCodeInfo");
    if !editions {
        return file;
    }
    let locations = info.unwrap()["location"].as_array().unwrap().clone();
    let path_of = |l: &Value| -> Vec<i64> {
        l["path"]
            .as_array()
            .map(|p| p.iter().map(|n| n.as_i64().unwrap()).collect())
            .unwrap_or_default()
    };
    let paths: Vec<Vec<i64>> = locations.iter().map(path_of).collect();
    let is_field = |p: &[i64]| p.len() >= 3 && matches!(p[p.len() - 3], 2 | 6 | 7);
    let mut pseudo_seen = std::collections::HashSet::new();
    let kept: Vec<Value> = locations
        .iter()
        .filter_map(|location| {
            let path = path_of(location);
            if path.iter().any(|n| *n >= 1000) {
                return None;
            }
            let (last, parent) = path.split_last().map_or((0, &[][..]), |(l, p)| (*l, p));
            if last == 8
                && is_field(
                    &path[..path.len() - 1]
                        .iter()
                        .copied()
                        .chain([0])
                        .collect::<Vec<_>>(),
                )
                && !paths
                    .iter()
                    .any(|p| p.len() > path.len() && p.starts_with(&path))
            {
                return None;
            }
            let mut location = location.clone();
            if let Some(trailing) = location.get_mut("trailingComments") {
                *trailing = Value::from(trailing.as_str().unwrap().trim_end_matches('\n'));
            }
            if matches!(last, 7 | 10) && is_field(&[parent, &[0]].concat()) {
                if !pseudo_seen.insert(path.clone()) {
                    return None;
                }
                // The end: its line and column.
                let span = location["span"].as_array().unwrap().clone();
                let end_line = if span.len() == 4 { &span[2] } else { &span[0] };
                location["span"] =
                    Value::from(vec![end_line.clone(), span[span.len() - 1].clone()]);
            }
            Some(location)
        })
        .collect();
    object.insert(
        "sourceCodeInfo".to_owned(),
        serde_json::json!({ "location": kept }),
    );
    file
}

/// `path:line:column: message` for each diagnostic, sorted.
fn rendered(diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut lines: Vec<String> = diagnostics.iter().map(ToString::to_string).collect();
    lines.sort();
    lines
}

/// The invalid files: each is one module of its own, named by the file.
fn invalid_files() -> Vec<ProtoFile> {
    let files = buf::proto_files(&Path::new(ROOT).join("invalid"));
    assert!(!files.is_empty());
    files
}

#[test]
fn invalid_files_are_refused_where_buf_refuses_them() {
    let buf = buf::buf();
    let mut mismatches = Vec::new();
    for file in invalid_files() {
        let ours = match compile(&CompileRequest {
            files: vec![file.clone()],
            dependencies: Vec::new(),
        }) {
            Ok(_) => panic!("{} compiles", file.path),
            Err(diagnostics) => rendered(&diagnostics),
        };
        let expected = expected_errors(&file);
        if ours != expected {
            mismatches.push(format!(
                "{}:\nspoke:    {ours:#?}\nexpected: {expected:#?}",
                file.path
            ));
        }
        let Some(buf) = &buf else { continue };
        let (code, stderr, _) = buf_build(buf, &[(".", std::slice::from_ref(&file))]);
        assert_ne!(code, 0, "buf accepts {}", file.path);
        let mut theirs: Vec<String> = stderr
            .lines()
            .filter(|line| line.starts_with(file.path.as_str()))
            .map(|line| {
                // buf writes `path:line:column:message`.
                let mut parts = line.splitn(4, ':');
                let (path, line, column) = (parts.next(), parts.next(), parts.next());
                let message = parts.next().unwrap_or_default();
                format!(
                    "{}:{}:{}: {message}",
                    path.unwrap(),
                    line.unwrap(),
                    column.unwrap()
                )
            })
            .collect();
        theirs.sort();
        assert_eq!(
            expected, theirs,
            "the expectations of {} are not buf's",
            file.path
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// Each case of `testdata/editions/invalid_modules` is one module whose
/// files are refused together (a use in one file of a symbol another
/// declares local), each file's expected errors at its end.
#[test]
fn invalid_modules_are_refused_where_buf_refuses_them() {
    let buf = buf::buf();
    let mut mismatches = Vec::new();
    for case in entries("invalid_modules") {
        let files = buf::proto_files(&case);
        let ours = match compile(&CompileRequest {
            files: files.clone(),
            dependencies: Vec::new(),
        }) {
            Ok(_) => panic!("{} compiles", case.display()),
            Err(diagnostics) => rendered(&diagnostics),
        };
        let mut expected: Vec<String> = files
            .iter()
            .flat_map(|file| {
                file.content
                    .lines()
                    .filter_map(|line| line.strip_prefix("// error: "))
                    .map(|error| format!("{}:{error}", file.path))
                    .collect::<Vec<_>>()
            })
            .collect();
        expected.sort();
        if ours != expected {
            mismatches.push(format!(
                "{}:\nspoke:    {ours:#?}\nexpected: {expected:#?}",
                case.display()
            ));
        }
        let Some(buf) = &buf else { continue };
        let (code, stderr, _) = buf_build(buf, &[(".", &files)]);
        assert_ne!(code, 0, "buf accepts {}", case.display());
        let mut theirs: Vec<String> = stderr
            .lines()
            .filter_map(|line| {
                let mut parts = line.splitn(4, ':');
                let (path, line, column) = (parts.next()?, parts.next()?, parts.next()?);
                Some(format!("{path}:{line}:{column}: {}", parts.next()?))
            })
            .collect();
        theirs.sort();
        assert_eq!(
            expected,
            theirs,
            "the expectations of {} are not buf's",
            case.display()
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n\n"));
}

/// A file's expected errors, each on a `// error: line:column: message`
/// line at its end (what `buf build` reports, checked above).
fn expected_errors(file: &ProtoFile) -> Vec<String> {
    let mut expected: Vec<String> = file
        .content
        .lines()
        .filter_map(|line| line.strip_prefix("// error: "))
        .map(|error| format!("{}:{error}", file.path))
        .collect();
    expected.sort();
    assert!(!expected.is_empty(), "{} expects no error", file.path);
    expected
}

#[test]
fn errors_found_after_the_rewrite_are_located_in_the_original_text() {
    // The inserted label shifts the rewritten line; the position must not.
    let file = ProtoFile {
        path: spoke_domain::FilePath::parse("a.proto").unwrap(),
        content: "edition = \"2023\";\n\nmessage M {\n  int32 y = 1;\n  Missing x = 2;\n}\n"
            .to_owned(),
    };
    let diagnostics = compile(&CompileRequest {
        files: vec![file],
        dependencies: Vec::new(),
    })
    .unwrap_err();
    let positions: Vec<(u32, u32)> = diagnostics.iter().map(|d| (d.line, d.column)).collect();
    assert_eq!(positions, [(5, 3)], "{diagnostics:#?}");
}

/// A symbol an option import only re-exports (`import public` in the
/// file `import option` names) is refused too: buf 1.75 accepts it but
/// writes a file that uses a type from none of its imports, which a
/// descriptor pool cannot link.
#[test]
fn a_symbol_an_option_import_re_exports_is_refused() {
    let file = |path: &str, content: &str| ProtoFile {
        path: spoke_domain::FilePath::parse(path).unwrap(),
        content: content.to_owned(),
    };
    let files = vec![
        file(
            "opt.proto",
            "edition = \"2024\";\npackage o;\nmessage Opt {}\n",
        ),
        file(
            "reexport.proto",
            "edition = \"2024\";\npackage r;\nimport public \"opt.proto\";\n",
        ),
        file(
            "app.proto",
            "edition = \"2024\";\npackage a;\nimport option \"reexport.proto\";\nmessage App {\n  o.Opt opt = 1;\n}\n",
        ),
    ];
    let diagnostics = compile(&CompileRequest {
        files,
        dependencies: Vec::new(),
    })
    .unwrap_err();
    assert_eq!(
        rendered(&diagnostics),
        ["app.proto:5:3: `o.Opt` is only imported for use in options"]
    );
}
