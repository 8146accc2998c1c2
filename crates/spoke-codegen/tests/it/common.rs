use std::path::Path;

use prost::Message as _;
use spoke_codegen::GenerationInput;

/// Compiles in-memory files with protox and returns the image's input,
/// generating `to_generate`.
pub fn input(files: &[(&str, &str)], to_generate: &[&str]) -> GenerationInput {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, content) in files {
        let path = dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
    }
    let names: Vec<&str> = files.iter().map(|(n, _)| *n).collect();
    let set = protox::Compiler::new([dir.path()])
        .expect("compiler")
        .include_imports(true)
        .include_source_info(true)
        .open_files(names)
        .expect("compile")
        .file_descriptor_set();
    GenerationInput::from_image(
        &set.encode_to_vec(),
        to_generate.iter().map(|s| s.to_string()).collect(),
    )
    .expect("input")
}

/// Writes an executable shell script.
pub fn script(dir: &Path, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path.to_string_lossy().into_owned()
}
