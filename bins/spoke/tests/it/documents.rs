//! `spoke push` sends the README.md and LICENSE at the pushed directory's
//! root; `spoke pull` writes them back.

use std::fs;

use serde_json::Value;

use crate::support::{Server, path_str, read_tree, write_tree};

const PROTO: &str = "syntax = \"proto3\";\npackage docs.v1;\nmessage Doc { string id = 1; }\n";

#[test]
fn push_sends_the_root_documents_and_pull_writes_them_back() {
    for grpc in [false, true] {
        let server = Server::start();
        let run = |args: &[&str]| {
            if grpc {
                server.spoke_grpc(args)
            } else {
                server.spoke(args)
            }
        };
        let work = tempfile::tempdir().unwrap();
        let module = work.path().join("module");
        write_tree(
            &module,
            &[
                ("docs/v1/doc.proto", PROTO),
                ("README.md", "# docs\n"),
                ("LICENSE", "MIT\n"),
                // Only the root's documents; other files are not pushed.
                ("docs/README.md", "nested\n"),
                ("NOTES.md", "notes\n"),
            ],
        );
        run(&[
            "push",
            "-m",
            "docs",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&module),
        ])
        .success();
        let version = server.get_version("docs", "v1.0.0");
        let files: Vec<&str> = version.files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(files, ["docs/v1/doc.proto"]);
        let documents: Vec<&str> = version.documents.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(documents, ["LICENSE", "README.md"]);

        // Identical again: unchanged.
        let again = run(&[
            "push",
            "-m",
            "docs",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&module),
        ]);
        assert!(
            again
                .success()
                .contains("already exists with identical content")
        );
        // A changed README is other content under the same version.
        fs::write(module.join("README.md"), "# changed\n").unwrap();
        let conflict = run(&[
            "push",
            "-m",
            "docs",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&module),
        ]);
        assert!(conflict.failure().ends_with("(VERSION_CONFLICT)"));

        let pulled = work.path().join("pulled");
        let out = run(&[
            "pull",
            "-m",
            "docs",
            "--version",
            "v1.0.0",
            "-d",
            path_str(&pulled),
        ]);
        assert_eq!(
            out.success(),
            format!(
                "pulled docs@v1.0.0 into {} (1 file, LICENSE, README.md)\n",
                pulled.display()
            )
        );
        let tree = read_tree(&pulled);
        let names: Vec<&str> = tree.keys().map(String::as_str).collect();
        assert_eq!(names, ["LICENSE", "README.md", "docs/v1/doc.proto"]);
        assert_eq!(tree["README.md"], b"# docs\n");
        let json = run(&["--json", "pull", "-m", "docs", "-d", path_str(&pulled)]);
        let json: Value = serde_json::from_str(json.success()).unwrap();
        assert_eq!(
            json["documents"],
            serde_json::json!(["LICENSE", "README.md"])
        );
    }
}

#[test]
fn a_document_that_is_not_utf8_fails_before_pushing() {
    let server = Server::start();
    let work = tempfile::tempdir().unwrap();
    write_tree(work.path(), &[("docs/v1/doc.proto", PROTO)]);
    fs::write(work.path().join("LICENSE"), [0xff, 0xfe, 0x00]).unwrap();
    let run = server.spoke(&[
        "push",
        "-m",
        "docs",
        "--version",
        "v1.0.0",
        "-d",
        path_str(work.path()),
    ]);
    let line = run.failure();
    assert!(line.contains("LICENSE is not valid UTF-8"), "{line}");
    let modules = server.spoke(&["modules"]);
    assert_eq!(modules.success(), "", "nothing was pushed");
}
