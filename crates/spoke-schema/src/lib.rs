//! Spoke's protobuf engine: compiles a version's in-memory `.proto` files
//! against its dependency closure and the well-known types, builds the
//! descriptor image and extracts symbols for search.
//!
//! Pure: no I/O, no async runtime, no storage. Callers hand in file contents
//! and get descriptors or located diagnostics back.
#![forbid(unsafe_code)]

pub mod breaking;
mod buf_image;
mod checks;
mod compile;
mod depth;
mod diagnostic;
pub mod diff;
pub mod editions;
mod image;
pub mod lint;
pub mod pairing;
mod protoc;
pub mod reference;
mod source_info;
mod symbols;
#[cfg(test)]
mod test_util;
mod wkt;

pub use buf_image::{ImageEncoding, decode_buf_image};
pub use checks::{MAX_PACKAGE_COMPONENTS, MAX_PACKAGE_LENGTH};
pub use compile::{
    CompileRequest, Compiled, DependencyFiles, ImageDecodeError, ImageFile, ImageOptions, Provider,
    compile,
};
pub use depth::{MAX_BRACKET_DEPTH, MAX_MESSAGE_DEPTH, MAX_OPTION_VALUE_DEPTH, STACK_BYTES};
pub use diagnostic::{BufForm, Diagnostic, DiagnosticKind, in_bufs_words};
pub use editions::Edition;
pub use image::{ImageJsonError, image_json};
pub use spoke_domain::{Symbol, SymbolKind};
pub use symbols::extract_symbols;
pub use wkt::{is_well_known, well_known_image};

/// The descriptor crates this one speaks, re-exported so callers use the
/// same versions.
pub use prost_reflect::{self, prost, prost_types};
