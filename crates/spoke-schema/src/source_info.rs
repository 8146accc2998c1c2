use std::collections::HashMap;

use prost_reflect::prost_types::FileDescriptorProto;
use prost_reflect::prost_types::source_code_info::Location;

use crate::diagnostic::one_based;

/// A file's source locations by descriptor path, for turning a descriptor
/// element into a line and its comments.
pub(crate) struct Locations<'a> {
    by_path: HashMap<&'a [i32], &'a Location>,
}

impl<'a> Locations<'a> {
    pub(crate) fn new(file: &'a FileDescriptorProto) -> Self {
        let mut by_path = HashMap::new();
        for location in file
            .source_code_info
            .iter()
            .flat_map(|info| info.location.iter())
        {
            // The first location of a path is the declaration itself; later
            // ones (e.g. repeated `option` statements) are not.
            by_path.entry(location.path.as_slice()).or_insert(location);
        }
        Self { by_path }
    }

    pub(crate) fn get(&self, path: &[i32]) -> Option<&'a Location> {
        self.by_path.get(path).copied()
    }

    /// The 1-based start (line, column) of the element at `path`.
    pub(crate) fn position(&self, path: &[i32]) -> Option<(u32, u32)> {
        let location = self.get(path)?;
        match location.span.as_slice() {
            [line, column, ..] => Some(one_based(*line, *column)),
            _ => None,
        }
    }
}

/// Tags of `FileDescriptorProto`, `DescriptorProto`, … fields, as used in
/// source-info paths (see descriptor.proto).
pub(crate) mod tag {
    pub const FILE_PACKAGE: i32 = 2;
    pub const FILE_DEPENDENCY: i32 = 3;
    pub const FILE_MESSAGE_TYPE: i32 = 4;
    pub const FILE_ENUM_TYPE: i32 = 5;
    pub const FILE_EXTENSION: i32 = 7;
    pub const MESSAGE_FIELD: i32 = 2;
    pub const MESSAGE_NESTED_TYPE: i32 = 3;
    pub const MESSAGE_ENUM_TYPE: i32 = 4;
    pub const MESSAGE_EXTENSION: i32 = 6;
    pub const FIELD_NAME: i32 = 1;
    pub const FIELD_JSON_NAME: i32 = 10;
    pub const ENUM_VALUE: i32 = 2;
    pub const ENUM_VALUE_NAME: i32 = 1;
}
