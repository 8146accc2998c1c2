//! Acceptance: the image of protoc's own proto2/proto3 files (the
//! `google/protobuf` files of the googleapis sources that protoc 3.21
//! compiles) and of Spoke's corpus of defaults and options
//! (`tests/corpus/protoc`) equals what `protoc --include_imports
//! --descriptor_set_out` writes, byte for byte, file by file: float and
//! double defaults as protoc prints them, options in protoc's encoding order.
//! Source info aside: protoc's is compared elsewhere (spans differ in
//! documented details).
//!
//! Needs protoc; the googleapis part needs `SPOKE_TEST_GOOGLEAPIS`. Each
//! skips with a note without them unless `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use spoke_domain::{DependencyPin, FilePath, ProtoFile};
use spoke_schema::prost::Message;
use spoke_schema::prost_types::FileDescriptorProto;
use spoke_schema::{CompileRequest, DependencyFiles, ImageOptions, compile};

use crate::buf::{buf, proto_files};
use crate::support;

/// One protoc run: an include root and the files given to protoc, at their
/// paths under it, with the files they import from it (compiled by Spoke
/// as a dependency).
struct Case {
    root: PathBuf,
    files: Vec<String>,
    imports: Vec<String>,
}

/// protoc's own proto2/proto3 files that protoc 3.21 compiles as they are
/// (`bridge/message_set.proto` needs a newer protoc, and
/// `util/json_format_proto3.proto` imports `unittest.proto`, which the
/// sources lack), each compiled on its own (two of them declare the same
/// names). Not `descriptor.proto`: its single-number extension ranges with
/// options (`extensions 536000000 [...]`) are beyond protox's parser; nor
/// the `*_features.proto` files, whose field options protoc 3.21 predates
/// (`edition_defaults`, `feature_support`: it keeps them as unknown fields,
/// after the others, where newer protoc releases and buf sort them). The
/// Ruby generator's files import one another from their own directory, so
/// they are a case of their own.
const PROTOBUF_FILES: &[&str] = &[
    "google/protobuf/any.proto",
    "google/protobuf/api.proto",
    "google/protobuf/compiler/plugin.proto",
    "google/protobuf/compiler/ruby/ruby_generated_pkg_explicit.proto",
    "google/protobuf/compiler/ruby/ruby_generated_pkg_explicit_legacy.proto",
    "google/protobuf/compiler/ruby/ruby_generated_pkg_implicit.proto",
    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",
    "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto",
    "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",
    "google/protobuf/type.proto",
    "google/protobuf/util/json_format.proto",
    "google/protobuf/wrappers.proto",
];
const RUBY_DIR: &str = "google/protobuf/compiler/ruby";
/// Two files declaring the same names, both importing the third.
const RUBY_FILES: &[&str] = &[
    "ruby_generated_code.proto",
    "ruby_generated_code_proto2.proto",
];
const RUBY_IMPORT: &str = "ruby_generated_code_proto2_import.proto";

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/protoc")
}

fn cases() -> Vec<Case> {
    let mut cases = vec![Case {
        root: corpus(),
        files: proto_files(&corpus())
            .into_iter()
            .map(|f| f.path.to_string())
            .collect(),
        imports: Vec::new(),
    }];
    match spoke_test_support::googleapis::root() {
        Some(root) => {
            cases.extend(PROTOBUF_FILES.iter().map(|file| Case {
                files: vec![(*file).to_owned()],
                root: root.clone(),
                imports: Vec::new(),
            }));
            let ruby = root.join(RUBY_DIR);
            cases.extend(RUBY_FILES.iter().map(|file| Case {
                files: vec![(*file).to_owned()],
                root: ruby.clone(),
                imports: vec![RUBY_IMPORT.to_owned()],
            }));
            cases.push(Case {
                files: vec![RUBY_IMPORT.to_owned()],
                root: ruby,
                imports: Vec::new(),
            });
        }
        None => {
            assert!(
                std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
                "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources (cargo xtask test installs them)"
            );
            eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; comparing Spoke's own corpus only");
        }
    }
    cases
}

/// Each file of an encoded `FileDescriptorSet`: its name and its bytes as
/// they are in the set (custom options included, which decoding into
/// `prost_types` would drop), without the field numbered `drop` (source
/// info, or buf's image extension).
fn files_of(set: &[u8], drop: u32) -> Vec<(String, Vec<u8>)> {
    use spoke_schema::prost::encoding::{decode_key, decode_varint};
    let mut rest = set;
    let mut files = Vec::new();
    while !rest.is_empty() {
        let (number, _) = decode_key(&mut rest).unwrap();
        assert_eq!(number, 1, "a FileDescriptorSet has only files");
        let length = usize::try_from(decode_varint(&mut rest).unwrap()).unwrap();
        let bytes = without_field(&rest[..length], drop);
        rest = &rest[length..];
        let name = FileDescriptorProto::decode(bytes.as_slice())
            .unwrap()
            .name()
            .to_owned();
        files.push((name, bytes));
    }
    files
}

/// An encoded message without the fields numbered `number`.
fn without_field(message: &[u8], number: u32) -> Vec<u8> {
    without_field_at(message, &[number])
}

/// An encoded message without the field at `path` (field numbers from the
/// message down through message fields).
fn without_field_at(message: &[u8], path: &[u32]) -> Vec<u8> {
    use spoke_schema::prost::encoding::DecodeContext;
    use spoke_schema::prost::encoding::{
        WireType, decode_key, decode_varint, encode_key, encode_varint, skip_field,
    };
    let mut rest = message;
    let mut out = Vec::with_capacity(message.len());
    while !rest.is_empty() {
        let start = rest;
        let (field, wire) = decode_key(&mut rest).unwrap();
        let mut payload = None;
        if wire == WireType::LengthDelimited {
            let length = usize::try_from(decode_varint(&mut rest).unwrap()).unwrap();
            payload = Some(&rest[..length]);
            rest = &rest[length..];
        } else {
            skip_field(wire, field, &mut rest, DecodeContext::default()).unwrap();
        }
        match (path, payload) {
            ([number], _) if field == *number => {}
            ([number, below @ ..], Some(payload)) if field == *number => {
                let kept = without_field_at(payload, below);
                encode_key(field, wire, &mut out);
                encode_varint(kept.len() as u64, &mut out);
                out.extend_from_slice(&kept);
            }
            _ => out.extend_from_slice(&start[..start.len() - rest.len()]),
        }
    }
    out
}

/// `FileDescriptorProto.source_code_info`.
const SOURCE_CODE_INFO: u32 = 9;
/// buf's `ImageFile.buf_extension`.
const BUF_EXTENSION: u32 = 8042;
/// buf's extension of `SourceCodeInfo` (the indexes of unused imports, as
/// in `buf_extension`), which Spoke does not write either.
const BUF_SOURCE_INFO_EXTENSION: u32 = 536_000_000;
/// No field: protobuf numbers none 0, so `files_of` drops nothing.
const NO_FIELD: u32 = 0;

fn protoc_image(case: &Case, out: &Path) -> Vec<u8> {
    let output = Command::new("protoc")
        .arg(format!("-I{}", case.root.display()))
        .arg(format!("-I{}", support::WELL_KNOWN_INCLUDE))
        .arg("--include_imports")
        .arg(format!("--descriptor_set_out={}", out.display()))
        .args(&case.files)
        .output()
        .unwrap();
    assert!(output.status.success(), "protoc: {output:?}");
    std::fs::read(out).unwrap()
}

#[test]
fn images_equal_protocs_byte_for_byte() {
    if !support::protoc_available() {
        return;
    }
    let out = tempfile::tempdir().unwrap();
    let (mut compared, mut differing) = (0, Vec::new());
    for (i, case) in cases().iter().enumerate() {
        let read = |paths: &[String]| -> Vec<ProtoFile> {
            paths
                .iter()
                .map(|path| ProtoFile {
                    path: FilePath::parse(path).unwrap(),
                    content: std::fs::read_to_string(case.root.join(path)).unwrap(),
                })
                .collect()
        };
        let request = CompileRequest {
            files: read(&case.files),
            dependencies: vec![DependencyFiles {
                pin: DependencyPin::parse("protobuf@v1.0.0").unwrap(),
                files: read(&case.imports),
            }],
        };
        let compiled = compile(&request).unwrap_or_else(|e| panic!("{e:#?}"));
        let ours = files_of(&compiled.image(), SOURCE_CODE_INFO);
        let theirs = files_of(
            &protoc_image(case, &out.path().join(format!("{i}.binpb"))),
            SOURCE_CODE_INFO,
        );
        assert_eq!(names(&ours), names(&theirs), "the files of the image");
        for ((name, ours), (_, theirs)) in ours.iter().zip(&theirs) {
            if !case.files.contains(name) {
                continue;
            }
            compared += 1;
            if ours != theirs {
                differing.push(name.clone());
            }
        }
    }
    assert!(
        differing.is_empty(),
        "{} of {compared} files differ from protoc's: {differing:#?}",
        differing.len()
    );
    eprintln!("{compared} files equal protoc's byte for byte");
}

/// `spoke build`'s image of the corpus (`Compiled::image_with`) equals
/// `buf build`'s, byte for byte, buf's image extension and source info
/// aside: buf prints float defaults and orders options its own way.
#[test]
fn build_images_equal_bufs_byte_for_byte() {
    let Some(buf) = buf() else {
        return;
    };
    let files = proto_files(&corpus());
    let theirs = files_of(&buf_image(&buf, &files, false), BUF_EXTENSION);
    let request = CompileRequest {
        files,
        dependencies: Vec::new(),
    };
    let ours = files_of(
        &compile(&request).unwrap().image_with(ImageOptions {
            include_imports: true,
            include_source_info: false,
        }),
        SOURCE_CODE_INFO,
    );
    assert_same_files(&ours, &theirs, "differs from buf's in its options");
}

/// The names of encoded files, in order.
fn names(files: &[(String, Vec<u8>)]) -> Vec<String> {
    files.iter().map(|(name, _)| name.clone()).collect()
}

/// `ours` and `theirs` hold the same files, byte for byte; a file that
/// differs is shown decoded first, for a readable difference, and said to
/// be `what` otherwise.
fn assert_same_files(ours: &[(String, Vec<u8>)], theirs: &[(String, Vec<u8>)], what: &str) {
    assert_eq!(names(ours), names(theirs));
    for ((name, ours), (_, theirs)) in ours.iter().zip(theirs) {
        let decoded = |bytes: &[u8]| FileDescriptorProto::decode(bytes).unwrap();
        assert_eq!(decoded(ours), decoded(theirs), "{name}");
        assert!(ours == theirs, "{name} {what}");
    }
}

/// `buf build`'s image of `files` (one module), with or without source info.
fn buf_image(buf: &Path, files: &[ProtoFile], source_info: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    for file in files {
        let path = dir.path().join(file.path.as_str());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &file.content).unwrap();
    }
    std::fs::write(dir.path().join("buf.yaml"), "version: v2\n").unwrap();
    let out = dir.path().join("image.binpb");
    let mut command = Command::new(buf);
    command.arg("build");
    if !source_info {
        command.arg("--exclude-source-info");
    }
    let output = command
        .arg("-o")
        .arg(&out)
        .current_dir(dir.path())
        .env("BUF_CACHE_DIR", dir.path().join(".buf-cache"))
        .output()
        .unwrap();
    assert!(output.status.success(), "buf build: {output:?}");
    std::fs::read(&out).unwrap()
}

/// The source info of the corpus of `tests/corpus/source_info` (comments
/// in their places, `default` and `json_name` in brackets, in proto2,
/// proto3 and editions files) equals `buf build`'s: each file of the image
/// byte for byte, buf's image extension aside.
#[test]
fn source_info_equals_bufs_byte_for_byte() {
    let Some(buf) = buf() else {
        return;
    };
    let files =
        proto_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus/source_info"));
    let theirs = files_of(&buf_image(&buf, &files, true), BUF_EXTENSION);
    let compiled = compile(&CompileRequest {
        files,
        dependencies: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let ours = files_of(&compiled.image_with(ImageOptions::default()), NO_FIELD);
    assert_same_files(&ours, &theirs, "differs from buf's");
}

/// The well-known types Spoke bundles (`src/wkt.binpb`) are buf's, byte
/// for byte, source info included: `buf build` of a file importing each of
/// them. With `SPOKE_WRITE_WKT=PATH`, buf's current image is written there
/// first (how the bundle is made for a new buf release).
#[test]
fn well_known_types_are_bufs() {
    let Some(buf) = buf() else {
        return;
    };
    let ours = files_of(spoke_schema::well_known_image(), BUF_EXTENSION);
    let mut importer = String::from("syntax = \"proto3\";\npackage spoke.wkt;\n");
    for (name, _) in &ours {
        importer.push_str(&format!("import \"{name}\";\n"));
    }
    let importer = ProtoFile {
        path: FilePath::parse("wkt.proto").unwrap(),
        content: importer,
    };
    let theirs: Vec<(String, Vec<u8>)> =
        files_of(&buf_image(&buf, &[importer], true), BUF_EXTENSION)
            .into_iter()
            .filter(|(name, _)| name != "wkt.proto")
            .collect();
    if let Some(path) = std::env::var_os("SPOKE_WRITE_WKT") {
        let mut image = Vec::new();
        for (_, file) in &theirs {
            spoke_schema::prost::encoding::bytes::encode(1, file, &mut image);
        }
        std::fs::write(path, image).unwrap();
    }
    assert_eq!(names(&ours), names(&theirs));
    for ((name, ours), (_, theirs)) in ours.iter().zip(&theirs) {
        assert!(ours == theirs, "{name} differs from buf's");
    }
}

/// `spoke build`'s image of the googleapis subset (one module, every file
/// of `testdata/googleapis/modules.txt`) equals `buf build`'s, file for
/// file, byte for byte, source info included (buf's image extensions
/// aside; its message-literal options such as `google.api.http` located
/// field by field, see `source_info::literal`): custom options as buf encodes
/// them (a `[packed = false]` repeated extension such as
/// `google.api.field_behavior` one record per value, a message value's
/// oneof members after its other fields), and a method's empty `{}` body as
/// an empty options message. Needs buf and `SPOKE_TEST_GOOGLEAPIS`.
#[test]
fn googleapis_build_image_equals_bufs_byte_for_byte() {
    let Some(root) = spoke_test_support::googleapis::root() else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources"
        );
        eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis comparison with buf");
        return;
    };
    let Some(buf) = buf() else {
        return;
    };
    let files: Vec<ProtoFile> = spoke_test_support::googleapis::load(&root)
        .into_iter()
        .flat_map(|module| module.files)
        .collect();
    let mut theirs: Vec<(String, Vec<u8>)> =
        files_of(&buf_image(&buf, &files, true), BUF_EXTENSION)
            .into_iter()
            .map(|(name, file)| {
                let file = without_field_at(&file, &[SOURCE_CODE_INFO, BUF_SOURCE_INFO_EXTENSION]);
                (name, file)
            })
            .collect();
    let compiled = compile(&CompileRequest {
        files,
        dependencies: Vec::new(),
    })
    .unwrap_or_else(|e| panic!("{e:#?}"));
    let mut ours = files_of(&compiled.image_with(ImageOptions::default()), NO_FIELD);
    theirs.sort();
    ours.sort();
    assert_eq!(names(&ours), names(&theirs));
    let differing: Vec<&String> = ours
        .iter()
        .zip(&theirs)
        .filter(|((_, ours), (_, theirs))| ours != theirs)
        .map(|((name, _), _)| name)
        .collect();
    assert!(
        differing.is_empty(),
        "{} of {} files differ from buf's: {differing:#?}",
        differing.len(),
        ours.len()
    );
}
