//! `spoke generate` against `buf generate` itself: the same template and
//! plugins give the same tree, file for file, byte for byte. Needs buf
//! (`SPOKE_TEST_BUF`) and protoc-gen-es (`SPOKE_TEST_PROTOC_GEN_ES`), which
//! `cargo xtask test` installs; skips with a note without them unless
//! `SPOKE_TEST_REQUIRE_PROTOC` is set. Failing plugins are shell scripts.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Server, path_str, read_tree, write_tree};

const BUF_YAML: &str = "version: v2
modules:
  - path: common
    name: buf.build/acme/common
  - path: user
    name: buf.build/acme/user
";
const COMMON: &str = "syntax = \"proto3\";
package acme.common.v1;
// An identifier.
message Id { string value = 1; }
";
const USER: &str = "syntax = \"proto3\";
package acme.user.v1;
import \"acme/common/v1/id.proto\";
import \"google/protobuf/timestamp.proto\";
// A user.
message User {
  acme.common.v1.Id id = 1;
  optional string name = 2;
  google.protobuf.Timestamp created = 3;
  repeated string emails = 4 [json_name = \"mail\"];
}
service UserService { rpc Get(acme.common.v1.Id) returns (User); }
";

fn tool(var: &str) -> Option<PathBuf> {
    let found = std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "{var} does not name the tool"
        );
        eprintln!("{var} is not set; skipping the comparison with buf generate");
    }
    found
}

/// buf and protoc-gen-es, or `None` (skip).
fn tools() -> Option<(PathBuf, PathBuf)> {
    Some((tool("SPOKE_TEST_BUF")?, tool("SPOKE_TEST_PROTOC_GEN_ES")?))
}

fn workspace(root: &Path) {
    write_tree(
        root,
        &[
            ("buf.yaml", BUF_YAML),
            ("common/acme/common/v1/id.proto", COMMON),
            ("user/acme/user/v1/user.proto", USER),
        ],
    );
}

/// Runs buf generate in `dir`, its cache kept apart.
fn buf_generate(buf: &Path, dir: &Path, args: &[&str]) {
    let output = Command::new(buf)
        .arg("generate")
        .args(args)
        .current_dir(dir)
        .env("BUF_CACHE_DIR", dir.join(".buf-cache"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "buf generate failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The template with `{es}` replaced by the plugin's path.
fn template(dir: &Path, text: &str, es: &Path) {
    std::fs::write(dir.join("buf.gen.yaml"), text.replace("{es}", path_str(es))).unwrap();
}

#[test]
fn the_same_tree_as_buf_generate_for_each_template_shape() {
    let Some((buf, es)) = tools() else { return };
    let server = Server::start();
    let cases = [
        (
            "directory strategy",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\n",
        ),
        (
            "strategy all, opt list",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: [target=ts, import_extension=js]\n    strategy: all\n",
        ),
        (
            "include_imports",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=js+dts\n    include_imports: true\n",
        ),
        (
            "managed mode with disable and overrides",
            "version: v2\nmanaged:\n  enabled: true\n  disable:\n    - file_option: java_package\n      path: acme/common\n  override:\n    - file_option: go_package_prefix\n      value: example.com/gen\n    - file_option: java_multiple_files\n      value: false\n    - file_option: csharp_namespace_prefix\n      value: Corp\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\n",
        ),
        (
            "include_wkt",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\n    include_imports: true\n    include_wkt: true\n",
        ),
        (
            "paths from the current directory, into a module",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\ninputs:\n  - directory: .\n    paths: [user/acme]\n",
        ),
        (
            "exclude_paths from the current directory",
            "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\ninputs:\n  - directory: .\n    exclude_paths: [common/acme/common/v1/id.proto]\n",
        ),
        (
            "two plugins, one output each",
            "version: v2\nmanaged:\n  enabled: true\nplugins:\n  - local: {es}\n    out: gen/ts\n    opt: target=ts\n  - local: [{es}]\n    out: gen/js\n    strategy: all\n",
        ),
    ];
    for (name, text) in cases {
        let work = tempfile::tempdir().unwrap();
        let theirs = work.path().join("buf");
        let ours = work.path().join("spoke");
        for root in [&theirs, &ours] {
            workspace(root);
            template(root, text, &es);
        }
        buf_generate(&buf, &theirs, &[]);
        server.spoke_in(&ours, &["generate"]).success();
        let expected = read_tree(&theirs.join("gen"));
        assert!(!expected.is_empty(), "{name}: buf generated nothing");
        assert_eq!(read_tree(&ours.join("gen")), expected, "{name}");
    }
}

#[test]
fn a_registry_version_generates_its_own_files_as_buf_does_from_source() {
    let Some((buf, es)) = tools() else { return };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("ws");
    workspace(&root);
    server
        .spoke(&["push", path_str(&root), "--version", "v1.0.0"])
        .success();
    template(
        &root,
        "version: v2\nplugins:\n  - local: {es}\n    out: gen\n    opt: target=ts\n",
        &es,
    );
    buf_generate(&buf, &root, &["--path", "user/acme"]);

    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let template_path = root.join("buf.gen.yaml");
    server
        .spoke_in(
            &out,
            &[
                "generate",
                "acme.user@v1.0.0",
                "--template",
                path_str(&template_path),
            ],
        )
        .success();
    let ours = read_tree(&out.join("gen"));
    assert_eq!(ours.keys().collect::<Vec<_>>(), ["acme/user/v1/user_pb.ts"]);
    assert_eq!(ours, read_tree(&root.join("gen")));

    let missing = server.spoke_in(
        &out,
        &[
            "generate",
            "acme.user@v9.9.9",
            "--template",
            path_str(&template_path),
        ],
    );
    assert!(
        missing.failure().contains("acme.user@v9.9.9"),
        "{missing:?}"
    );
}

/// A CodeGeneratorResponse by hand: `supported_features` 1 and the files
/// (name, insertion point, content).
fn response(files: &[(&str, Option<&str>, &str)]) -> Vec<u8> {
    fn field(number: u8, bytes: &[u8], out: &mut Vec<u8>) {
        out.push(number << 3 | 2);
        let mut len = bytes.len();
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(bytes);
    }
    let mut out = vec![0x10, 0x01];
    for (name, point, content) in files {
        let mut file = Vec::new();
        field(1, name.as_bytes(), &mut file);
        if let Some(point) = point {
            field(2, point.as_bytes(), &mut file);
        }
        field(15, content.as_bytes(), &mut file);
        field(15, &file, &mut out);
    }
    out
}

/// An executable plugin script in `dir` that answers `answer`'s bytes.
fn answering(dir: &Path, name: &str, answer: &[u8]) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let bytes = dir.join(format!("{name}.bin"));
    std::fs::write(&bytes, answer).unwrap();
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("#!/bin/sh\ncat >/dev/null\ncat '{}'\n", bytes.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path_str(&path).to_owned()
}

#[test]
fn insertion_points_across_plugins_as_buf_applies_them() {
    let Some((buf, _)) = tools() else { return };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let first = answering(
        work.path(),
        "protoc-gen-first",
        &response(&[(
            "out.py",
            None,
            "class A:\n    # @@protoc_insertion_point(class_scope)\n    pass\n",
        )]),
    );
    let second = answering(
        work.path(),
        "protoc-gen-second",
        &response(&[("out.py", Some("class_scope"), "x = 1\n\ny = 2")]),
    );
    let text = format!(
        "version: v2\nplugins:\n  - local: {first}\n    out: gen\n    strategy: all\n  - local: {second}\n    out: gen\n    strategy: all\n"
    );
    let theirs = work.path().join("buf");
    let ours = work.path().join("spoke");
    for root in [&theirs, &ours] {
        workspace(root);
        std::fs::write(root.join("buf.gen.yaml"), &text).unwrap();
    }
    buf_generate(&buf, &theirs, &[]);
    server.spoke_in(&ours, &["generate"]).success();
    let expected = read_tree(&theirs.join("gen"));
    assert_eq!(
        String::from_utf8_lossy(&expected["out.py"]),
        "class A:\n    x = 1\n    \n    y = 2\n    # @@protoc_insertion_point(class_scope)\n    pass"
    );
    assert_eq!(read_tree(&ours.join("gen")), expected);
}

#[test]
fn failing_plugins_name_themselves_and_write_nothing() {
    use std::os::unix::fs::PermissionsExt as _;
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    workspace(work.path());
    let good = answering(
        work.path(),
        "protoc-gen-good",
        &response(&[("ok.txt", None, "ok\n")]),
    );
    let crash = work.path().join("protoc-gen-crash");
    std::fs::write(
        &crash,
        "#!/bin/sh\ncat >/dev/null\necho 'fatal: out of cheese' >&2\nexit 2\n",
    )
    .unwrap();
    std::fs::set_permissions(&crash, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(
        work.path().join("buf.gen.yaml"),
        format!(
            "version: v2\nplugins:\n  - local: {good}\n    out: gen\n  - local: {}\n    out: gen2\n",
            path_str(&crash)
        ),
    )
    .unwrap();
    let out = server.spoke_in(work.path(), &["generate"]);
    let error = out.failure();
    assert!(
        error.contains("protoc-gen-crash crashed (exit status 2)"),
        "{error}"
    );
    assert!(error.contains("fatal: out of cheese"), "{error}");
    assert!(
        !work.path().join("gen").exists(),
        "nothing written on failure"
    );

    let erring = answering(work.path(), "protoc-gen-erring", &{
        // `error` (field 1) only.
        let message = b"unknown parameter \"frob\"";
        let mut bytes = vec![0x0a, message.len() as u8];
        bytes.extend_from_slice(message);
        bytes
    });
    std::fs::write(
        work.path().join("buf.gen.yaml"),
        format!("version: v2\nplugins:\n  - local: {erring}\n    out: gen\n    opt: frob\n"),
    )
    .unwrap();
    let error = server
        .spoke_in(work.path(), &["generate"])
        .failure()
        .to_owned();
    assert!(
        error.contains("protoc-gen-erring reported an error: unknown parameter \"frob\""),
        "{error}"
    );
}

#[test]
fn the_rust_builtin_needs_no_program() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    workspace(work.path());
    std::fs::write(
        work.path().join("buf.gen.yaml"),
        "version: v2\nplugins:\n  - builtin: rust\n    out: gen/rust\n    opt: include_file=lib.rs\n    strategy: all\n",
    )
    .unwrap();
    server.spoke_in(work.path(), &["generate"]).success();
    let tree = read_tree(&work.path().join("gen/rust"));
    assert_eq!(
        tree.keys().collect::<Vec<_>>(),
        ["acme.common.v1.rs", "acme.user.v1.rs", "lib.rs"]
    );
    assert!(String::from_utf8_lossy(&tree["acme.user.v1.rs"]).contains("pub struct User {"));
}

#[test]
fn bad_templates_are_refused_with_the_reason() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    workspace(work.path());
    let cases = [
        (
            "version: v2\nplugins:\n  - local: x\n    out: gen\n    stratgy: all\n",
            "buf.gen.yaml is not a valid buf.gen.yaml",
        ),
        (
            "version: v1\nplugins:\n  - local: x\n    out: gen\n",
            "version v1 templates are not supported",
        ),
        (
            "version: v2\nplugins:\n  - remote: buf.build/bufbuild/es\n    out: gen\n",
            "remote plugins are not supported",
        ),
        (
            "version: v2\nplugins:\n  - builtin: cobol\n    out: gen\n",
            "unknown built-in generator \"cobol\" (known: rust)",
        ),
        (
            "version: v2\nplugins:\n  - local: x\n    out: gen\n    include_wkt: true\n",
            "include_wkt requires include_imports",
        ),
        (
            "version: v2\nplugins:\n  - builtin: rust\n    out: gen\n    opt: frob\n",
            "invalid parameter for rust: unknown option \"frob\"",
        ),
        (
            "version: v2\nmanaged:\n  enabled: true\n  override:\n    - file_option: java_multiple_files\n      value: maybe\nplugins:\n  - builtin: rust\n    out: gen\n",
            "java_multiple_files: invalid value \"maybe\"",
        ),
    ];
    for (text, expected) in cases {
        std::fs::write(work.path().join("buf.gen.yaml"), text).unwrap();
        let out = server.spoke_in(work.path(), &["generate"]);
        let error = out.failure();
        assert!(error.contains(expected), "{text}: {error}");
        assert!(!work.path().join("gen").exists());
    }
    let out = server.spoke_in(work.path(), &["generate", "--template", "missing.yaml"]);
    assert!(
        out.failure()
            .contains("cannot read the template missing.yaml")
    );
}

#[test]
fn clean_empties_the_output_and_paths_select_the_files() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    write_tree(
        work.path(),
        &[
            ("proto/acme/common/v1/id.proto", COMMON),
            ("proto/acme/user/v1/user.proto", USER),
            ("gen/stale.rs", "left from an earlier run"),
        ],
    );
    std::fs::write(
        work.path().join("buf.gen.yaml"),
        "version: v2\nclean: true\nplugins:\n  - builtin: rust\n    out: gen\n    strategy: all\ninputs:\n  - directory: proto\n    paths: [proto/acme/user]\n",
    )
    .unwrap();
    server.spoke_in(work.path(), &["generate"]).success();
    let tree = read_tree(&work.path().join("gen"));
    assert_eq!(tree.keys().collect::<Vec<_>>(), ["acme.user.v1.rs"]);

    // INPUT replaces the template's inputs: every file of the directory.
    server
        .spoke_in(work.path(), &["generate", "proto"])
        .success();
    let tree = read_tree(&work.path().join("gen"));
    assert_eq!(
        tree.keys().collect::<Vec<_>>(),
        ["acme.common.v1.rs", "acme.user.v1.rs"]
    );
}

/// A plugin (a script beside `saved`) that saves each request it gets
/// under `saved` (a file per run) and answers with no files, proto3
/// `optional` supported.
fn dumping(saved: &Path) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(saved).unwrap();
    let path = saved.with_extension("plugin");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\ncat > \"$(mktemp -p '{}' request.XXXXXX)\"\nprintf '\\020\\001'\n",
            saved.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path_str(&path).to_owned()
}

/// The top-level fields of an encoded message: number and raw value
/// (a varint's or fixed value's bytes, a delimited field's payload).
fn fields(mut message: &[u8]) -> Vec<(u64, Vec<u8>)> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut value = 0;
        for shift in (0..64).step_by(7) {
            let byte = buf[0];
            *buf = &buf[1..];
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                break;
            }
        }
        value
    }
    let mut out = Vec::new();
    while !message.is_empty() {
        let key = varint(&mut message);
        let length = match key & 7 {
            0 => {
                let before = message;
                varint(&mut message);
                out.push((key >> 3, before[..before.len() - message.len()].to_vec()));
                continue;
            }
            1 => 8,
            2 => usize::try_from(varint(&mut message)).unwrap(),
            5 => 4,
            other => panic!("wire type {other}"),
        };
        out.push((key >> 3, message[..length].to_vec()));
        message = &message[length..];
    }
    out
}

/// The requests a dumping plugin saved, keyed by their files to generate
/// (sorted), each as (files to generate in order, the other fields in
/// order: `proto_file` 15 and `source_file_descriptors` 17 by value).
type Requests = std::collections::BTreeMap<Vec<String>, Vec<(u64, Vec<u8>)>>;

fn saved_requests(dir: &Path) -> Requests {
    let mut out = Requests::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let request = fields(&std::fs::read(entry.unwrap().path()).unwrap());
        let mut key: Vec<String> = request
            .iter()
            .filter(|(n, _)| *n == 1)
            .map(|(_, v)| String::from_utf8(v.clone()).unwrap())
            .collect();
        key.sort();
        out.insert(key, request);
    }
    out
}

/// A file descriptor's name and its fields, its source info without buf's
/// extension of it (field 536000000: the indexes of unused imports, which
/// Spoke does not write, as it writes no `buf_extension`).
fn descriptor_fields(descriptor: &[u8]) -> (String, Vec<(u64, Vec<u8>)>) {
    const SOURCE_CODE_INFO: u64 = 9;
    const BUF_SOURCE_INFO_EXTENSION: u64 = 536_000_000;
    let fields: Vec<(u64, Vec<u8>)> = fields(descriptor)
        .into_iter()
        .map(|(n, value)| {
            if n != SOURCE_CODE_INFO {
                return (n, value);
            }
            let kept = fields(&value)
                .into_iter()
                .filter(|(n, _)| *n != BUF_SOURCE_INFO_EXTENSION)
                .flat_map(|(n, value)| {
                    let mut record = format!("{n}:{}:", value.len()).into_bytes();
                    record.extend(value);
                    record
                })
                .collect();
            (n, kept)
        })
        .collect();
    let name = fields
        .iter()
        .find(|(n, _)| *n == 1)
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .unwrap_or_default();
    (name, fields)
}

/// A request's field as the comparisons see it: its number, a
/// descriptor's name (any other value as text) and a descriptor's fields
/// (see `descriptor_fields`).
type RequestField = (u64, String, Vec<(u64, Vec<u8>)>);

fn comparable(request: &[(u64, Vec<u8>)]) -> Vec<RequestField> {
    request
        .iter()
        .map(|(number, value)| match number {
            15 | 17 => {
                let (name, fields) = descriptor_fields(value);
                (*number, name, fields)
            }
            _ => (
                *number,
                String::from_utf8_lossy(value).into_owned(),
                Vec::new(),
            ),
        })
        .collect()
}

/// The googleapis subset of the push benchmark (138 files, custom options
/// throughout: `google.api.http`, `field_behavior`, `resource`) as one
/// directory: `spoke generate` with protoc-gen-es writes buf's tree byte
/// for byte, and every plugin run gets the request buf sends: the same
/// files to generate, in buf's order, the same `proto_file`s and
/// `source_file_descriptors` in the same order, each descriptor byte for
/// byte (source info included, buf's extension of it aside: see
/// `descriptor_fields`), and no compiler version.
#[test]
fn googleapis_generates_what_buf_generates() {
    let Some((buf, es)) = tools() else { return };
    let Some(root) = spoke_test_support::googleapis::root() else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources"
        );
        eprintln!("SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis comparison");
        return;
    };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let files: Vec<_> = spoke_test_support::googleapis::load(&root)
        .into_iter()
        .flat_map(|module| module.files)
        .collect();
    assert_eq!(files.len(), 138);
    let mut runs = Vec::new();
    for side in ["buf", "spoke"] {
        let dir = work.path().join(side);
        let saved = work.path().join(format!("{side}-requests"));
        for file in &files {
            let path = dir.join(file.path.as_str());
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, &file.content).unwrap();
        }
        let dump = dumping(&saved);
        std::fs::write(
            dir.join("buf.gen.yaml"),
            format!(
                "version: v2\nplugins:\n  - local: {}\n    out: gen/es\n    opt: target=ts\n  - local: {dump}\n    out: gen/dump\n",
                path_str(&es)
            ),
        )
        .unwrap();
        runs.push((dir, saved));
    }
    buf_generate(&buf, &runs[0].0, &[]);
    server.spoke_in(&runs[1].0, &["generate"]).success();

    let expected = read_tree(&runs[0].0.join("gen/es"));
    assert_eq!(
        expected.len(),
        138,
        "buf generated {} files",
        expected.len()
    );
    let ours = read_tree(&runs[1].0.join("gen/es"));
    let differing: Vec<&String> = expected
        .iter()
        .filter(|(name, content)| ours.get(*name) != Some(content))
        .map(|(name, _)| name)
        .collect();
    assert!(
        differing.is_empty() && ours.len() == expected.len(),
        "{} of {} files differ from buf's: {differing:#?}",
        differing.len(),
        expected.len()
    );

    let theirs = saved_requests(&runs[0].1);
    let ours = saved_requests(&runs[1].1);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "one run per directory"
    );
    for (key, theirs) in &theirs {
        let ours = &ours[key];
        let (ours, theirs) = (comparable(ours), comparable(theirs));
        let names = |request: &[RequestField]| -> Vec<(u64, String)> {
            request
                .iter()
                .map(|(n, name, _)| (*n, name.clone()))
                .collect()
        };
        assert_eq!(names(&ours), names(&theirs), "the request for {}", key[0]);
        for (ours, theirs) in ours.iter().zip(&theirs) {
            assert!(
                ours == theirs,
                "the request for {}: field {} {} differs",
                key[0],
                ours.0,
                ours.1
            );
        }
    }
}

/// Options whose field is declared `retention = RETENTION_SOURCE` reach a
/// plugin as buf hands them over: gone from the `proto_file` of a file to
/// generate, kept in its `source_file_descriptors` and in imported files;
/// the requests equal buf's byte for byte.
#[test]
fn source_retention_options_reach_plugins_as_buf_sends_them() {
    let Some((buf, _)) = tools() else { return };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    const OPTIONS: &str = "syntax = \"proto3\";
package acme.opt.v1;
import \"google/protobuf/descriptor.proto\";
message Note { string text = 1 [retention = RETENTION_SOURCE]; string kept = 2; }
extend google.protobuf.FieldOptions {
  string doc = 50001 [retention = RETENTION_SOURCE];
  string tag = 50002 [retention = RETENTION_RUNTIME];
  Note note = 50003;
}
extend google.protobuf.MessageOptions {
  string owner = 50001 [retention = RETENTION_SOURCE];
}
message Annotated {
  option (owner) = \"imports keep theirs\";
  string x = 1 [(doc) = \"imported\"];
}
";
    const USER: &str = "syntax = \"proto3\";
package acme.user.v1;
import \"acme/opt/v1/options.proto\";
message User {
  option (acme.opt.v1.owner) = \"team-a\";
  string name = 1 [(acme.opt.v1.doc) = \"source only\", (acme.opt.v1.tag) = \"runtime\"];
  string mail = 2 [(acme.opt.v1.note) = { text: \"dropped\" kept: \"stays\" }];
  acme.opt.v1.Annotated annotated = 3;
}
";
    let mut saved = Vec::new();
    for side in ["buf", "spoke"] {
        let dir = work.path().join(side);
        write_tree(
            &dir,
            &[
                (
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: opt\n  - path: user\n",
                ),
                ("opt/acme/opt/v1/options.proto", OPTIONS),
                ("user/acme/user/v1/user.proto", USER),
            ],
        );
        let requests = work.path().join(format!("{side}-requests"));
        let dump = dumping(&requests);
        std::fs::write(
            dir.join("buf.gen.yaml"),
            format!("version: v2\nplugins:\n  - local: {dump}\n    out: gen\n    strategy: all\n"),
        )
        .unwrap();
        saved.push((dir, requests, dump));
    }
    let theirs_dir = &saved[0].0;
    let output = Command::new(&buf)
        .args(["generate", "--path", "user/acme"])
        .current_dir(theirs_dir)
        .env("BUF_CACHE_DIR", theirs_dir.join(".buf-cache"))
        .output()
        .unwrap();
    assert!(output.status.success(), "buf generate: {output:?}");
    std::fs::write(
        saved[1].0.join("buf.gen.yaml"),
        format!(
            "version: v2\nplugins:\n  - local: {}\n    out: gen\n    strategy: all\ninputs:\n  - directory: .\n    paths: [user/acme]\n",
            saved[1].2
        ),
    )
    .unwrap();
    server.spoke_in(&saved[1].0, &["generate"]).success();
    let theirs = saved_requests(&saved[0].1);
    let ours = saved_requests(&saved[1].1);
    let key = vec!["acme/user/v1/user.proto".to_string()];
    assert_eq!(theirs.keys().collect::<Vec<_>>(), [&key]);
    assert_eq!(ours.keys().collect::<Vec<_>>(), [&key]);
    let (theirs, ours) = (&theirs[&key], &ours[&key]);
    // The file to generate: stripped in proto_file, whole in
    // source_file_descriptors; the imported file whole.
    let descriptor = |request: &[(u64, Vec<u8>)], number: u64, name: &str| -> Vec<u8> {
        request
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, v)| v.clone())
            .find(|v| descriptor_fields(v).0 == name)
            .unwrap()
    };
    let contains = |haystack: &[u8], needle: &str| {
        haystack
            .windows(needle.len())
            .any(|w| w == needle.as_bytes())
    };
    let user = "acme/user/v1/user.proto";
    let imported = "acme/opt/v1/options.proto";
    for request in [theirs, ours] {
        let stripped = descriptor(request, 15, user);
        let whole = descriptor(request, 17, user);
        assert!(contains(&whole, "source only") && contains(&whole, "team-a"));
        assert!(!contains(&stripped, "source only") && !contains(&stripped, "team-a"));
        assert!(contains(&stripped, "stays"));
        assert!(contains(&stripped, "runtime"));
        assert!(contains(
            &descriptor(request, 15, imported),
            "imports keep theirs"
        ));
    }
    // Byte for byte, source info included (see `descriptor_fields`).
    let (ours, theirs) = (comparable(ours), comparable(theirs));
    assert_eq!(ours.len(), theirs.len(), "the request's fields");
    for (ours, theirs) in ours.iter().zip(&theirs) {
        assert_eq!((ours.0, &ours.1), (theirs.0, &theirs.1));
        for (a, b) in ours.2.iter().zip(&theirs.2) {
            assert!(
                a == b,
                "field {} of {}: {:?} != {:?}",
                a.0,
                ours.1,
                String::from_utf8_lossy(&a.1),
                String::from_utf8_lossy(&b.1)
            );
        }
        assert_eq!(ours.2.len(), theirs.2.len(), "{}", ours.1);
    }
}

/// A workspace for managed mode's selectors: 64-bit fields of every kind
/// (nested, map values, oneof members, an extension) and existing file and
/// field options; requests equal buf's with source info.
fn selector_workspace(root: &Path) {
    const COMMON: &str = "syntax = \"proto3\";
package acme.common.v1;
option java_package = \"com.example.common\";
option cc_enable_arenas = true;
// An identifier.
message Id {
  string value = 1;
  int64 serial = 2;
  uint64 hash = 3 [jstype = JS_STRING, deprecated = true];
}
";
    const USER: &str = "syntax = \"proto3\";
package acme.user.v1;
import \"acme/common/v1/id.proto\";
import \"google/protobuf/descriptor.proto\";
extend google.protobuf.MessageOptions { sint64 weight = 50001; }
// A user.
message User {
  acme.common.v1.Id id = 1;
  optional string name = 2;
  int64 count = 3;
  repeated fixed64 stamps = 4;
  int32 small = 5;
  message Inner {
    sfixed64 deep = 1 [deprecated = true];
    map<string, int64> totals = 2;
    oneof choice { uint64 big = 3; }
  }
  Inner inner = 6;
}
";
    write_tree(
        root,
        &[
            ("buf.yaml", BUF_YAML),
            ("common/acme/common/v1/id.proto", COMMON),
            ("user/acme/user/v1/user.proto", USER),
        ],
    );
}

/// A template with `managed` (its rules, indented under `managed:`) and a
/// dumping plugin saving into `saved`, every file in one run.
fn managed_template(dir: &Path, rules: &str, saved: &Path) {
    let dump = dumping(saved);
    std::fs::write(
        dir.join("buf.gen.yaml"),
        format!(
            "version: v2\nmanaged:\n  enabled: true\n{rules}plugins:\n  - local: {dump}\n    out: gen\n    strategy: all\n"
        ),
    )
    .unwrap();
}

/// The requests are the same, field by field and byte for byte.
fn assert_same_requests(ours: &Requests, theirs: &Requests, case: &str) {
    assert!(!theirs.is_empty(), "{case}: buf ran the plugin");
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>(),
        "{case}: the runs"
    );
    for (key, theirs) in theirs {
        let ours = &ours[key];
        let names = |request: &[(u64, Vec<u8>)]| -> Vec<(u64, String)> {
            comparable(request)
                .into_iter()
                .map(|(n, name, _)| (n, name))
                .collect()
        };
        assert_eq!(names(ours), names(theirs), "{case}: the request's fields");
        for ((number, a), (_, b)) in ours.iter().zip(theirs) {
            assert!(
                a == b,
                "{case}: field {number} ({}) differs from buf's",
                descriptor_fields(a).0
            );
        }
    }
}

/// Managed mode's `module`, `path`, `field` and `field_option: jstype`
/// selectors in `disable` and `override`, over a two-module workspace:
/// each plugin run gets the request buf sends, every descriptor byte for
/// byte, source info included (jstype only on 64-bit fields, an equal
/// jstype left alone, replaced options' locations dropped as buf drops
/// them). A Spoke module name selects what its buf name does.
#[test]
fn managed_selectors_give_plugins_what_buf_gives() {
    let Some((buf, _)) = tools() else { return };
    let server = Server::start();
    let cases = [
        (
            "a module disabled, jstype everywhere",
            "  disable:\n    - module: buf.build/acme/common\n  override:\n    - field_option: jstype\n      value: JS_STRING\n",
            None,
        ),
        (
            "jstype by module and field, disabled for a field",
            "  disable:\n    - field_option: jstype\n      field: acme.user.v1.User.Inner.deep\n  override:\n    - field_option: jstype\n      module: buf.build/acme/user\n      value: JS_NUMBER\n    - field_option: jstype\n      field: acme.user.v1.User.count\n      value: JS_NORMAL\n    - field_option: jstype\n      field: acme.user.v1.weight\n      value: JS_STRING\n    - field_option: jstype\n      field: acme.user.v1.User.Inner.TotalsEntry.value\n      value: JS_STRING\n",
            None,
        ),
        (
            "file options by module and path, jstype disabled for a module",
            "  disable:\n    - field_option: jstype\n      module: buf.build/acme/common\n    - file_option: java_multiple_files\n      module: buf.build/acme/user\n  override:\n    - field_option: jstype\n      value: JS_NUMBER\n    - file_option: java_package_prefix\n      module: buf.build/acme/user\n      value: org\n    - file_option: java_package\n      path: acme/common\n      value: x.y\n    - file_option: go_package_prefix\n      module: buf.build/acme/common\n      value: example.com/gen\n",
            None,
        ),
        (
            "a field alone disables every file option, and that field's jstype",
            "  disable:\n    - field: acme.common.v1.Id.serial\n  override:\n    - field_option: jstype\n      value: JS_STRING\n",
            None,
        ),
        (
            "an option cleared in a file without options adds none",
            "  disable:\n    - file_option: java_package\n    - file_option: java_outer_classname\n    - file_option: objc_class_prefix\n    - file_option: csharp_namespace\n    - file_option: php_namespace\n    - file_option: php_metadata_namespace\n    - file_option: ruby_package\n  override:\n    - file_option: java_multiple_files\n      value: false\n",
            None,
        ),
        (
            "Spoke module names",
            "  disable:\n    - module: buf.build/acme/common\n  override:\n    - field_option: jstype\n      module: buf.build/acme/user\n      value: JS_STRING\n",
            Some(
                "  disable:\n    - module: acme.common\n  override:\n    - field_option: jstype\n      module: acme.user\n      value: JS_STRING\n",
            ),
        ),
    ];
    for (case, rules, spoke_rules) in cases {
        let work = tempfile::tempdir().unwrap();
        let mut runs = Vec::new();
        for (side, rules) in [("buf", rules), ("spoke", spoke_rules.unwrap_or(rules))] {
            let dir = work.path().join(side);
            let saved = work.path().join(format!("{side}-requests"));
            selector_workspace(&dir);
            managed_template(&dir, rules, &saved);
            runs.push((dir, saved));
        }
        buf_generate(&buf, &runs[0].0, &[]);
        server.spoke_in(&runs[1].0, &["generate"]).success();
        let (theirs, ours) = (saved_requests(&runs[0].1), saved_requests(&runs[1].1));
        assert_same_requests(&ours, &theirs, case);
    }
}

/// For a registry version, `module:` selectors reach the files it imports
/// from its dependencies: the request equals the one buf sends generating
/// the same module from source.
#[test]
fn managed_module_selectors_reach_a_registry_version_imports() {
    let Some((buf, _)) = tools() else { return };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("ws");
    selector_workspace(&root);
    server
        .spoke(&["push", path_str(&root), "--version", "v1.0.0"])
        .success();
    let rules = "  disable:\n    - module: buf.build/acme/common\n  override:\n    - field_option: jstype\n      module: buf.build/acme/user\n      value: JS_STRING\n";
    let (theirs, ours) = (
        work.path().join("buf-requests"),
        work.path().join("spoke-requests"),
    );
    managed_template(&root, rules, &theirs);
    buf_generate(&buf, &root, &["--path", "user/acme"]);
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    managed_template(&out, rules, &ours);
    server
        .spoke_in(&out, &["generate", "acme.user@v1.0.0"])
        .success();
    let (ours, theirs) = (saved_requests(&ours), saved_requests(&theirs));
    assert_same_requests(&ours, &theirs, "acme.user@v1.0.0");
    // The selectors did reach both modules: the import kept its own
    // java_package, the file to generate got jstype.
    let request = &ours[&vec!["acme/user/v1/user.proto".to_string()]];
    let descriptor = |name: &str| {
        request
            .iter()
            .find(|(n, v)| *n == 15 && descriptor_fields(v).0 == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    let has = |bytes: &[u8], text: &str| bytes.windows(text.len()).any(|w| w == text.as_bytes());
    let common = descriptor("acme/common/v1/id.proto");
    assert!(has(&common, "com.example.common") && !has(&common, "IdProto"));
    assert!(has(&descriptor("acme/user/v1/user.proto"), "UserProto"));
}

/// The managed rules buf refuses, Spoke refuses, saying why.
#[test]
fn managed_rules_buf_refuses_are_refused() {
    let buf = tool("SPOKE_TEST_BUF");
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    selector_workspace(work.path());
    let cases = [
        (
            "  override:\n    - field_option: jstype\n      value: JS_BIGINT\n",
            "invalid value \"JS_BIGINT\" for jstype: must be one of JS_NORMAL, JS_STRING or JS_NUMBER",
        ),
        (
            "  override:\n    - field_option: ctype\n      value: CORD\n",
            "unknown field_option \"ctype\"",
        ),
        (
            "  override:\n    - field_option: jstype\n      file_option: java_package\n      value: JS_STRING\n",
            "exactly one of file_option and field_option",
        ),
        (
            "  override:\n    - field: acme.user.v1.User.count\n      value: JS_STRING\n",
            "needs file_option or field_option",
        ),
        (
            "  override:\n    - file_option: java_package\n      field: acme.user.v1.User.count\n      value: x\n",
            "a file_option override cannot have a field",
        ),
        (
            "  override:\n    - field_option: jstype\n",
            "jstype: needs a value",
        ),
        (
            "  disable:\n    - field_option: ctype\n",
            "unknown field_option \"ctype\"",
        ),
        (
            "  disable:\n    - field_option: jstype\n      file_option: java_package\n",
            "at most one of file_option and field_option",
        ),
        (
            "  disable:\n    - file_option: java_package\n      field: acme.user.v1.User.count\n",
            "cannot disable a file option for a field",
        ),
        ("  disable:\n    - {}\n", "empty disable rule"),
        (
            "  disable:\n    - module: acme/common\n",
            "module \"acme/common\" is neither REMOTE/OWNER/MODULE nor a Spoke module name",
        ),
    ];
    let saved = work.path().join("requests");
    for (rules, expected) in cases {
        managed_template(work.path(), rules, &saved);
        if let Some(buf) = &buf {
            let output = Command::new(buf)
                .arg("generate")
                .current_dir(work.path())
                .env("BUF_CACHE_DIR", work.path().join(".buf-cache"))
                .output()
                .unwrap();
            assert!(!output.status.success(), "buf takes {rules}");
        }
        let out = server.spoke_in(work.path(), &["generate"]);
        let error = out.failure();
        assert!(error.contains(expected), "{rules}: {error}");
        assert_eq!(std::fs::read_dir(&saved).unwrap().count(), 0, "{rules}");
    }
}
