//! Compiling an editions file against the same file as proto3 (issue 17,
//! item 7: an editions file must cost no more). The file has 200 messages
//! of ten fields (scalars, a repeated field, a map, a message field, an
//! enum field, a oneof) and an enum each; the editions form sets implicit
//! presence for the file, so both describe the same schema.
//! `cargo bench -p spoke-schema --bench editions`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use spoke_domain::{FilePath, ProtoFile};
use spoke_schema::{CompileRequest, compile};

const MESSAGES: usize = 200;

/// The file's body after its `syntax`/`edition` statement.
fn body() -> String {
    let mut out = String::from("package bench.v1;\n\n");
    for i in 0..MESSAGES {
        let next = (i + 1) % MESSAGES;
        out.push_str(&format!(
            "// Message {i}.\nmessage M{i} {{\n  string name = 1;\n  int64 count = 2;\n  \
             repeated int32 values = 3;\n  map<string, string> labels = 4;\n  M{next} next = 5;\n  \
             E{i} kind = 6;\n  bytes data = 7 [deprecated = true];\n  double ratio = 8;\n  \
             oneof choice {{\n    string text = 9;\n    int32 number = 10;\n  }}\n}}\n\n\
             enum E{i} {{\n  E{i}_UNSPECIFIED = 0;\n  E{i}_ONE = 1;\n  E{i}_TWO = 2;\n}}\n\n"
        ));
    }
    out
}

fn request(header: &str) -> CompileRequest {
    CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("bench/v1/bench.proto").unwrap(),
            content: format!("{header}\n\n{}", body()),
        }],
        dependencies: Vec::new(),
    }
}

fn editions(c: &mut Criterion) {
    let proto3 = request("syntax = \"proto3\";");
    let edition = request("edition = \"2023\";\n\noption features.field_presence = IMPLICIT;");
    // Both compile, to the same messages.
    let a = compile(&proto3).unwrap();
    let b = compile(&edition).unwrap();
    let messages = |c: &spoke_schema::Compiled| {
        let file = c.pool().get_file_by_name("bench/v1/bench.proto").unwrap();
        file.messages().count()
    };
    assert_eq!(messages(&a), messages(&b));
    let mut group = c.benchmark_group("compile_200_messages");
    group.bench_function("proto3", |bench| bench.iter(|| compile(&proto3).unwrap()));
    group.bench_function("edition_2023", |bench| {
        bench.iter(|| compile(&edition).unwrap())
    });
    group.finish();
}

criterion_group!(benches, editions);
criterion_main!(benches);
