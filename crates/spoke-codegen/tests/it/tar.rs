//! The archive against the `tar` tool itself.

use std::process::Command;

use spoke_codegen::{GeneratedFile, tar_gz};

#[test]
fn tar_lists_and_extracts_the_archive_exactly() {
    let long = format!("{}/{}.rs", "deep/".repeat(40), "n".repeat(120));
    let files = vec![
        GeneratedFile {
            name: "src/lib.rs".into(),
            content: b"pub mod a;\n".to_vec(),
        },
        GeneratedFile {
            name: "Cargo.toml".into(),
            content: vec![b'x'; 1500],
        },
        GeneratedFile {
            name: long.clone(),
            content: b"long".to_vec(),
        },
    ];
    let archive = tar_gz(&files);
    assert_eq!(archive, tar_gz(&files), "deterministic");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.tar.gz");
    std::fs::write(&path, &archive).unwrap();
    let listing = Command::new("tar")
        .arg("-tvzf")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        listing.status.success(),
        "{}",
        String::from_utf8_lossy(&listing.stderr)
    );
    let listing = String::from_utf8_lossy(&listing.stdout);
    let lines: Vec<&str> = listing.lines().collect();
    assert_eq!(lines.len(), 3);
    for line in &lines {
        assert!(line.starts_with("-rw-r--r-- 0/0"), "{line}");
        assert!(line.contains("1970-01-01 00:00"), "{line}");
    }
    assert!(lines[0].ends_with(" Cargo.toml"));
    assert!(lines[1].ends_with(&long), "{}", lines[1]);
    let out = dir.path().join("x");
    std::fs::create_dir(&out).unwrap();
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&path)
        .arg("-C")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    for file in &files {
        assert_eq!(
            std::fs::read(out.join(&file.name)).unwrap(),
            file.content,
            "{}",
            file.name
        );
    }
}
