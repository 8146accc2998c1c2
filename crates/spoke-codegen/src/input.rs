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
    /// What a plugin gets as `proto_file` when the file is to be
    /// generated.
    pub descriptor: Vec<u8>,
    /// The file with its source-retention options, when that differs from
    /// `descriptor`: a plugin gets it as `source_file_descriptors`, and as
    /// `proto_file` when the file is only imported (see
    /// [`GenerationInput::with_source_descriptors`]).
    pub source_descriptor: Option<Vec<u8>>,
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
                source_descriptor: None,
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
                    source_descriptor: None,
                })
                .collect(),
            to_generate,
        }
    }

    /// The files as a plugin's `source_file_descriptors` should carry them:
    /// `image` holds the same files as this input with every option kept,
    /// where this input's descriptors (its `proto_file`s) go without those
    /// declared `retention = RETENTION_SOURCE`, as protoc and buf strip them.
    pub fn with_source_descriptors(mut self, image: &[u8]) -> Result<Self, CodegenError> {
        let bad = |e: String| CodegenError::InvalidInput(format!("source image: {e}"));
        let mut sources: HashMap<String, &[u8]> = HashMap::new();
        for field in wire::fields(image).map_err(bad)? {
            if let (SET_FILE, wire::Value::Bytes(descriptor)) = (field.number, field.value) {
                sources.insert(file_name(descriptor).map_err(bad)?, descriptor);
            }
        }
        for file in &mut self.files {
            let source = sources.get(&file.name).ok_or_else(|| {
                CodegenError::InvalidInput(format!("source image: {} is missing", file.name))
            })?;
            file.source_descriptor =
                (*source != file.descriptor.as_slice()).then(|| source.to_vec());
        }
        Ok(self)
    }

    /// One input per group of files to generate, each with only the files
    /// its group imports (transitively), ordered as buf orders the image
    /// it hands a plugin: from the group's files sorted by path, each
    /// file after its imports (in declaration order), the files to
    /// generate in that order too. What a plugin run per directory gets
    /// (`strategy: directory`), or, with one group, per input (`all`).
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
            .map(|mut to_generate| {
                to_generate.sort();
                let mut seen = vec![false; self.files.len()];
                let mut order = Vec::new();
                for name in &to_generate {
                    let i = *index.get(name.as_str()).ok_or_else(|| {
                        CodegenError::InvalidInput(format!(
                            "{name} is to be generated but is not in the input"
                        ))
                    })?;
                    imports_first(i, &deps, &mut seen, &mut order);
                }
                let wanted: HashSet<&str> = to_generate.iter().map(String::as_str).collect();
                let to_generate = order
                    .iter()
                    .map(|&i| &self.files[i].name)
                    .filter(|name| wanted.contains(name.as_str()))
                    .cloned()
                    .collect();
                let files = order.iter().map(|&i| self.files[i].clone()).collect();
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

/// Appends `file` after its imports (depth first, in declaration order),
/// each file once.
fn imports_first(file: usize, deps: &[Vec<usize>], seen: &mut [bool], order: &mut Vec<usize>) {
    // An explicit stack: import chains can be long.
    let mut stack = vec![(file, 0)];
    if std::mem::replace(&mut seen[file], true) {
        return;
    }
    while let Some((current, next)) = stack.pop() {
        match deps[current].get(next) {
            Some(&import) => {
                stack.push((current, next + 1));
                if !std::mem::replace(&mut seen[import], true) {
                    stack.push((import, 0));
                }
            }
            None => order.push(current),
        }
    }
}

fn file_name(descriptor: &[u8]) -> Result<String, String> {
    let fields = wire::fields(descriptor)?;
    let name = wire::last_bytes(&fields, FILE_NAME).ok_or("a file without a name")?;
    String::from_utf8(name.to_vec()).map_err(|_| "a file name that is not UTF-8".to_string())
}
