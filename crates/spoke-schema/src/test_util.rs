//! What the crate's unit tests share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use spoke_domain::{FilePath, ProtoFile};

use crate::compile::{CompileRequest, Compiled, compile};

/// One version of one file, `acme/v1/a.proto`, compiled.
pub(crate) fn version(source: &str) -> Compiled {
    compile(&CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("acme/v1/a.proto").unwrap(),
            content: source.to_owned(),
        }],
        dependencies: Vec::new(),
    })
    .expect("compiles")
}

/// One version of several files, compiled.
pub(crate) fn compile_files(files: &[(&str, &str)]) -> Compiled {
    compile(&CompileRequest {
        files: files
            .iter()
            .map(|(path, content)| ProtoFile {
                path: FilePath::parse(path).unwrap(),
                content: (*content).to_owned(),
            })
            .collect(),
        dependencies: Vec::new(),
    })
    .expect("compiles")
}
