use std::collections::{HashMap, HashSet};

use prost::Message;
use prost_types::FileDescriptorProto;

use crate::CodegenError;
use crate::wire;

/// `FileDescriptorSet.file`.
const SET_FILE: u32 = 1;
/// `FileDescriptorProto.name`, `.dependency`.
const FILE_NAME: u32 = 1;
const FILE_DEPENDENCY: u32 = 3;

/// One file's descriptor, encoded as stored (source info and every option
/// kept, custom ones included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    pub name: String,
    pub descriptor: Vec<u8>,
}

/// What a generator works on: every file of an image in dependency order
/// (each file after its imports) and the names of the files to generate.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GenerationInput {
    pub files: Vec<InputFile>,
    pub to_generate: Vec<String>,
}

impl GenerationInput {
    /// Splits an encoded `FileDescriptorSet` (an image as `protoc
    /// --include_imports --include_source_info` writes it, which is the
    /// order the registry stores) without decoding the descriptors.
    pub fn from_image(image: &[u8], to_generate: Vec<String>) -> Result<Self, CodegenError> {
        let bad = |e: String| CodegenError::InvalidInput(format!("image: {e}"));
        let mut files = Vec::new();
        for field in wire::fields(image).map_err(bad)? {
            let wire::Value::Bytes(descriptor) = field.value else {
                continue;
            };
            if field.number != SET_FILE {
                continue;
            }
            files.push(InputFile {
                name: file_name(descriptor).map_err(bad)?,
                descriptor: descriptor.to_vec(),
            });
        }
        let input = Self { files, to_generate };
        input.check()?;
        Ok(input)
    }

    /// From decoded descriptors (whatever `prost-types` does not model,
    /// such as custom options, is already gone from them).
    pub fn from_descriptors(files: &[FileDescriptorProto], to_generate: Vec<String>) -> Self {
        Self {
            files: files
                .iter()
                .map(|f| InputFile {
                    name: f.name().to_string(),
                    descriptor: f.encode_to_vec(),
                })
                .collect(),
            to_generate,
        }
    }

    /// One input per group of files to generate, each with only the files
    /// its group imports (transitively), in this input's order: what a
    /// plugin run per directory gets (`strategy: directory`).
    pub fn split(&self, groups: Vec<Vec<String>>) -> Result<Vec<GenerationInput>, CodegenError> {
        let index: HashMap<&str, usize> = self
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.name.as_str(), i))
            .collect();
        let mut deps: Vec<Vec<usize>> = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let fields = wire::fields(&file.descriptor)
                .map_err(|e| CodegenError::InvalidInput(format!("{}: {e}", file.name)))?;
            deps.push(
                fields
                    .iter()
                    .filter(|f| f.number == FILE_DEPENDENCY)
                    .filter_map(|f| match f.value {
                        wire::Value::Bytes(b) => std::str::from_utf8(b).ok(),
                        _ => None,
                    })
                    .filter_map(|name| index.get(name).copied())
                    .collect(),
            );
        }
        groups
            .into_iter()
            .map(|to_generate| {
                let mut keep = vec![false; self.files.len()];
                let mut stack = Vec::new();
                for name in &to_generate {
                    let i = *index.get(name.as_str()).ok_or_else(|| {
                        CodegenError::InvalidInput(format!(
                            "{name} is to be generated but is not in the input"
                        ))
                    })?;
                    stack.push(i);
                }
                while let Some(i) = stack.pop() {
                    if !std::mem::replace(&mut keep[i], true) {
                        stack.extend(&deps[i]);
                    }
                }
                let files = self
                    .files
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(f, _)| f.clone())
                    .collect();
                Ok(GenerationInput { files, to_generate })
            })
            .collect()
    }

    /// Holds the invariants every generator relies on: unique names, each
    /// import before its importer, and something known to generate.
    pub(crate) fn check(&self) -> Result<(), CodegenError> {
        let mut seen: HashSet<&str> = HashSet::new();
        for file in &self.files {
            let fields = wire::fields(&file.descriptor)
                .map_err(|e| CodegenError::InvalidInput(format!("{}: {e}", file.name)))?;
            for dep in fields.iter().filter(|f| f.number == FILE_DEPENDENCY) {
                let wire::Value::Bytes(dep) = dep.value else {
                    continue;
                };
                let dep = String::from_utf8_lossy(dep);
                if !seen.contains(dep.as_ref()) {
                    return Err(CodegenError::InvalidInput(format!(
                        "{} imports {dep}, which does not come before it",
                        file.name
                    )));
                }
            }
            if !seen.insert(&file.name) {
                return Err(CodegenError::InvalidInput(format!(
                    "{} appears twice",
                    file.name
                )));
            }
        }
        if self.to_generate.is_empty() {
            return Err(CodegenError::InvalidInput("no file to generate".into()));
        }
        for name in &self.to_generate {
            if !seen.contains(name.as_str()) {
                return Err(CodegenError::InvalidInput(format!(
                    "{name} is to be generated but is not in the input"
                )));
            }
        }
        Ok(())
    }

    /// The files to generate, in input order.
    pub(crate) fn targets(&self) -> impl Iterator<Item = &InputFile> {
        let wanted: HashSet<&str> = self.to_generate.iter().map(String::as_str).collect();
        self.files
            .iter()
            .filter(move |f| wanted.contains(f.name.as_str()))
    }

    pub(crate) fn decode(file: &InputFile) -> Result<FileDescriptorProto, CodegenError> {
        FileDescriptorProto::decode(file.descriptor.as_slice())
            .map_err(|e| CodegenError::InvalidInput(format!("{}: {e}", file.name)))
    }
}

fn file_name(descriptor: &[u8]) -> Result<String, String> {
    let fields = wire::fields(descriptor)?;
    let name = wire::last_bytes(&fields, FILE_NAME).ok_or("a file without a name")?;
    String::from_utf8(name.to_vec()).map_err(|_| "a file name that is not UTF-8".to_string())
}
