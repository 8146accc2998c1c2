//! The built-in `rust` generator: what it writes, its parameters, and (one
//! slow test) that the output builds with prost and tonic.

use std::process::Command;

use spoke_codegen::{BuiltinGenerator, CodegenError, Generator, generate, generator_version};

use crate::common::input;

const COMMON: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\nmessage Id { string value = 1; }\n";
const USER: &str = "syntax = \"proto3\";
package acme.user.v1;
import \"acme/common/v1/id.proto\";
import \"google/protobuf/timestamp.proto\";
// A user.
message User {
  acme.common.v1.Id id = 1;
  optional string name = 2;
  google.protobuf.Timestamp created = 3;
  map<string, string> labels = 4;
}
message GetUserRequest { acme.common.v1.Id id = 1; }
service UserService {
  rpc GetUser(GetUserRequest) returns (User);
}
";

const RUST: Generator = Generator::Builtin(BuiltinGenerator::Rust);

fn both() -> spoke_codegen::GenerationInput {
    input(
        &[
            ("acme/common/v1/id.proto", COMMON),
            ("acme/user/v1/user.proto", USER),
        ],
        &["acme/common/v1/id.proto", "acme/user/v1/user.proto"],
    )
}

#[test]
fn one_file_per_package_with_messages_and_services() {
    let files = generate(&both(), &RUST, Some("include_file=lib.rs")).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["acme.common.v1.rs", "acme.user.v1.rs", "lib.rs"]);
    let user = String::from_utf8_lossy(&files[1].content);
    assert!(user.contains("pub struct User {"), "{user}");
    assert!(
        user.contains("/// A user."),
        "comments come from source info"
    );
    assert!(user.contains("super::super::common::v1::Id"), "{user}");
    assert!(user.contains("::prost_types::Timestamp"), "{user}");
    assert!(user.contains("pub mod user_service_client"), "{user}");
    assert!(user.contains("pub mod user_service_server"), "{user}");
    let lib = String::from_utf8_lossy(&files[2].content);
    assert!(lib.contains("pub mod acme {\n    pub mod common {\n        pub mod v1 {\n            include!(\"acme.common.v1.rs\");"), "{lib}");
}

#[test]
fn parameters_shape_the_output() {
    let only_user = input(
        &[
            ("acme/common/v1/id.proto", COMMON),
            ("acme/user/v1/user.proto", USER),
        ],
        &["acme/user/v1/user.proto"],
    );
    let files = generate(
        &only_user,
        &RUST,
        Some("extern_path=.acme.common.v1=::acme_common::acme::common::v1,no_server"),
    )
    .unwrap();
    assert_eq!(files.len(), 1);
    let user = String::from_utf8_lossy(&files[0].content);
    assert!(
        user.contains("::acme_common::acme::common::v1::Id"),
        "{user}"
    );
    assert!(!user.contains("user_service_server"));
    assert!(user.contains("user_service_client"));
}

#[test]
fn unknown_parameters_are_refused() {
    let error = generate(&both(), &RUST, Some("frobnicate")).unwrap_err();
    assert!(
        matches!(error, CodegenError::InvalidParameter { .. }),
        "{error}"
    );
    assert_eq!(
        error.to_string(),
        "invalid parameter for rust: unknown option \"frobnicate\""
    );
}

#[test]
fn the_version_names_the_generator_and_the_crate() {
    assert_eq!(
        generator_version(&RUST).unwrap(),
        format!("rust-{}", env!("CARGO_PKG_VERSION"))
    );
}

/// Slow (builds prost and tonic once into a directory kept under the
/// target directory): the generated crate compiles and round-trips a
/// message, offline, with the versions of this workspace's lock file.
#[test]
fn generated_code_builds_and_round_trips() {
    let files = generate(&both(), &RUST, Some("include_file=lib.rs")).unwrap();
    let project = tempfile::tempdir().unwrap();
    let src = project.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    for file in &files {
        std::fs::write(src.join(&file.name), &file.content).unwrap();
    }
    std::fs::write(
        project.path().join("Cargo.toml"),
        "[package]\nname = \"generated\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n\
         [dependencies]\nprost = \"0.14\"\nprost-types = \"0.14\"\ntonic = \"0.14\"\ntonic-prost = \"0.14\"\n",
    )
    .unwrap();
    let workspace_lock = concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock");
    std::fs::copy(workspace_lock, project.path().join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(project.path().join("tests")).unwrap();
    std::fs::write(
        project.path().join("tests/roundtrip.rs"),
        "use prost::Message;\n\
         use generated::acme::{common::v1::Id, user::v1::User};\n\
         #[test]\nfn roundtrip() {\n\
           let user = User { id: Some(Id { value: \"u1\".into() }), name: Some(\"Ada\".into()), ..Default::default() };\n\
           let bytes = user.encode_to_vec();\n\
           assert_eq!(User::decode(bytes.as_slice()).unwrap(), user);\n\
           let _client: Option<generated::acme::user::v1::user_service_client::UserServiceClient<tonic::transport::Channel>> = None;\n\
         }\n",
    )
    .unwrap();
    let target = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("generated-rust");
    let output = Command::new(env!("CARGO"))
        .args(["test", "--offline", "--quiet"])
        .current_dir(project.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo test failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}
