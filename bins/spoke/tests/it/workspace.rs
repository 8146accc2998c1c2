//! buf workspaces: push of every module in one command, spoke.lock, the
//! dependency graph and `spoke build -o` compared with `buf build -o`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use spoke_schema::prost::Message as _;
use spoke_schema::prost_types::FileDescriptorSet;

use crate::support::{Server, path_str, read_tree, write_tree};

const TYPES: &str = "syntax = \"proto3\";\n\npackage acme.types.v1;\n\n// An identifier.\nmessage Id {\n  string value = 1;\n}\n";
const TYPES_V2: &str = "syntax = \"proto3\";\n\npackage acme.types.v1;\n\n// An identifier.\nmessage Id {\n  string value = 1;\n}\n\n// A name.\nmessage Name {\n  string value = 1;\n}\n";
const MONEY: &str = "syntax = \"proto3\";\n\npackage acme.common.v1;\n\n// An amount.\nmessage Money {\n  string currency = 1;\n  int64 units = 2;\n}\n";
const PET: &str = "syntax = \"proto3\";\n\npackage acme.pets.v1;\n\nimport \"acme/common/v1/money.proto\";\nimport \"acme/types/v1/id.proto\";\nimport \"google/protobuf/timestamp.proto\";\n\n// A pet.\nmessage Pet {\n  acme.types.v1.Id id = 1;\n  acme.common.v1.Money price = 2;\n  google.protobuf.Timestamp born = 3;\n}\n";

/// buf's quick-start layout: a root buf.yaml v2 with two modules, one
/// importing the other, per-module lint sections and a `deps` entry.
const QUICK_START: &str = "version: v2
modules:
  - path: proto/common
    name: buf.build/acme/common
    lint:
      use: [MINIMAL]
  - path: proto/pets
    name: buf.build/acme/pets
    excludes: [proto/pets/scratch]
    lint:
      use: [STANDARD]
deps:
  - buf.build/acme/types
";

/// Files of a tree: (path, content).
type Tree<'a> = &'a [(&'a str, &'a str)];

fn push_types(server: &Server, version: &str, content: &str) -> String {
    let work = tempfile::tempdir().unwrap();
    write_tree(work.path(), &[("acme/types/v1/id.proto", content)]);
    let out = server.spoke(&[
        "push",
        "--module",
        "acme.types",
        "--version",
        version,
        path_str(work.path()),
    ]);
    assert!(out.success().starts_with("pushed acme.types@"), "{out:?}");
    server.get_version("acme.types", version).digest
}

fn quick_start(root: &Path) {
    write_tree(
        root,
        &[
            ("buf.yaml", QUICK_START),
            ("proto/common/acme/common/v1/money.proto", MONEY),
            ("proto/pets/acme/pets/v1/pet.proto", PET),
            ("proto/pets/scratch/broken.proto", "this is not protobuf"),
            ("README.md", "# pets\n"),
        ],
    );
}

#[test]
fn quick_start_layout_pushes_in_one_command_and_pulls_back() {
    let server = Server::start();
    push_types(&server, "v1.0.0", TYPES);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    quick_start(&root);

    let out = server.spoke(&["push", path_str(&root), "--version", "v1.0.0"]);
    let lines: Vec<&str> = out.success().lines().collect();
    // Dependency order: common before the module importing it.
    assert_eq!(lines.len(), 2, "{out:?}");
    assert!(
        lines[0].starts_with("pushed acme.common@v1.0.0 (sha256:"),
        "{out:?}"
    );
    assert!(
        lines[1].starts_with("pushed acme.pets@v1.0.0 (sha256:"),
        "{out:?}"
    );

    let pets = server.get_version("acme.pets", "v1.0.0");
    let paths: Vec<&str> = pets.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(
        paths,
        ["acme/pets/v1/pet.proto"],
        "module-relative, excludes left out"
    );
    assert_eq!(
        pets.dependencies,
        ["acme.common@v1.0.0", "acme.types@v1.0.0"]
    );
    let common = server.get_version("acme.common", "v1.0.0");
    assert_eq!(common.files[0].path, "acme/common/v1/money.proto");
    assert!(common.dependencies.is_empty());

    // Pulled recursively, the closure reproduces the module roots' files.
    let pulled = work.path().join("pulled");
    server
        .spoke(&[
            "pull",
            "--module",
            "acme.pets",
            "--version",
            "v1.0.0",
            "--dir",
            path_str(&pulled),
            "--recursive",
        ])
        .success();
    let mut expected = read_tree(&root.join("proto/common"));
    expected.extend(
        read_tree(&root.join("proto/pets"))
            .into_iter()
            .filter(|(path, _)| !path.starts_with("scratch/")),
    );
    expected.insert(
        "acme/types/v1/id.proto".to_owned(),
        TYPES.as_bytes().to_vec(),
    );
    assert_eq!(read_tree(&pulled), expected);

    // Again: nothing changes, in JSON too.
    let out = server.spoke(&["--json", "push", path_str(&root), "--version", "v1.0.0"]);
    let pushed: Value = serde_json::from_str(out.success()).unwrap();
    let pushed = pushed.as_array().unwrap();
    assert_eq!(pushed.len(), 2);
    assert_eq!(pushed[1]["module_name"], "acme.pets");
    assert_eq!(pushed[1]["created"], false);

    // The graph: workspace edges, then the remote version.
    let out = server.spoke(&["dep", "graph", path_str(&root)]);
    assert_eq!(
        out.success(),
        "digraph {\n\n  \"acme.pets\" -> \"acme.common\"\n  \"acme.pets\" -> \"acme.types@v1.0.0\"\n\n}\n"
    );
}

#[test]
fn buf_work_yaml_and_v1_buf_yaml_push_their_modules() {
    let server = Server::start();
    push_types(&server, "v1.0.0", TYPES);
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    write_tree(
        root,
        &[
            (
                "buf.work.yaml",
                "version: v1\ndirectories:\n  - pets\n  - common\n",
            ),
            (
                "common/buf.yaml",
                "version: v1\nname: buf.build/acme/common\n",
            ),
            ("common/acme/common/v1/money.proto", MONEY),
            (
                "pets/buf.yaml",
                "version: v1\nname: buf.build/acme/pets\ndeps:\n  - buf.build/acme/types:v1.0.0\nbuild:\n  excludes: [old]\n",
            ),
            ("pets/acme/pets/v1/pet.proto", PET),
            ("pets/old/old.proto", "not protobuf"),
        ],
    );
    let out = server.spoke(&["push", path_str(root), "--version", "v2.0.0"]);
    let lines: Vec<&str> = out.success().lines().collect();
    assert!(lines[0].starts_with("pushed acme.common@v2.0.0"), "{out:?}");
    assert!(lines[1].starts_with("pushed acme.pets@v2.0.0"), "{out:?}");
    assert_eq!(
        server.get_version("acme.pets", "v2.0.0").dependencies,
        ["acme.common@v2.0.0", "acme.types@v1.0.0"]
    );

    // A v1 buf.yaml alone is a one-module workspace; one without a name
    // takes --module.
    let single = work.path().join("single");
    write_tree(
        &single,
        &[
            ("buf.yaml", "version: v1\nbuild:\n  excludes: [tmp]\n"),
            (
                "acme/solo/v1/solo.proto",
                "syntax = \"proto3\";\npackage acme.solo.v1;\nmessage Solo {}\n",
            ),
            ("tmp/x.proto", "garbage"),
        ],
    );
    let refused = server.spoke(&["push", path_str(&single), "--version", "v1.0.0"]);
    assert!(
        refused
            .failure()
            .contains("a name must be specified to push the module at path \".\""),
        "{refused:?}"
    );
    let out = server.spoke(&[
        "push",
        path_str(&single),
        "-m",
        "solo",
        "--version",
        "v1.0.0",
    ]);
    assert!(out.success().starts_with("pushed solo@v1.0.0"), "{out:?}");
    assert_eq!(server.get_version("solo", "v1.0.0").files.len(), 1);
    // Today's flags keep working beside a buf.yaml kept for lint: --dep too.
    write_tree(
        &single,
        &[(
            "acme/solo/v1/uses.proto",
            "syntax = \"proto3\";\npackage acme.solo.v1;\nimport \"acme/types/v1/id.proto\";\nmessage Uses { acme.types.v1.Id id = 1; }\n",
        )],
    );
    let out = server.spoke(&[
        "push",
        "--dir",
        path_str(&single),
        "-m",
        "solo",
        "--version",
        "v1.1.0",
        "--dep",
        "acme.types@v1.0.0",
    ]);
    assert!(out.success().starts_with("pushed solo@v1.1.0"), "{out:?}");
    assert_eq!(
        server.get_version("solo", "v1.1.0").dependencies,
        ["acme.types@v1.0.0"]
    );
}

#[test]
fn bad_workspaces_fail_with_a_clear_error_and_push_nothing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let root = work.path();
    let cases: &[(&str, Tree, &str)] = &[
        (
            "an owner that cannot map",
            &[(
                "buf.yaml",
                "version: v2\nmodules:\n  - path: a\n    name: buf.build/1acme/x\n",
            )],
            "buf.yaml: module \"a\": \"buf.build/1acme/x\" has no Spoke module name",
        ),
        (
            "unknown lint rule",
            &[(
                "buf.yaml",
                "version: v2\nmodules:\n  - path: a\n    name: buf.build/acme/a\n    lint:\n      use: [NOPE]\n",
            )],
            "\"NOPE\" is not a known rule or category ID",
        ),
        (
            "an unnamed module",
            &[
                (
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    name: buf.build/acme/a\n  - path: b\n",
                ),
                (
                    "a/a.proto",
                    "syntax = \"proto3\";\nimport \"b.proto\";\nmessage A { B b = 1; }\n",
                ),
                ("b/b.proto", "syntax = \"proto3\";\nmessage B {}\n"),
            ],
            "buf.yaml: a name must be specified to push the module at path \"b\"",
        ),
        (
            "a compile error in one module",
            &[
                (
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    name: buf.build/acme/a\n  - path: b\n    name: buf.build/acme/b\n",
                ),
                ("a/a.proto", "syntax = \"proto3\";\nmessage A {}\n"),
                (
                    "b/b.proto",
                    "syntax = \"proto3\";\nmessage B { Missing m = 1; }\n",
                ),
            ],
            "does not compile (1 error); nothing was pushed",
        ),
        (
            "a dep that is not in the registry",
            &[
                (
                    "buf.yaml",
                    "version: v2\nmodules:\n  - path: a\n    name: buf.build/acme/a\ndeps: [buf.build/acme/nowhere]\n",
                ),
                ("a/a.proto", "syntax = \"proto3\";\nmessage A {}\n"),
            ],
            "cannot resolve deps entry \"buf.build/acme/nowhere\"",
        ),
    ];
    for (what, files, expected) in cases {
        let dir = root.join(what.replace(' ', "-"));
        write_tree(&dir, files);
        let out = server.spoke(&["push", path_str(&dir), "--version", "v1.0.0"]);
        // Compile errors exit as buf's do (100), other failures with 1.
        let code = if what.contains("compile error") {
            100
        } else {
            1
        };
        assert_eq!(out.code, Some(code), "{what}: {out:?}");
        assert!(out.stderr.contains(expected), "{what}: {out:?}");
    }
    let ok = root.join("ok");
    write_tree(
        &ok,
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: a\n    name: buf.build/acme/a\n",
            ),
            ("a/a.proto", "syntax = \"proto3\";\nmessage A {}\n"),
        ],
    );
    let out = server.spoke(&["push", path_str(&ok), "--version", "v1.0.0", "--dep", "x"]);
    assert!(out.failure().contains("list them under `deps:`"), "{out:?}");
    // Nothing of the refused pushes reached the registry.
    assert_eq!(server.spoke(&["modules"]).success(), "");
}

#[test]
fn a_locked_dependency_keeps_resolving_until_the_next_update() {
    let server = Server::start();
    let first = push_types(&server, "v1.0.0", TYPES);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    quick_start(&root);

    let out = server.spoke(&["dep", "update", path_str(&root)]);
    let lock_path = root.join("spoke.lock");
    assert_eq!(
        out.success(),
        format!(
            "locked acme.types@v1.0.0 ({first})\nwrote {}\n",
            lock_path.display()
        )
    );
    let lock = fs::read_to_string(&lock_path).unwrap();
    assert_eq!(
        lock,
        format!(
            "# Generated by `spoke dep update`. Do not edit.\nversion: v1\ndeps:\n- module: acme.types\n  version: v1.0.0\n  digest: {first}\n"
        )
    );

    // The dependency moves on; the workspace keeps the locked version.
    push_types(&server, "v1.1.0", TYPES_V2);
    server
        .spoke(&["push", path_str(&root), "--version", "v1.0.0"])
        .success();
    assert_eq!(
        server.get_version("acme.pets", "v1.0.0").dependencies,
        ["acme.common@v1.0.0", "acme.types@v1.0.0"]
    );
    let image = work.path().join("image.json");
    server
        .spoke(&["build", path_str(&root), "-o", path_str(&image)])
        .success();
    let names = image_file_names(&fs::read_to_string(&image).unwrap());
    assert!(
        names.contains(&"acme/types/v1/id.proto".to_owned()),
        "{names:?}"
    );
    assert!(
        server
            .spoke(&["dep", "graph", path_str(&root)])
            .success()
            .contains("acme.types@v1.0.0")
    );

    // Until the next update.
    let out = server.spoke(&["--json", "dep", "update", path_str(&root)]);
    let lock: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(lock["deps"][0]["version"], "v1.1.0");
    server
        .spoke(&["push", path_str(&root), "--version", "v1.1.0"])
        .success();
    assert_eq!(
        server.get_version("acme.pets", "v1.1.0").dependencies,
        ["acme.common@v1.1.0", "acme.types@v1.1.0"]
    );

    // A digest that no longer matches refuses before anything is pushed.
    let text = fs::read_to_string(&lock_path).unwrap();
    let second = server.get_version("acme.types", "v1.1.0").digest;
    let forged = format!("sha256:{}", "0".repeat(64));
    fs::write(&lock_path, text.replace(&second, &forged)).unwrap();
    let out = server.spoke(&["push", path_str(&root), "--version", "v1.2.0"]);
    let error = out.failure();
    assert!(
        error.contains(&format!(
            "acme.types@v1.1.0 no longer matches {}: locked digest {forged}, the registry has {second}",
            lock_path.display()
        )),
        "{error}"
    );
    let refused = server.spoke(&["build", path_str(&root)]);
    assert!(
        refused.failure().contains("no longer matches"),
        "{refused:?}"
    );
    assert_eq!(
        server
            .spoke(&["versions", "acme.common"])
            .success()
            .lines()
            .count(),
        3,
        "v1.2.0 was not pushed"
    );

    // A lock that lacks an entry is out of date.
    fs::write(&lock_path, "version: v1\ndeps: []\n").unwrap();
    let error = server
        .spoke(&["push", path_str(&root), "--version", "v1.2.0"])
        .failure()
        .to_owned();
    assert!(error.contains("has no entry for acme.types"), "{error}");
    assert!(error.contains("run `spoke dep update`"), "{error}");
    fs::write(&lock_path, "version: v9\n").unwrap();
    let error = server
        .spoke(&["build", path_str(&root)])
        .failure()
        .to_owned();
    assert!(error.contains("unsupported lock version \"v9\""), "{error}");
}

fn image_file_names(json: &str) -> Vec<String> {
    let image: Value = serde_json::from_str(json).unwrap();
    image["file"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_owned())
        .collect()
}

/// The buf CLI named by `SPOKE_TEST_BUF`; `None` (with a note) when unset,
/// unless `SPOKE_TEST_REQUIRE_PROTOC` requires it.
fn buf() -> Option<PathBuf> {
    let buf = std::env::var_os("SPOKE_TEST_BUF").map(PathBuf::from);
    if buf.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping the comparison with buf build");
    }
    buf
}

/// Acceptance: `spoke build -o` writes the same FileDescriptorProtos as
/// `buf build -o` on the same workspace, binary and JSON, with and without
/// imports and source info (buf's image extension aside).
#[test]
fn build_writes_the_image_buf_build_writes() {
    let Some(buf) = buf() else {
        return;
    };
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    write_tree(
        &root,
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n    name: buf.build/acme/common\n  - path: proto/pets\n    name: buf.build/acme/pets\n    excludes: [proto/pets/scratch]\n",
            ),
            ("proto/common/acme/common/v1/money.proto", MONEY),
            (
                "proto/pets/acme/pets/v1/pet.proto",
                &PET.replace("import \"acme/types/v1/id.proto\";\n", "")
                    .replace("acme.types.v1.Id id = 1;", "string id = 1;"),
            ),
            (
                "proto/pets/acme/pets/v1/options.proto",
                "syntax = \"proto3\";\n\npackage acme.pets.v1;\n\nimport \"google/protobuf/descriptor.proto\";\nimport \"acme/pets/v1/pet.proto\";\n\nextend google.protobuf.MessageOptions {\n  // A tag.\n  string tag = 50001;\n}\n\nmessage Tagged {\n  option (tag) = \"yes\";\n  Pet pet = 1;\n}\n",
            ),
            ("proto/pets/acme/pets/v1/rich.proto", RICH),
            ("proto/pets/scratch/broken.proto", "not protobuf"),
        ],
    );
    for flags in [
        &[][..],
        &["--exclude-imports"][..],
        &["--exclude-source-info"][..],
        &["--exclude-imports", "--exclude-source-info"][..],
    ] {
        for extension in ["binpb", "json"] {
            let theirs = work.path().join(format!("buf.{extension}"));
            let ours = work.path().join(format!("spoke.{extension}"));
            let out = Command::new(&buf)
                .arg("build")
                .arg("-o")
                .arg(&theirs)
                .args(flags)
                .current_dir(&root)
                .output()
                .unwrap();
            assert!(out.status.success(), "buf build: {out:?}");
            let mut args = vec!["build", path_str(&root), "-o", path_str(&ours)];
            args.extend(flags);
            server.spoke(&args).success();
            if extension == "binpb" {
                let decode = |path: &Path| {
                    FileDescriptorSet::decode(fs::read(path).unwrap().as_slice()).unwrap()
                };
                let (theirs, ours) = (decode(&theirs), decode(&ours));
                // Every file, the well-known types included (buf's own
                // copies, with source info), source locations and all.
                assert_eq!(ours, theirs, "{flags:?}");
                // Custom option values are kept, not only their declarations.
                let raw = fs::read(work.path().join("spoke.binpb")).unwrap();
                assert!(raw.windows(3).any(|w| w == b"yes"), "{flags:?}");
            } else {
                let json = |path: &Path| -> FileDescriptorSet {
                    let text = fs::read_to_string(path).unwrap();
                    assert!(text.contains("\"[acme.pets.v1.tag]\":\"yes\""), "{path:?}");
                    let mut image: Value = serde_json::from_str(&text).unwrap();
                    for file in image["file"].as_array_mut().unwrap() {
                        file.as_object_mut().unwrap().remove("bufExtension");
                    }
                    json_to_descriptors(&image)
                };
                assert_eq!(json(&ours), json(&theirs), "{flags:?}");
            }
        }
    }
    // A name buf would not know how to write is refused before compiling.
    let out = server.spoke(&["build", path_str(&root), "-o", "image.txt"]);
    assert!(out.failure().contains("FILE.binpb"), "{out:?}");
}

/// Most of what a .proto file can declare, for the comparison with buf.
const RICH: &str = r#"syntax = "proto2";

package acme.pets.v1;

import "acme/pets/v1/pet.proto";

option java_package = "com.acme.pets";

// Top.
message Top {
  option deprecated = true;
  optional string a = 1 [deprecated = true];
  repeated int32 b = 2 [packed = true];
  required Inner c = 3;
  map<string, Inner> m = 4;
  // A choice.
  oneof choice {
    string d = 5;
    int64 e = 6;
  }
  message Inner {
    optional bool f = 1;
    // Trailing, on its own line.

    optional bool g = 2;
  }
  enum Kind {
    KIND_UNSPECIFIED = 0;
    KIND_A = 1 [deprecated = true];
  }
  reserved 10 to 12, 15;
  reserved "old";
  extensions 100 to 199;
  optional Pet pet = 7;
}

extend Top {
  optional int32 more = 100;
}

enum Color {
  option allow_alias = true;
  COLOR_UNSPECIFIED = 0;
  COLOR_RED = 1;
  COLOR_ROUGE = 1;
}

// The service.
service TopService {
  option deprecated = true;
  rpc Get(Top) returns (Top) {
    option deprecated = true;
  }
  rpc Stream(stream Top) returns (stream Top);
}
"#;

/// An image's protobuf JSON read back into descriptors, through the
/// descriptor pool's own JSON mapping.
fn json_to_descriptors(image: &Value) -> FileDescriptorSet {
    use spoke_schema::prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage};
    let pool = DescriptorPool::global();
    let set = pool
        .get_message_by_name("google.protobuf.FileDescriptorSet")
        .unwrap();
    // Custom option values (`[acme.pets.v1.tag]`) are not in this pool;
    // the caller checks them in the text.
    let options = DeserializeOptions::new().deny_unknown_fields(false);
    let message = DynamicMessage::deserialize_with_options(set, image.clone(), &options).unwrap();
    FileDescriptorSet::decode(message.encode_to_vec().as_slice()).unwrap()
}

#[test]
fn help_documents_workspaces_the_lock_and_build() {
    use crate::support::spoke;
    let text = spoke(&["push", "--help"]).success().to_owned();
    assert!(text.contains("OWNER.MODULE"), "{text}");
    assert!(text.contains("spoke.lock"), "{text}");
    let text = spoke(&["dep", "update", "--help"]).success().to_owned();
    assert!(text.contains("version: v1"), "{text}");
    let text = spoke(&["dep", "graph", "--help"]).success().to_owned();
    assert!(text.contains("DOT"), "{text}");
    let text = spoke(&["build", "--help"]).success().to_owned();
    assert!(
        text.contains("FILE.binpb") && text.contains("--exclude-imports"),
        "{text}"
    );
    // Without a buf.yaml, --module stays a required argument.
    let empty = tempfile::tempdir().unwrap();
    let out = spoke(&["push", path_str(empty.path()), "--version", "v1.0.0"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--module is required"), "{out:?}");
    // A workspace command where there is no workspace says so.
    let out = spoke(&["dep", "update", path_str(empty.path())]);
    assert!(out.failure().contains("is in no buf workspace"), "{out:?}");
}

#[test]
fn a_workspace_pushes_over_grpc_as_over_rest() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    write_tree(
        &root,
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n    name: buf.build/acme/common\n  - path: proto/pets\n    name: buf.build/acme/pets\n",
            ),
            ("proto/common/acme/common/v1/money.proto", MONEY),
            (
                "proto/pets/acme/pets/v1/pet.proto",
                &PET.replace("import \"acme/types/v1/id.proto\";\n", "")
                    .replace("acme.types.v1.Id id = 1;", "string id = 1;"),
            ),
        ],
    );
    let out = server.spoke_grpc(&["push", path_str(&root), "--version", "v1.0.0"]);
    let lines: Vec<&str> = out.success().lines().collect();
    assert!(lines[0].starts_with("pushed acme.common@v1.0.0"), "{out:?}");
    assert!(lines[1].starts_with("pushed acme.pets@v1.0.0"), "{out:?}");
    assert_eq!(
        server.get_version("acme.pets", "v1.0.0").dependencies,
        ["acme.common@v1.0.0"]
    );
    // No deps: the lock is empty, and the graph has the workspace edge.
    server
        .spoke_grpc(&["dep", "update", path_str(&root)])
        .success();
    assert_eq!(
        fs::read_to_string(root.join("spoke.lock")).unwrap(),
        "# Generated by `spoke dep update`. Do not edit.\nversion: v1\ndeps: []\n"
    );
    assert_eq!(
        server
            .spoke_grpc(&["dep", "graph", path_str(&root)])
            .success(),
        "digraph {\n\n  \"acme.pets\" -> \"acme.common\"\n\n}\n"
    );
}

#[test]
fn a_dependency_on_a_label_locks_the_version_it_names() {
    let server = Server::start();
    push_types(&server, "v1.0.0", TYPES);
    push_types(&server, "v1.1.0", TYPES_V2);
    server
        .spoke(&["label", "set", "acme.types", "stable", "v1.0.0"])
        .success();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    quick_start(&root);
    let labelled = QUICK_START.replace("buf.build/acme/types", "buf.build/acme/types:stable");
    fs::write(root.join("buf.yaml"), labelled).unwrap();

    // Without a lock, the label is pinned to what it names at push time.
    server
        .spoke(&["push", path_str(&root), "--version", "v1.0.0"])
        .success();
    assert_eq!(
        server.get_version("acme.pets", "v1.0.0").dependencies,
        ["acme.common@v1.0.0", "acme.types@v1.0.0"]
    );
    // The lock records the exact version; moving the label afterwards
    // changes nothing until the next update.
    let out = server.spoke(&["--json", "dep", "update", path_str(&root)]);
    let lock: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(lock["deps"][0]["version"], "v1.0.0");
    server
        .spoke(&["label", "set", "acme.types", "stable", "v1.1.0"])
        .success();
    server
        .spoke(&["push", path_str(&root), "--version", "v1.1.0"])
        .success();
    assert_eq!(
        server.get_version("acme.pets", "v1.1.0").dependencies,
        ["acme.common@v1.1.0", "acme.types@v1.0.0"]
    );
    let out = server.spoke(&["--json", "dep", "update", path_str(&root)]);
    let lock: Value = serde_json::from_str(out.success()).unwrap();
    assert_eq!(lock["deps"][0]["version"], "v1.1.0");
}

/// From a module's directory, `push`, `dep update` and `dep graph` find the
/// workspace above it as build, lint and breaking do (and as buf does):
/// push takes the module and the workspace modules it imports from (buf
/// push's targets and their local dependencies), dep update locks the
/// workspace's deps at its root, dep graph draws what the module reaches.
#[test]
fn push_and_dep_from_a_module_directory_work_on_its_workspace() {
    let server = Server::start();
    let digest = push_types(&server, "v1.0.0", TYPES);
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("repo");
    quick_start(&root);
    let buf_yaml = QUICK_START.replace(
        "deps:\n",
        "  - path: proto/other\n    name: buf.build/acme/other\ndeps:\n",
    );
    write_tree(
        &root,
        &[
            ("buf.yaml", &buf_yaml),
            (
                "proto/other/acme/other/v1/other.proto",
                "syntax = \"proto3\";\npackage acme.other.v1;\nmessage Other {}\n",
            ),
        ],
    );
    let pets = root.join("proto/pets");

    let out = server.spoke_in(&pets, &["dep", "update"]);
    assert!(
        out.success()
            .starts_with(&format!("locked acme.types@v1.0.0 ({digest})\nwrote ")),
        "{out:?}"
    );
    assert!(root.join("spoke.lock").is_file());
    assert!(!pets.join("spoke.lock").exists());

    let graph = server.spoke_in(&pets, &["dep", "graph"]);
    assert_eq!(
        graph.success(),
        "digraph {\n\n  \"acme.pets\" -> \"acme.common\"\n  \"acme.pets\" -> \"acme.types@v1.0.0\"\n\n}\n"
    );
    let alone = server.spoke_in(&root.join("proto/other"), &["dep", "graph"]);
    assert_eq!(alone.success(), "digraph {\n\n  \"acme.other\"\n\n}\n");

    let out = server.spoke_in(&pets, &["push", "--version", "v1.0.0"]);
    let pushed: Vec<&str> = out
        .success()
        .lines()
        .map(|l| l.split(" (").next().unwrap())
        .collect();
    assert_eq!(
        pushed,
        ["pushed acme.common@v1.0.0", "pushed acme.pets@v1.0.0"]
    );
    let pets_version = server.get_version("acme.pets", "v1.0.0");
    assert_eq!(
        pets_version.dependencies,
        ["acme.common@v1.0.0", "acme.types@v1.0.0"]
    );
    let files: Vec<&str> = pets_version.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(files, ["acme/pets/v1/pet.proto"]);
    let modules = server.spoke(&["modules"]);
    assert!(!modules.success().contains("acme.other"), "{modules:?}");

    // From the other module: that module alone; from the root: all.
    let out = server.spoke_in(&root.join("proto/other"), &["push", "--version", "v1.0.0"]);
    assert!(
        out.success().starts_with("pushed acme.other@v1.0.0 ("),
        "{out:?}"
    );
    assert_eq!(out.stdout.lines().count(), 1);
    let out = server.spoke_in(&root, &["push", "--version", "v1.0.0"]);
    assert_eq!(out.success().lines().count(), 3, "{out:?}");

    // Inside a module, as buf: refused, naming the module.
    let inside = server.spoke_in(&pets.join("acme"), &["push", "--version", "v1.0.1"]);
    assert!(
        inside
            .failure()
            .contains("because it is contained by module at path \"proto/pets\""),
        "{inside:?}"
    );
    // Outside any workspace, --module is required as before (a usage error).
    let loose = work.path().join("loose");
    write_tree(&loose, &[("a.proto", "syntax = \"proto3\";\n")]);
    let out = server.spoke_in(&loose, &["push", "--version", "v1.0.0"]);
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(out.stderr.contains("--module is required"), "{out:?}");
}
