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
