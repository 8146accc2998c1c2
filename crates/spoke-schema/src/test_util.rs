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
