//! `spoke lint` and `spoke breaking` as drop-ins for `buf lint` and `buf
//! breaking`: the same tree, the same arguments, run by both binaries in
//! the same directory; stdout must be byte-identical and the exit codes
//! equal, in every `--error-format`. Needs the buf CLI (`SPOKE_TEST_BUF`,
//! which `cargo xtask test` installs); skips with a note without it unless
//! `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::path::{Path, PathBuf};
use std::process::Command;

use spoke_schema::prost::Message as _;
use spoke_schema::prost_types::FileDescriptorSet;

use crate::support::{Run, Server, outcome, path_str, spoke_in, write_tree};

const LINT_FORMATS: &[&str] = &[
    "text",
    "json",
    "msvs",
    "junit",
    "github-actions",
    "gitlab-code-quality",
    "config-ignore-yaml",
];
const BREAKING_FORMATS: &[&str] = &[
    "text",
    "json",
    "msvs",
    "junit",
    "github-actions",
    "gitlab-code-quality",
];

fn buf() -> Option<PathBuf> {
    let found = std::env::var_os("SPOKE_TEST_BUF")
        .map(PathBuf::from)
        .filter(|path| path.exists());
    if found.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_BUF does not name the buf CLI"
        );
        eprintln!("SPOKE_TEST_BUF is not set; skipping the comparison with buf");
    }
    found
}

/// A test's scratch directory and buf's cache, kept apart; `None` (the
/// test skips) without buf. Each test states only its trees and arguments.
struct Parity {
    buf: PathBuf,
    work: tempfile::TempDir,
    cache: PathBuf,
}

impl Parity {
    fn new() -> Option<Parity> {
        let buf = buf()?;
        let work = tempfile::tempdir().unwrap();
        let cache = work.path().join("cache");
        Some(Parity { buf, work, cache })
    }

    fn work(&self) -> &Path {
        self.work.path()
    }

    /// Writes `files` under `name` in the scratch directory; returns it.
    fn tree(&self, name: &str, files: &[(&str, &str)]) -> PathBuf {
        let dir = self.work().join(name);
        write_tree(&dir, files);
        dir
    }

    /// Runs buf in `dir` with `args`.
    fn buf(&self, dir: &Path, args: &[&str]) -> (Option<i32>, String) {
        let output = Command::new(&self.buf)
            .args(args)
            .current_dir(dir)
            .env("BUF_CACHE_DIR", &self.cache)
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8(output.stdout).unwrap(),
        )
    }

    /// Runs `buf ARGS` and `spoke ARGS` in `dir`; asserts the same exit
    /// code and the same stdout, byte for byte; returns spoke's run.
    #[track_caller]
    fn same(&self, dir: &Path, args: &[&str]) -> Run {
        let (code, stdout) = self.buf(dir, args);
        let ours = spoke_in(dir, args);
        assert_eq!(
            (ours.code, ours.stdout.as_str()),
            (code, stdout.as_str()),
            "spoke {} differs from buf in {}; spoke's stderr: {}",
            args.join(" "),
            dir.display(),
            ours.stderr
        );
        ours
    }

    /// `breaking --against AGAINST` in `dir` in every error format, the
    /// same as buf's and a breaking change (exit 100) in each.
    #[track_caller]
    fn same_breaking_in_every_format(&self, dir: &Path, against: &str) {
        for format in BREAKING_FORMATS {
            let args = ["breaking", "--against", against, "--error-format", format];
            let out = self.same(dir, &args);
            assert_eq!(out.code, Some(100), "{out:?}");
        }
    }

    /// `build -o` with `flags` in `dir`, by buf and by spoke: both succeed
    /// and write the same descriptors.
    #[track_caller]
    fn same_image(&self, dir: &Path, flags: &[&str]) {
        let theirs = self.work().join("buf.binpb");
        let ours = self.work().join("spoke.binpb");
        let mut args = vec!["build", "-o", path_str(&theirs)];
        args.extend(flags);
        let (code, _) = self.buf(dir, &args);
        assert_eq!(code, Some(0), "buf build in {}", dir.display());
        args[2] = path_str(&ours);
        spoke_in(dir, &args).success();
        let image = |path: &Path| {
            FileDescriptorSet::decode(std::fs::read(path).unwrap().as_slice()).unwrap()
        };
        assert_eq!(
            image(&ours),
            image(&theirs),
            "build in {} {flags:?}",
            dir.display()
        );
    }
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=spoke", "-c", "user.email=spoke@localhost"])
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

/// Makes `dir` a git repository with everything in it committed on `main`.
fn commit_all(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "one"]);
}

const A_V1: &str = "syntax = \"proto3\";\npackage acme.v1;\nmessage foo_bar {\n  string FooId = 1;\n  map<string, int32> counts = 2;\n}\nenum Color { RED = 0; }\n";
/// A_V1 with `FooId` deleted, `counts` retyped (a message in a `<…>`, which
/// Go's JSON and XML escape) and the enum gone.
const A_V2: &str = "syntax = \"proto3\";\npackage acme.v1;\nmessage foo_bar {\n  map<string, int64> counts = 2;\n}\n";
const B: &str = "syntax = \"proto3\";\npackage b;\nmessage X { int32 y = 1; }\n";

#[test]
fn every_error_format_is_bufs_byte_for_byte() {
    let Some(t) = Parity::new() else { return };
    let old = t.tree(
        "old",
        &[
            ("buf.yaml", "version: v2\n"),
            ("acme/v1/a.proto", A_V1),
            ("b.proto", B),
        ],
    );
    let new = t.tree(
        "new",
        &[("buf.yaml", "version: v2\n"), ("acme/v1/a.proto", A_V2)],
    );
    for format in LINT_FORMATS {
        // In the directory, and naming it from its parent (paths prefixed).
        t.same(&old, &["lint", "--error-format", format]);
        t.same(t.work(), &["lint", "old", "--error-format", format]);
    }
    // An unknown format is refused with buf's status (1, not a usage 2).
    t.same(&old, &["lint", "--error-format", "nope"]);
    t.same(
        &new,
        &["breaking", "--against", "../old", "--error-format", "nope"],
    );
    // A deleted file, a deleted enum, a field and a map changed.
    t.same_breaking_in_every_format(&new, "../old");
    for format in BREAKING_FORMATS {
        t.same(
            t.work(),
            &[
                "breaking",
                "./new/",
                "--against",
                "old",
                "--error-format",
                format,
            ],
        );
    }
    // Nothing found: nothing printed, exit 0, in every format.
    let clean = t.tree(
        "clean",
        &[
            ("buf.yaml", "version: v2\n"),
            (
                "acme/v1/a.proto",
                "syntax = \"proto3\";\npackage acme.v1;\nmessage A {}\n",
            ),
        ],
    );
    for format in LINT_FORMATS {
        let out = t.same(&clean, &["lint", "--error-format", format]);
        assert_eq!((out.code, out.stdout.as_str()), (Some(0), ""));
    }
    // A bad configuration: exit 1 for both.
    write_tree(&new, &[("buf.yaml", "version: v2\nlint:\n  use: [NOPE]\n")]);
    t.same(&new, &["lint"]);
    // config-ignore-yaml is refused by breaking: exit 1.
    let out = t.same(
        &new,
        &[
            "breaking",
            "--against",
            "../old",
            "--error-format",
            "config-ignore-yaml",
        ],
    );
    assert_eq!(out.code, Some(1));
}

#[test]
fn compile_errors_exit_as_bufs_in_every_format() {
    let Some(t) = Parity::new() else { return };
    let dir = t.tree(
        "broken",
        &[
            ("buf.yaml", "version: v2\n"),
            (
                "acme/v1/a.proto",
                "syntax = \"proto3\";\npackage acme.v1;\nmessage Foo { Missing id = 1; }\n",
            ),
        ],
    );
    // The messages are the compiler's own (protox's, not buf's), so only
    // what does not depend on them is compared: the exit code, the
    // finding's file, line and column and its type.
    for format in LINT_FORMATS {
        let args = ["lint", "--error-format", format];
        let (code, theirs) = t.buf(&dir, &args);
        let ours = spoke_in(&dir, &args);
        assert_eq!(
            (ours.code, code),
            (Some(100), Some(100)),
            "{format}: {ours:?}"
        );
        assert_eq!(ours.stderr, "", "{format}");
        let at = |text: &str| text.lines().count();
        assert_eq!(
            at(&ours.stdout),
            at(&theirs),
            "{format}: {ours:?} vs {theirs}"
        );
    }
    let args = ["lint", "--error-format", "text"];
    let (_, theirs) = t.buf(&dir, &args);
    let ours = spoke_in(&dir, &args);
    assert!(theirs.starts_with("acme/v1/a.proto:3:15:"), "{theirs}");
    assert!(ours.stdout.starts_with("acme/v1/a.proto:3:15:"), "{ours:?}");
}

const ORDER: &str = "syntax = \"proto3\";\npackage acme.v1;\nmessage Order {\n  string id = 1;\n  int32 quantity = 2;\n  string note = 3;\n}\n";
const ORDER_V2: &str = "syntax = \"proto3\";\npackage acme.v1;\nmessage Order {\n  string id = 1;\n  int64 quantity = 2;\n}\n";

/// Acceptance: a git repository with a breaking commit on a branch;
/// `--against '.git#branch=main'` (and tags, refs, subdirectories, other
/// repositories, image files) reports what buf reports.
#[test]
fn breaking_against_git_references_and_images_is_bufs() {
    let Some(t) = Parity::new() else { return };
    let repo = t.tree(
        "repo",
        &[
            ("buf.yaml", "version: v2\nmodules:\n  - path: proto\n"),
            ("proto/acme/v1/order.proto", ORDER),
        ],
    );
    commit_all(&repo);
    git(&repo, &["tag", "v1"]);
    let images = t.work().join("images");
    std::fs::create_dir_all(&images).unwrap();
    for image in ["image.binpb", "image.json"] {
        let out = images.join(image);
        let (code, _) = t.buf(&repo, &["build", "-o", path_str(&out)]);
        assert_eq!(code, Some(0));
    }
    git(&repo, &["checkout", "-qb", "feature"]);
    write_tree(&repo, &[("proto/acme/v1/order.proto", ORDER_V2)]);
    git(&repo, &["commit", "-qam", "two"]);

    t.same_breaking_in_every_format(&repo, ".git#branch=main");
    for against in [
        ".git#tag=v1",
        ".git#ref=HEAD~1",
        ".git#branch=main,subdir=proto",
        ".git#branch=main,depth=1",
        "../images/image.binpb",
        "../images/image.json",
    ] {
        let out = t.same(&repo, &["breaking", "--against", against]);
        assert_eq!(out.code, Some(100), "{against}: {out:?}");
    }
    // From the module directory, against the same directory of a commit
    // of the repository one level up.
    t.same(
        &repo.join("proto"),
        &[
            "breaking",
            "--against",
            "../.git#tag=v1,subdir=proto",
            "--error-format",
            "json",
        ],
    );
    // Against HEAD itself: nothing.
    let out = t.same(&repo, &["breaking", "--against", ".git"]);
    assert_eq!(out.code, Some(0));
    // A branch that does not exist, a bad key: exit 1 for both; the
    // repository is left as it was.
    for bad in [
        ".git#branch=nope",
        ".git#bogus=1",
        ".git#branch=main,tag=v1",
    ] {
        let out = t.same(&repo, &["breaking", "--against", bad]);
        assert_eq!(out.code, Some(1), "{bad}");
        assert!(out.stderr.starts_with("error: --against"), "{bad}: {out:?}");
    }
    let status = Command::new("git")
        .args(["status", "--porcelain"])
        .current_dir(&repo)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(status.stdout).unwrap(), "");
}

const MONEY: &str = "syntax = \"proto3\";\npackage acme.common.v1;\nmessage money { int64 units = 1; }\nenum Kind { A = 0; }\n";
const MONEY_V2: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\nmessage money { int32 units = 1; }\n";
const ORDER_APP: &str = "syntax = \"proto3\";\npackage acme.app.v1;\nimport \"acme/common/v1/money.proto\";\nmessage order { acme.common.v1.money price = 1; string BadName = 2; }\n";
const ORDER_APP_V2: &str = "syntax = \"proto3\";\npackage acme.app.v1;\nimport \"acme/common/v1/money.proto\";\nmessage order { acme.common.v1.money price = 2; }\n";

/// Acceptance: buf's quick-start layout (a root buf.yaml v2 with two
/// modules, one importing the other, each with its own lint section) —
/// lint and breaking from the root agree with buf in every format.
#[test]
fn a_workspace_root_is_checked_as_buf_checks_it() {
    let Some(t) = Parity::new() else { return };
    let root = t.tree(
        "ws",
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n    name: buf.build/acme/common\n    lint:\n      use:\n        - STANDARD\n  - path: proto/app\n    name: buf.build/acme/app\n    lint:\n      use:\n        - BASIC\n      except:\n        - FIELD_LOWER_SNAKE_CASE\nlint:\n  use:\n    - MINIMAL\nbreaking:\n  use:\n    - FILE\n",
            ),
            ("proto/common/acme/common/v1/money.proto", MONEY),
            ("proto/app/acme/app/v1/order.proto", ORDER_APP),
        ],
    );
    for format in LINT_FORMATS {
        let out = t.same(&root, &["lint", "--error-format", format]);
        assert_eq!(out.code, Some(100));
        t.same(t.work(), &["lint", "ws", "--error-format", format]);
    }
    for path in ["proto/common/acme/common/v1/money.proto", "proto/app/acme"] {
        t.same(&root, &["lint", "--path", path]);
    }
    // A module's own directory is not a --path (buf: name it as the input).
    let out = t.same(&root, &["lint", "--path", "proto/app"]);
    assert_eq!(out.code, Some(1));
    // A module's directory as the input is that module in its workspace;
    // a directory inside a module is refused.
    for format in LINT_FORMATS {
        t.same(&root, &["lint", "proto/common", "--error-format", format]);
        t.same(&root.join("proto/app"), &["lint", "--error-format", format]);
    }
    let out = t.same(&root, &["lint", "proto/common/acme"]);
    assert_eq!(out.code, Some(1));

    commit_all(&root);
    git(&root, &["checkout", "-qb", "next"]);
    write_tree(
        &root,
        &[
            ("proto/common/acme/common/v1/money.proto", MONEY_V2),
            ("proto/app/acme/app/v1/order.proto", ORDER_APP_V2),
        ],
    );
    let image = t.work().join("main.binpb");
    let (code, _) = t.buf(
        &root,
        &["build", ".git#branch=main", "-o", path_str(&image)],
    );
    assert_eq!(code, Some(0));
    t.same_breaking_in_every_format(&root, ".git#branch=main");
    for format in BREAKING_FORMATS {
        // One image against the two modules, configured alike.
        t.same(
            &root,
            &[
                "breaking",
                "--against",
                path_str(&image),
                "--error-format",
                format,
            ],
        );
    }
    // A module directory against the same directory of a commit, from the
    // root and from inside it: the files it imports are compared too.
    for format in BREAKING_FORMATS {
        t.same(
            &root,
            &[
                "breaking",
                "proto/app",
                "--against",
                ".git#branch=main,subdir=proto/app",
                "--error-format",
                format,
            ],
        );
        t.same(
            &root.join("proto/app"),
            &[
                "breaking",
                "--against",
                "../../.git#branch=main,subdir=proto/app",
                "--error-format",
                format,
            ],
        );
    }
    // --path: the files named, and (breaking) what they import.
    for path in ["proto/app/acme", "proto/common/acme/common/v1/money.proto"] {
        t.same(
            &root,
            &["breaking", "--against", ".git#branch=main", "--path", path],
        );
    }
    // Module by module against the committed tree as a directory.
    let old = t.work().join("old");
    git(&root, &["worktree", "add", "-q", path_str(&old), "main"]);
    t.same(&root, &["breaking", "--against", "../old"]);
}

/// A workspace's `deps` come from the registry, through its spoke.lock
/// when it has one: lint and breaking from the root compile against the
/// locked version, not the latest.
#[test]
fn workspace_deps_resolve_through_the_registry_and_the_lock() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    let types = work.path().join("types");
    let money = |units: &str| {
        format!(
            "syntax = \"proto3\";\npackage acme.types.v1;\nmessage Money {{ {units} units = 1; }}\n"
        )
    };
    write_tree(&types, &[("acme/types/v1/money.proto", &money("int64"))]);
    let push = |version: &str| {
        server
            .spoke(&[
                "push",
                "-m",
                "acme.types",
                "--version",
                version,
                "-d",
                path_str(&types),
            ])
            .success();
    };
    push("v1.0.0");
    let root = work.path().join("ws");
    write_tree(
        &root,
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto\n    name: buf.build/acme/shop\ndeps:\n  - buf.build/acme/types\n",
            ),
            (
                "proto/acme/shop/v1/order.proto",
                "syntax = \"proto3\";\npackage acme.shop.v1;\nimport \"acme/types/v1/money.proto\";\nmessage order { acme.types.v1.Money price = 1; }\n",
            ),
        ],
    );
    assert_eq!(
        outcome(&server.spoke_in(&root, &["lint"])),
        (
            100,
            "proto/acme/shop/v1/order.proto:4:9:Message name \"order\" should be PascalCase, such as \"Order\".\n"
                .to_owned()
        )
    );
    server.spoke_in(&root, &["dep", "update"]).success();
    // The dependency moves on, in a way that no longer compiles with the
    // workspace: the lock keeps lint on v1.0.0.
    write_tree(
        &types,
        &[(
            "acme/types/v1/money.proto",
            "syntax = \"proto3\";\npackage acme.types.v1;\nmessage Cash {}\n",
        )],
    );
    push("v2.0.0");
    let (code, _) = outcome(&server.spoke_in(&root, &["lint"]));
    assert_eq!(code, 100);
    let out = server.spoke_in(&root, &["lint", "--error-format", "json"]);
    assert!(!out.stdout.contains("COMPILE"), "{out:?}");
    // Breaking against itself: nothing.
    assert_eq!(
        outcome(&server.spoke_in(&root, &["breaking", "--against", "."])),
        (0, String::new())
    );
    // Without the lock, the latest version is used: Money is gone.
    std::fs::remove_file(root.join("spoke.lock")).unwrap();
    let out = server.spoke_in(&root, &["lint", "--error-format", "json"]);
    assert_eq!(out.code, Some(100), "{out:?}");
    assert!(out.stdout.contains("\"type\":\"COMPILE\""), "{out:?}");
}

/// As buf by default, a module's check compares the files it imports too:
/// a change that a module's own configuration allows (common: WIRE) is
/// still reported through a module that imports it (app: FILE).
#[test]
fn imported_files_are_checked_with_the_importers_configuration() {
    let Some(t) = Parity::new() else { return };
    let money = |field: &str| {
        format!(
            "syntax = \"proto3\";\npackage acme.common.v1;\nmessage Money {{ int64 {field} = 1; }}\n"
        )
    };
    let root = t.tree(
        "ws",
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n    breaking:\n      use: [WIRE]\n  - path: proto/app\n",
            ),
            ("proto/common/acme/common/v1/money.proto", &money("units")),
            (
                "proto/app/acme/app/v1/order.proto",
                "syntax = \"proto3\";\npackage acme.app.v1;\nimport \"acme/common/v1/money.proto\";\nmessage Order { acme.common.v1.Money price = 1; }\n",
            ),
        ],
    );
    commit_all(&root);
    write_tree(
        &root,
        &[("proto/common/acme/common/v1/money.proto", &money("amount"))],
    );
    t.same_breaking_in_every_format(&root, ".git#branch=main");
}

const COMMON_MONEY: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\nmessage Money { int64 units = 1; }\n";

/// Run from inside a workspace, as buf is from a module's directory: the
/// workspace above is found (buf.yaml v2 with two modules). A module's
/// directory is that module, checked and built in its workspace (the
/// other module importable); a directory holding modules is those
/// modules; a directory inside a module is refused with buf's message; a
/// directory that is no module's is a module of its own. `lint` and
/// `build -o` agree with buf in each.
#[test]
fn a_subdirectory_finds_its_workspace_as_buf_does() {
    let Some(t) = Parity::new() else { return };
    let root = t.tree(
        "repo",
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n  - path: proto/pets\n",
            ),
            ("proto/common/acme/common/v1/money.proto", COMMON_MONEY),
            (
                "proto/pets/acme/pets/v1/pet.proto",
                "syntax = \"proto3\";\npackage acme.pets.v1;\nimport \"acme/common/v1/money.proto\";\nmessage Pet { acme.common.v1.Money price = 1; string Name = 2; }\n",
            ),
            (
                "proto/other/loose.proto",
                "syntax = \"proto3\";\nmessage loose { int32 X = 1; }\n",
            ),
        ],
    );
    for dir in ["proto", "proto/pets", "proto/common", "proto/other"] {
        let at = root.join(dir);
        t.same(&at, &["lint", "--error-format", "json"]);
        t.same(&at, &["lint", "--error-format", "text"]);
        for flags in [&[][..], &["--exclude-imports"][..]] {
            t.same_image(&at, flags);
        }
    }
    // Inside a module: both refuse, naming the module.
    let inside = root.join("proto/pets/acme");
    let (code, _) = t.buf(&inside, &["lint"]);
    assert_eq!(code, Some(1));
    let message = spoke_in(&inside, &["lint"]).failure().to_owned();
    assert!(
        message.contains(
            "failed to build input \"proto/pets/acme\" because it is contained by module at path \"proto/pets\""
        ),
        "{message}"
    );
    let built = spoke_in(&inside, &["build"]).failure().to_owned();
    assert_eq!(built, message);
}

/// A v1beta1 buf.yaml is read with v1beta1's rules and categories: the
/// same findings and exit codes as buf's, and a rule v1beta1 lacks is a
/// configuration error for both.
#[test]
fn a_v1beta1_configuration_lints_as_bufs() {
    let Some(t) = Parity::new() else { return };
    let root = t.tree(
        "repo",
        &[(
            "acme/v1/a.proto",
            "syntax = \"proto3\";\npackage acme.v1;\nimport \"google/protobuf/empty.proto\";\nmessage Foo {\n  string descriptor = 1;\n  string Bar = 2;\n}\nenum E { A = 0; }\n",
        )],
    );
    for config in [
        "version: v1beta1\n",
        "version: v1beta1\nlint:\n  use: [SENSIBLE, OTHER]\n",
        "version: v1beta1\nlint:\n  use: [STYLE_DEFAULT]\n  except: [ENUM_VALUE_PREFIX]\n",
        "version: v1beta1\nlint:\n  use: [IMPORT_USED]\n",
    ] {
        std::fs::write(root.join("buf.yaml"), config).unwrap();
        for format in ["text", "json"] {
            t.same(&root, &["lint", "--error-format", format]);
        }
    }
    // Breaking: v1beta1 files a retyped field under FIELD_SAME_TYPE in WIRE
    // (v1 and v2 have FIELD_WIRE_COMPATIBLE_TYPE there).
    let old = "syntax = \"proto3\";\npackage acme.v1;\nmessage Foo {\n  int32 count = 1;\n  int64 total = 2;\n}\n";
    let new = "syntax = \"proto3\";\npackage acme.v1;\nmessage Foo {\n  string count = 1;\n  repeated int64 total = 2;\n}\n";
    for config in [
        "version: v1beta1\nbreaking:\n  use: [WIRE]\n",
        "version: v1beta1\nbreaking:\n  use: [WIRE_JSON]\n",
        "version: v1beta1\n",
        "version: v1beta1\nbreaking:\n  use: [FIELD_WIRE_COMPATIBLE_TYPE]\n",
    ] {
        write_tree(
            t.work(),
            &[
                ("old/buf.yaml", config),
                ("old/acme/v1/a.proto", old),
                ("new/buf.yaml", config),
                ("new/acme/v1/a.proto", new),
            ],
        );
        for format in ["text", "json"] {
            let args = [
                "breaking",
                "new",
                "--against",
                "old",
                "--error-format",
                format,
            ];
            t.same(t.work(), &args);
        }
    }
}

const EDITIONS_V1: &str = "edition = \"2023\";\npackage acme.v1;\n\nimport \"acme/v1/legacy.proto\";\n\noption features.field_presence = IMPLICIT;\n\nmessage Order {\n  string id = 1;\n  int32 Quantity = 2;\n  Legacy legacy = 3 [features.message_encoding = DELIMITED];\n  Color color = 4 [features.field_presence = EXPLICIT];\n}\n";
/// EDITIONS_V1 with `Quantity` deleted and `id` no longer implicit.
const EDITIONS_V2: &str = "edition = \"2023\";\npackage acme.v1;\n\nimport \"acme/v1/legacy.proto\";\n\noption features.field_presence = IMPLICIT;\n\nmessage Order {\n  string id = 1 [features.field_presence = EXPLICIT];\n  Legacy legacy = 3 [features.message_encoding = DELIMITED];\n  Color color = 4 [features.field_presence = EXPLICIT];\n}\n";
const LEGACY: &str = "syntax = \"proto2\";\npackage acme.v1;\n\nenum Color {\n  COLOR_RED = 1;\n}\n\nmessage Legacy {\n  optional string name = 1;\n}\n";

/// An editions module mixed with proto2: `spoke lint` prints what `buf
/// lint` prints, and `spoke build -o` writes the descriptors `buf build -o`
/// writes (`syntax = "editions"`, the edition, the features).
#[test]
fn an_editions_module_lints_and_builds_as_buf() {
    let Some(t) = Parity::new() else { return };
    let [old, new] = [("old", EDITIONS_V1), ("new", EDITIONS_V2)].map(|(name, order)| {
        t.tree(
            name,
            &[
                ("buf.yaml", "version: v2\n"),
                ("acme/v1/order.proto", order),
                ("acme/v1/legacy.proto", LEGACY),
            ],
        )
    });
    let lint = t.same(&old, &["lint", "--error-format", "json"]);
    assert!(lint.stdout.contains("Quantity"), "{lint:?}");
    let breaking = spoke_in(
        &new,
        &["breaking", "--against", "../old", "--error-format", "json"],
    );
    assert!(breaking.stdout.contains("FIELD_NO_DELETE"), "{breaking:?}");

    let (code, _) = t.buf(&old, &["build", "-o", "buf.json"]);
    assert_eq!(code, Some(0));
    let ours = spoke_in(&old, &["build", "-o", "spoke.json"]);
    assert_eq!(ours.code, Some(0), "{ours:?}");
    // Source info is compared by spoke-schema's editions corpus, with the
    // differences protox and buf have in every syntax; here the descriptors.
    let files = |name: &str| -> Vec<serde_json::Value> {
        let text = std::fs::read_to_string(old.join(name)).unwrap();
        let image: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut files = image["file"].as_array().unwrap().clone();
        for file in &mut files {
            let file = file.as_object_mut().unwrap();
            file.remove("bufExtension");
            file.remove("sourceCodeInfo");
        }
        files
    };
    let (ours, theirs) = (files("spoke.json"), files("buf.json"));
    assert_eq!(ours, theirs);
    let order = ours
        .iter()
        .find(|f| f["name"] == "acme/v1/order.proto")
        .unwrap();
    assert_eq!(
        (&order["syntax"], &order["edition"]),
        (&"editions".into(), &"EDITION_2023".into())
    );
}

/// `dep graph` from the root, a directory holding modules and each module
/// draws what `buf dep graph` draws there (buf names mapped to Spoke's by
/// the name rule, unnamed modules by their path).
#[test]
fn dep_graph_from_a_subdirectory_is_bufs() {
    let Some(t) = Parity::new() else { return };
    let root = t.tree(
        "repo",
        &[
            (
                "buf.yaml",
                "version: v2\nmodules:\n  - path: proto/common\n  - path: proto/pets\n    name: buf.build/acme/pets\n  - path: proto/other\n    name: buf.build/acme/other\n  - path: proto/alone\n    name: buf.build/acme/alone\n",
            ),
            ("proto/common/acme/common/v1/money.proto", COMMON_MONEY),
            (
                "proto/pets/acme/pets/v1/pet.proto",
                "syntax = \"proto3\";\npackage acme.pets.v1;\nimport \"acme/common/v1/money.proto\";\nmessage Pet { acme.common.v1.Money price = 1; }\n",
            ),
            (
                "proto/other/acme/other/v1/other.proto",
                "syntax = \"proto3\";\npackage acme.other.v1;\nimport \"acme/pets/v1/pet.proto\";\nmessage Other { acme.pets.v1.Pet pet = 1; }\n",
            ),
            (
                "proto/alone/acme/alone/v1/alone.proto",
                "syntax = \"proto3\";\npackage acme.alone.v1;\nmessage Alone {}\n",
            ),
        ],
    );
    for dir in [
        ".",
        "proto",
        "proto/common",
        "proto/pets",
        "proto/other",
        "proto/alone",
    ] {
        let at = root.join(dir);
        let (code, theirs) = t.buf(&at, &["dep", "graph"]);
        assert_eq!(code, Some(0), "buf dep graph in {dir}");
        let theirs = theirs.replace("\"buf.build/acme/", "\"acme.");
        let ours = spoke_in(&at, &["dep", "graph"]);
        assert_eq!(ours.success(), theirs, "dep graph in {dir}");
    }
}

/// A v1beta1 buf.yaml's `build.roots` (and `build.excludes`, relative to
/// the buf.yaml's directory) are read as buf reads them: the same image
/// from `build -o`, the same lint findings (printed under their root), the
/// same refusals of roots within roots, excludes outside every root and
/// roots in a v1 file.
#[test]
fn v1beta1_roots_build_and_lint_as_bufs() {
    let Some(t) = Parity::new() else { return };
    let root = t.tree(
        "repo",
        &[
            (
                "buf.yaml",
                "version: v1beta1\nbuild:\n  roots:\n    - proto\n    - vendor/\n  excludes:\n    - proto/acme/skip\nlint:\n  use: [DEFAULT]\n",
            ),
            (
                "proto/acme/a/v1/a.proto",
                "syntax = \"proto3\";\npackage acme.a.v1;\nimport \"ext/e.proto\";\nmessage A { ext.E e = 1; string Bad = 2; }\n",
            ),
            (
                "vendor/ext/e.proto",
                "syntax = \"proto3\";\npackage ext;\nmessage E {}\n",
            ),
            (
                "proto/acme/skip/s.proto",
                "syntax = \"proto3\";\npackage acme.skip;\nmessage S { int32 x = 1 }\n",
            ),
            ("other/o.proto", "this is not in a root\n"),
        ],
    );
    for (dir, shown) in [(root.as_path(), "."), (t.work(), "repo")] {
        for format in ["text", "json"] {
            t.same(dir, &["lint", shown, "--error-format", format]);
        }
    }
    for flags in [&[][..], &["--exclude-imports"][..]] {
        t.same_image(&root, flags);
    }
    // A lint `ignore` entry names the path under the root, as in buf.
    std::fs::write(
        root.join("buf.yaml"),
        "version: v1beta1\nbuild:\n  roots: [proto, vendor]\n  excludes: [proto/acme/skip]\nlint:\n  ignore: [ext]\n",
    )
    .unwrap();
    t.same(&root, &["lint"]);
    for (config, expected) in [
        (
            "version: v1beta1\nbuild:\n  roots: [proto, proto/acme]\n",
            "root \"proto/acme\" is within root \"proto\" which is not allowed",
        ),
        (
            "version: v1beta1\nbuild:\n  roots: [proto]\n  excludes: [acme/skip]\n",
            "exclude \"acme/skip\" is not contained in any root, which is not valid",
        ),
        (
            "version: v1\nbuild:\n  roots: [proto]\n",
            "build.roots cannot be set on version v1: [proto]",
        ),
    ] {
        std::fs::write(root.join("buf.yaml"), config).unwrap();
        for command in ["build", "lint"] {
            let (code, _) = t.buf(&root, &[command]);
            assert_eq!(code, Some(1), "buf {command} with {config}");
            let out = spoke_in(&root, &[command]);
            assert_eq!(out.code, Some(1), "{command} with {config}: {out:?}");
            assert!(out.stderr.contains(expected), "{command}: {out:?}");
        }
    }
    // Two roots with one path: refused by both.
    std::fs::write(
        root.join("buf.yaml"),
        "version: v1beta1\nbuild:\n  roots: [proto, vendor]\n  excludes: [proto/acme/skip]\n",
    )
    .unwrap();
    write_tree(
        &root,
        &[("vendor/acme/a/v1/a.proto", "syntax = \"proto3\";\n")],
    );
    let (code, _) = t.buf(&root, &["build"]);
    assert_eq!(code, Some(1));
    let out = spoke_in(&root, &["build"]);
    assert_eq!(out.code, Some(1), "{out:?}");
    assert!(
        out.stderr.contains(
            "acme/a/v1/a.proto exists in multiple locations: proto/acme/a/v1/a.proto vendor/acme/a/v1/a.proto"
        ),
        "{out:?}"
    );
}
