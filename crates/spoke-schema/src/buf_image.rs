//! Reading an image file as `buf build -o` writes it, to check against it:
//! binary (`.binpb`, buf's `Image`, whose files are `FileDescriptorProto`s
//! with buf's extension field 8042 saying which are imports) or protobuf
//! JSON (`.json`). A plain `FileDescriptorSet` (`protoc -o`) reads the same
//! way, every file taken as one of the image's own.

use std::collections::BTreeSet;

use prost_reflect::prost::Message as _;
use prost_reflect::{DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor};
use spoke_domain::{FilePath, ProtoFile};

use crate::compile::{CompileRequest, Compiled, ImageDecodeError, compile};

/// What is read of buf's `Image`: each file's name and whether buf marked
/// it as an import (`buf.alpha.image.v1.ImageFileExtension.is_import`).
const IMAGE_PROTO: &str = r#"syntax = "proto2";
package spoke.bufimage;
message Image { repeated ImageFile file = 1; }
message ImageFile {
  optional string name = 1;
  optional ImageFileExtension buf_extension = 8042;
}
message ImageFileExtension { optional bool is_import = 1; }
"#;

/// Each file's name and whether buf marked it as an import.
type ImportMarks = Vec<(String, bool)>;

/// How an image file is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageEncoding {
    /// The protobuf binary encoding (`.binpb`, `.bin`).
    Binary,
    /// Protobuf's canonical JSON (`.json`).
    Json,
}

/// Decodes an image file: its files that are not imports are the own files
/// (`Compiled::roots`), the rest is context.
pub fn decode_buf_image(
    bytes: &[u8],
    encoding: ImageEncoding,
) -> Result<Compiled, ImageDecodeError> {
    let invalid = |e: &dyn std::fmt::Display| ImageDecodeError::Invalid(e.to_string());
    let (set, files) = match encoding {
        ImageEncoding::Binary => {
            let image =
                DynamicMessage::decode(image_descriptor()?, bytes).map_err(|e| invalid(&e))?;
            (bytes.to_vec(), binary_files(&image))
        }
        ImageEncoding::Json => json_image(bytes)?,
    };
    let own: BTreeSet<String> = files
        .into_iter()
        .filter(|(_, is_import)| !is_import)
        .map(|(name, _)| name)
        .collect();
    Compiled::from_image(&set, &own)
}

/// The `spoke.bufimage.Image` descriptor, compiled from [`IMAGE_PROTO`].
fn image_descriptor() -> Result<MessageDescriptor, ImageDecodeError> {
    let internal = |what: String| ImageDecodeError::Invalid(format!("internal: {what}"));
    let path = FilePath::parse("spoke/bufimage.proto").map_err(|e| internal(e.to_string()))?;
    let compiled = compile(&CompileRequest {
        files: vec![ProtoFile {
            path,
            content: IMAGE_PROTO.to_owned(),
        }],
        dependencies: Vec::new(),
    })
    .map_err(|diagnostics| internal(format!("{diagnostics:?}")))?;
    compiled
        .pool()
        .get_message_by_name("spoke.bufimage.Image")
        .ok_or_else(|| internal("no Image message".to_owned()))
}

/// Each file's name and import mark, from a decoded binary image.
fn binary_files(image: &DynamicMessage) -> ImportMarks {
    let Some(files) = image.get_field_by_name("file") else {
        return Vec::new();
    };
    let Some(files) = files.as_list() else {
        return Vec::new();
    };
    files
        .iter()
        .filter_map(|file| {
            let file = file.as_message()?;
            let name = file.get_field_by_name("name")?.as_str()?.to_owned();
            let is_import = file
                .get_field_by_name("buf_extension")
                .and_then(|ext| ext.as_message()?.get_field_by_name("is_import")?.as_bool())
                .unwrap_or(false);
            Some((name, is_import))
        })
        .collect()
}

/// A JSON image as an encoded `FileDescriptorSet` and each file's name and
/// import mark. buf's extension (`bufExtension`) is read and removed;
/// other keys the descriptor does not know are ignored.
fn json_image(bytes: &[u8]) -> Result<(Vec<u8>, ImportMarks), ImageDecodeError> {
    let invalid = |e: &dyn std::fmt::Display| ImageDecodeError::Invalid(e.to_string());
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| invalid(&e))?;
    let mut files = Vec::new();
    if let Some(list) = value
        .get_mut("file")
        .and_then(serde_json::Value::as_array_mut)
    {
        for file in list {
            let Some(object) = file.as_object_mut() else {
                continue;
            };
            let extension = object
                .remove("bufExtension")
                .or_else(|| object.remove("buf_extension"));
            let is_import = extension
                .as_ref()
                .and_then(|ext| ext.get("isImport").or_else(|| ext.get("is_import")))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            if let Some(name) = object.get("name").and_then(serde_json::Value::as_str) {
                files.push((name.to_owned(), is_import));
            }
        }
    }
    let mut pool = DescriptorPool::new();
    crate::wkt::add_descriptor_proto(&mut pool, true).map_err(|e| invalid(&e))?;
    let set = pool
        .get_message_by_name("google.protobuf.FileDescriptorSet")
        .ok_or_else(|| invalid(&"google.protobuf.FileDescriptorSet is not defined"))?;
    let message = DynamicMessage::deserialize_with_options(
        set,
        value,
        &DeserializeOptions::new().deny_unknown_fields(false),
    )
    .map_err(|e| invalid(&e))?;
    Ok((message.encode_to_vec(), files))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compiled() -> Compiled {
        let file = |path: &str, content: &str| ProtoFile {
            path: FilePath::parse(path).unwrap(),
            content: content.to_owned(),
        };
        compile(&CompileRequest {
            files: vec![
                file(
                    "acme/v1/a.proto",
                    "syntax = \"proto3\";\npackage acme.v1;\nimport \"google/protobuf/timestamp.proto\";\nmessage A { google.protobuf.Timestamp at = 1; }\n",
                ),
                file(
                    "acme/v1/b.proto",
                    "syntax = \"proto3\";\npackage acme.v1;\nmessage B {}\n",
                ),
            ],
            dependencies: Vec::new(),
        })
        .unwrap()
    }

    fn roots(compiled: &Compiled) -> Vec<&str> {
        compiled.roots().map(|f| f.path.as_str()).collect()
    }

    #[test]
    fn a_plain_descriptor_set_is_all_own_files() {
        let image = compiled().image();
        let decoded = decode_buf_image(&image, ImageEncoding::Binary).unwrap();
        // The well-known import has no import mark here: it is taken as an
        // own file too, like every file of a plain set.
        assert_eq!(
            roots(&decoded),
            [
                "google/protobuf/timestamp.proto",
                "acme/v1/a.proto",
                "acme/v1/b.proto"
            ]
        );
    }

    #[test]
    fn json_images_and_buf_import_marks() {
        let json = crate::image_json(&compiled().image()).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
        for file in value["file"].as_array_mut().unwrap() {
            let is_import = file["name"].as_str().unwrap().starts_with("google/");
            file["bufExtension"] =
                serde_json::json!({"isImport": is_import, "isSyntaxUnspecified": false});
        }
        let bytes = serde_json::to_vec(&value).unwrap();
        let decoded = decode_buf_image(&bytes, ImageEncoding::Json).unwrap();
        assert_eq!(roots(&decoded), ["acme/v1/a.proto", "acme/v1/b.proto"]);

        assert!(matches!(
            decode_buf_image(b"{not json", ImageEncoding::Json),
            Err(ImageDecodeError::Invalid(_))
        ));
        assert!(matches!(
            decode_buf_image(b"\xff\xff\xff", ImageEncoding::Binary),
            Err(ImageDecodeError::Invalid(_))
        ));
    }
}
