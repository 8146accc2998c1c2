//! Plugins as real processes (shell scripts): the request they receive,
//! their answers, insertion points and every way they can fail.

use std::time::Duration;

use prost::Message as _;
use prost_types::compiler::code_generator_response::File;
use prost_types::compiler::{CodeGeneratorRequest, CodeGeneratorResponse};
use spoke_codegen::{
    CodegenError, CodegenErrorKind, Generator, PluginCommand, PluginLimits, WorkDir, generate,
    generator_version,
};

use crate::common::{input, script};

const COMMON: &str =
    "syntax = \"proto3\";\npackage acme.common.v1;\nmessage Id { string value = 1; }\n";
const USER: &str = "syntax = \"proto3\";\npackage acme.user.v1;\nimport \"acme/common/v1/id.proto\";\n// A user.\nmessage User { acme.common.v1.Id id = 1; optional string name = 2; }\n";

fn two_files() -> spoke_codegen::GenerationInput {
    input(
        &[
            ("acme/common/v1/id.proto", COMMON),
            ("acme/user/v1/user.proto", USER),
        ],
        &["acme/user/v1/user.proto"],
    )
}

/// A plugin that discards its request and answers `response`.
fn answering(dir: &std::path::Path, response: &CodeGeneratorResponse) -> Generator {
    let answer = dir.join("answer.bin");
    std::fs::write(&answer, response.encode_to_vec()).unwrap();
    let program = script(
        dir,
        "protoc-gen-answer",
        &format!("cat >/dev/null\ncat '{}'", answer.display()),
    );
    Generator::Plugin(PluginCommand::new(vec![program], PluginLimits::default()))
}

fn file(name: &str, insertion_point: Option<&str>, content: &str) -> File {
    File {
        name: Some(name.into()),
        insertion_point: insertion_point.map(Into::into),
        content: Some(content.into()),
        generated_code_info: None,
    }
}

#[test]
fn the_request_carries_files_in_dependency_order_and_the_parameter() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("request.bin");
    let program = script(
        dir.path(),
        "protoc-gen-dump",
        &format!("cat > '{}'\nprintf '\\020\\001'", saved.display()),
    );
    let generator = Generator::Plugin(PluginCommand::new(vec![program], PluginLimits::default()));
    let files = generate(&two_files(), &generator, Some("a=b,c")).unwrap();
    assert!(files.is_empty());
    let raw = std::fs::read(&saved).unwrap();
    let request = CodeGeneratorRequest::decode(raw.as_slice()).unwrap();
    assert_eq!(request.file_to_generate, ["acme/user/v1/user.proto"]);
    assert_eq!(request.parameter.as_deref(), Some("a=b,c"));
    let names: Vec<&str> = request.proto_file.iter().map(|f| f.name()).collect();
    assert_eq!(
        names,
        ["acme/common/v1/id.proto", "acme/user/v1/user.proto"]
    );
    // Source info travels with the files.
    assert!(request.proto_file[1].source_code_info.is_some());
    // Like buf, no compiler version.
    assert!(request.compiler_version.is_none());
    // source_file_descriptors (field 17) holds the file to generate.
    assert!(
        raw.windows(2).any(|w| w == [0x8a, 0x01]),
        "field 17 present"
    );
}

#[test]
fn files_come_back_sorted_with_insertion_points_applied() {
    let dir = tempfile::tempdir().unwrap();
    let response = CodeGeneratorResponse {
        supported_features: Some(1),
        file: vec![
            file("z/b.txt", None, "B\n"),
            file(
                "a.txt",
                None,
                "head\n    // @@protoc_insertion_point(body)\ntail\n",
            ),
            file("a.txt", Some("body"), "one\ntwo\n"),
        ],
        ..Default::default()
    };
    let files = generate(&two_files(), &answering(dir.path(), &response), None).unwrap();
    let names: Vec<&str> = files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["a.txt", "z/b.txt"]);
    assert_eq!(
        String::from_utf8_lossy(&files[0].content),
        "head\n    one\n    two\n    // @@protoc_insertion_point(body)\ntail"
    );
}

#[test]
fn an_insertion_point_that_is_missing_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let response = CodeGeneratorResponse {
        supported_features: Some(1),
        file: vec![
            file("a.txt", None, "x\n"),
            file("a.txt", Some("nowhere"), "y"),
        ],
        ..Default::default()
    };
    let error = generate(&two_files(), &answering(dir.path(), &response), None).unwrap_err();
    assert!(matches!(error, CodegenError::Insertion { .. }), "{error}");
    assert!(error.to_string().contains("\"nowhere\""), "{error}");
    assert!(error.to_string().contains("protoc-gen-answer"), "{error}");
}

#[test]
fn an_error_answer_names_the_plugin_and_its_message() {
    let dir = tempfile::tempdir().unwrap();
    let response = CodeGeneratorResponse {
        error: Some("unknown option \"frob\"".into()),
        ..Default::default()
    };
    let error = generate(&two_files(), &answering(dir.path(), &response), None).unwrap_err();
    assert!(matches!(error, CodegenError::PluginError { .. }));
    assert_eq!(
        error.to_string(),
        "plugin protoc-gen-answer reported an error: unknown option \"frob\""
    );
    assert_eq!(error.kind(), CodegenErrorKind::GeneratorFailed);
}

#[test]
fn a_crash_reports_the_status_and_the_stderr_tail() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "protoc-gen-crash",
        "cat >/dev/null\nhead -c 10000 /dev/zero | tr '\\0' x >&2\necho >&2\necho 'panic: nil map' >&2\nexit 3",
    );
    let generator = Generator::Plugin(PluginCommand::new(vec![program], PluginLimits::default()));
    let error = generate(&two_files(), &generator, None).unwrap_err();
    let CodegenError::Crashed {
        plugin,
        status,
        stderr_tail,
    } = &error
    else {
        panic!("{error}");
    };
    assert_eq!(plugin, "protoc-gen-crash");
    assert_eq!(status, "exit status 3");
    assert!(stderr_tail.ends_with("panic: nil map\n"));
    assert!(stderr_tail.len() <= 4096, "only the tail is kept");
    assert!(error.to_string().contains("panic: nil map"), "{error}");
}

#[test]
fn a_hanging_plugin_is_killed_at_the_time_limit_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    // The child sleep keeps stdout open: the whole group must go.
    let program = script(
        dir.path(),
        "protoc-gen-hang",
        "echo waiting >&2\nsleep 60 &\nsleep 60",
    );
    let limits = PluginLimits {
        timeout: Some(Duration::from_millis(300)),
        ..Default::default()
    };
    let generator = Generator::Plugin(PluginCommand::new(vec![program], limits));
    let error = generate(&two_files(), &generator, None).unwrap_err();
    assert!(matches!(error, CodegenError::TimedOut { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "plugin protoc-gen-hang timed out after 300ms; stderr: waiting"
    );
}

#[test]
fn output_beyond_the_limit_stops_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "protoc-gen-flood",
        "cat >/dev/null\nexec cat /dev/zero",
    );
    let limits = PluginLimits {
        max_output_bytes: Some(64 * 1024),
        ..Default::default()
    };
    let generator = Generator::Plugin(PluginCommand::new(vec![program], limits));
    let error = generate(&two_files(), &generator, None).unwrap_err();
    assert!(
        matches!(error, CodegenError::OutputTooLarge { limit: 65536, .. }),
        "{error}"
    );
}

#[test]
fn garbage_on_stdout_is_an_invalid_response() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(
        dir.path(),
        "protoc-gen-garbage",
        "cat >/dev/null\nprintf '\\377\\377\\377'",
    );
    let generator = Generator::Plugin(PluginCommand::new(vec![program], PluginLimits::default()));
    let error = generate(&two_files(), &generator, None).unwrap_err();
    assert!(
        matches!(error, CodegenError::InvalidResponse { .. }),
        "{error}"
    );
}

#[test]
fn a_file_outside_the_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let response = CodeGeneratorResponse {
        supported_features: Some(1),
        file: vec![file("../escape.txt", None, "x")],
        ..Default::default()
    };
    let error = generate(&two_files(), &answering(dir.path(), &response), None).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not a relative path inside the output"),
        "{error}"
    );
}

#[test]
fn proto3_optional_needs_the_feature() {
    let dir = tempfile::tempdir().unwrap();
    let response = CodeGeneratorResponse::default();
    let error = generate(&two_files(), &answering(dir.path(), &response), None).unwrap_err();
    assert!(matches!(error, CodegenError::Unsupported { .. }), "{error}");
    assert!(error.to_string().contains("proto3 optional"), "{error}");
    assert_eq!(error.kind(), CodegenErrorKind::BadInput);
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let generator = Generator::Plugin(PluginCommand::new(
        vec!["protoc-gen-does-not-exist-anywhere".into()],
        PluginLimits::default(),
    ));
    let error = generate(&two_files(), &generator, None).unwrap_err();
    assert!(matches!(error, CodegenError::Spawn { .. }), "{error}");
    assert!(generator_version(&generator).is_err());
}

#[test]
fn confinement_clears_the_environment_and_uses_a_temporary_directory() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.txt");
    let program = script(
        dir.path(),
        "protoc-gen-env",
        &format!(
            "cat >/dev/null\n{{ pwd; echo \"home=$HOME only=$ONLY\"; }} > '{}'\nprintf '\\020\\001'",
            report.display()
        ),
    );
    let limits = PluginLimits {
        clear_env: true,
        env: vec![("ONLY".into(), "this".into())],
        work_dir: WorkDir::Temp,
        ..Default::default()
    };
    let generator = Generator::Plugin(PluginCommand::new(vec![program], limits));
    generate(&two_files(), &generator, None).unwrap();
    let text = std::fs::read_to_string(&report).unwrap();
    let mut lines = text.lines();
    let cwd = lines.next().unwrap();
    assert_ne!(cwd, std::env::current_dir().unwrap().to_string_lossy());
    assert!(
        !std::path::Path::new(cwd).exists(),
        "the temporary directory is removed"
    );
    assert_eq!(lines.next(), Some("home= only=this"));
}

/// The server confines plugins with an empty environment; a plugin named
/// without a path is still found on the server's own `PATH` (`true` answers
/// an empty response, which is a valid one).
#[test]
fn a_bare_name_runs_from_this_processs_path_when_the_environment_is_cleared() {
    let limits = PluginLimits {
        clear_env: true,
        work_dir: WorkDir::Temp,
        ..Default::default()
    };
    let generator = Generator::Plugin(PluginCommand::new(vec!["true".into()], limits));
    let common = input(
        &[("acme/common/v1/id.proto", COMMON)],
        &["acme/common/v1/id.proto"],
    );
    let files = generate(&common, &generator, None).unwrap();
    assert!(files.is_empty(), "{files:?}");
    assert_eq!(generator_version(&generator).unwrap().len(), 64);
}

#[test]
fn a_plugin_version_is_the_digest_of_its_program() {
    let dir = tempfile::tempdir().unwrap();
    let program = script(dir.path(), "protoc-gen-v", "exit 0");
    let generator = Generator::Plugin(PluginCommand::new(
        vec![program.clone()],
        PluginLimits::default(),
    ));
    let version = generator_version(&generator).unwrap();
    assert_eq!(version.len(), 64);
    std::fs::write(&program, "#!/bin/sh\nexit 1\n").unwrap();
    assert_ne!(generator_version(&generator).unwrap(), version);
}

#[test]
fn bad_input_is_refused_before_any_plugin_runs() {
    let mut input = two_files();
    input.to_generate = vec!["nope.proto".into()];
    let generator = Generator::Plugin(PluginCommand::new(
        vec!["/bin/false".into()],
        PluginLimits::default(),
    ));
    let error = generate(&input, &generator, None).unwrap_err();
    assert_eq!(error.kind(), CodegenErrorKind::BadInput);
    input.files.reverse();
    input.to_generate = vec!["acme/user/v1/user.proto".into()];
    let error = generate(&input, &generator, None).unwrap_err();
    assert!(
        error.to_string().contains("does not come before it"),
        "{error}"
    );
}
