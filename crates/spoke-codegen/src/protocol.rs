//! The protoc plugin protocol (`google/protobuf/compiler/plugin.proto`).
//! The request is written by hand so descriptors go out as stored bytes;
//! the response is decoded with its current fields (`prost-types` lacks
//! the editions bounds and `source_file_descriptors`).

use prost::Message;

use crate::ResponseFile;
use crate::input::GenerationInput;
use crate::wire;

/// `CodeGeneratorRequest` field numbers.
const REQ_FILE_TO_GENERATE: u32 = 1;
const REQ_PARAMETER: u32 = 2;
const REQ_PROTO_FILE: u32 = 15;
const REQ_SOURCE_FILE_DESCRIPTORS: u32 = 17;

/// `CodeGeneratorResponse.Feature` bits.
pub(crate) const FEATURE_PROTO3_OPTIONAL: u64 = 1;
pub(crate) const FEATURE_SUPPORTS_EDITIONS: u64 = 2;

/// Encodes the request as buf does: `file_to_generate`, `parameter` (when
/// given), every file in dependency order as `proto_file` (the files to
/// generate without their source-retention options) and the files to
/// generate again, those options kept, as `source_file_descriptors`; no
/// `compiler_version` (buf sends none).
pub(crate) fn encode_request(input: &GenerationInput, parameter: Option<&str>) -> Vec<u8> {
    let size: usize = input.files.iter().map(|f| f.descriptor.len() + 8).sum();
    let mut out = Vec::with_capacity(size * 2);
    for name in &input.to_generate {
        wire::put_bytes(REQ_FILE_TO_GENERATE, name.as_bytes(), &mut out);
    }
    if let Some(parameter) = parameter.filter(|p| !p.is_empty()) {
        wire::put_bytes(REQ_PARAMETER, parameter.as_bytes(), &mut out);
    }
    // As buf does, only the files to generate go without their
    // source-retention options; imports are sent whole.
    let targets: std::collections::HashSet<&str> =
        input.to_generate.iter().map(String::as_str).collect();
    for file in &input.files {
        let descriptor = match &file.source_descriptor {
            Some(source) if !targets.contains(file.name.as_str()) => source,
            _ => &file.descriptor,
        };
        wire::put_bytes(REQ_PROTO_FILE, descriptor, &mut out);
    }
    for file in input.targets() {
        let source = file.source_descriptor.as_ref().unwrap_or(&file.descriptor);
        wire::put_bytes(REQ_SOURCE_FILE_DESCRIPTORS, source, &mut out);
    }
    out
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct Response {
    #[prost(string, optional, tag = "1")]
    pub error: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    pub supported_features: Option<u64>,
    #[prost(int32, optional, tag = "3")]
    pub minimum_edition: Option<i32>,
    #[prost(int32, optional, tag = "4")]
    pub maximum_edition: Option<i32>,
    #[prost(message, repeated, tag = "15")]
    pub file: Vec<File>,
}

#[derive(Clone, PartialEq, Message)]
pub(crate) struct File {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(string, optional, tag = "2")]
    pub insertion_point: Option<String>,
    // Bytes, not string: protoc and buf pass content through unchecked.
    #[prost(bytes = "vec", optional, tag = "15")]
    pub content: Option<Vec<u8>>,
}

/// The response's files, a file without a name continuing the previous
/// one (as protoc reads them), each name checked to stay inside the output
/// directory.
pub(crate) fn response_files(files: Vec<File>) -> Result<Vec<ResponseFile>, String> {
    let mut out: Vec<ResponseFile> = Vec::with_capacity(files.len());
    for file in files {
        let content = file.content.unwrap_or_default();
        match file.name.filter(|n| !n.is_empty()) {
            None => match out.last_mut() {
                Some(previous) => previous.content.extend_from_slice(&content),
                None => return Err("the first file has no name".into()),
            },
            Some(name) => {
                check_name(&name)?;
                out.push(ResponseFile {
                    name,
                    insertion_point: file.insertion_point.filter(|p| !p.is_empty()),
                    content,
                });
            }
        }
    }
    Ok(out)
}

fn check_name(name: &str) -> Result<(), String> {
    let bad = name.starts_with('/')
        || name.contains('\\')
        || name.contains('\0')
        || name
            .split('/')
            .any(|part| part.is_empty() || part == "." || part == "..");
    if bad {
        return Err(format!(
            "file name {name:?} is not a relative path inside the output"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str, content: &str) -> File {
        File {
            name: Some(name.into()),
            insertion_point: None,
            content: Some(content.as_bytes().to_vec()),
        }
    }

    #[test]
    fn nameless_files_continue_the_previous_one() {
        let files = vec![
            named("a.txt", "one"),
            File {
                name: None,
                insertion_point: None,
                content: Some(b"two".to_vec()),
            },
        ];
        let out = response_files(files).unwrap_or_default();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].content, b"onetwo".to_vec());
    }

    #[test]
    fn names_that_leave_the_output_are_rejected() {
        for name in ["/etc/passwd", "../x", "a/../../x", "a//b", "a\\b"] {
            assert!(response_files(vec![named(name, "")]).is_err(), "{name}");
        }
        assert!(response_files(vec![named("a/b/c.ts", "")]).is_ok());
    }
}
