//! Compiling an editions file against the same file as proto3 (issue 17,
//! item 7: an editions file must cost no more). The file has 200 messages
//! of ten fields (scalars, a repeated field, a map, a message field, an
//! enum field, a oneof) and an enum each; the editions form sets implicit
//! presence for the file, so both describe the same schema. The same pair
//! again with a reserved name in each message measures an editions file
//! whose names the front-end quotes for the parser, moving each statement
//! into the blanks before it; their spans in the file's source info are
//! then mapped back (see `editions::rewrite`).
//! `cargo bench -p spoke-schema --bench editions`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use spoke_domain::{FilePath, ProtoFile};
use spoke_schema::{CompileRequest, compile};

const MESSAGES: usize = 200;

/// The file's body after its `syntax`/`edition` statement; `reserved`, a
/// statement reserving a name in each message, as the syntax spells it.
fn body(reserved: &str) -> String {
    let mut out = String::from("package bench.v1;\n\n");
    for i in 0..MESSAGES {
        let next = (i + 1) % MESSAGES;
        out.push_str(&format!(
            "// Message {i}.\nmessage M{i} {{\n  string name = 1;\n  int64 count = 2;\n  \
             repeated int32 values = 3;\n  map<string, string> labels = 4;\n  M{next} next = 5;\n  \
             E{i} kind = 6;\n  bytes data = 7 [deprecated = true];\n  double ratio = 8;\n  \
             oneof choice {{\n    string text = 9;\n    int32 number = 10;\n  }}\n{reserved}}}\n\n\
             enum E{i} {{\n  E{i}_UNSPECIFIED = 0;\n  E{i}_ONE = 1;\n  E{i}_TWO = 2;\n}}\n\n"
        ));
    }
    out
}

fn request(header: &str, reserved: &str) -> CompileRequest {
    CompileRequest {
        files: vec![ProtoFile {
            path: FilePath::parse("bench/v1/bench.proto").unwrap(),
            content: format!("{header}\n\n{}", body(reserved)),
        }],
        dependencies: Vec::new(),
    }
}

fn editions(c: &mut Criterion) {
    const PROTO3: &str = "syntax = \"proto3\";";
    const EDITION: &str = "edition = \"2023\";\n\noption features.field_presence = IMPLICIT;";
    // Reserved names are strings in proto3 and identifiers in editions,
    // which the editions front-end quotes.
    let cases = [
        ("proto3", request(PROTO3, "")),
        ("edition_2023", request(EDITION, "")),
        (
            "proto3_reserved_names",
            request(PROTO3, "  reserved \"old\";\n"),
        ),
        (
            "edition_2023_reserved_names",
            request(EDITION, "  reserved old;\n"),
        ),
    ];
    // Each pair compiles, to the same messages.
    let messages = |request: &CompileRequest| {
        let compiled = compile(request).unwrap();
        let file = compiled
            .pool()
            .get_file_by_name("bench/v1/bench.proto")
            .unwrap();
        let reserved: usize = file.messages().map(|m| m.reserved_names().count()).sum();
        (file.messages().count(), reserved)
    };
    assert_eq!(messages(&cases[0].1), messages(&cases[1].1));
    assert_eq!(messages(&cases[2].1), messages(&cases[3].1));
    let mut group = c.benchmark_group("compile_200_messages");
    for (name, request) in &cases {
        group.bench_function(*name, |bench| bench.iter(|| compile(request).unwrap()));
    }
    group.finish();
}

criterion_group!(benches, editions);
criterion_main!(benches);
