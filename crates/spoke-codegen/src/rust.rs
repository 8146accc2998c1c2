//! The built-in `rust` generator: prost messages and tonic clients and
//! servers, one `<package>.rs` per protobuf package, from the descriptors
//! alone (prost-build's `generate`, no protoc).
//!
//! Parameters (comma-separated, the names protoc-gen-prost and
//! protoc-gen-tonic use): `extern_path=.pkg=::path` (repeatable: types of
//! `.pkg` come from elsewhere, e.g. a dependency's crate), `bytes=.path`,
//! `btree_map=.path`, `compile_well_known_types`, `no_client`,
//! `no_server`, `no_transport`, `include_file=NAME` (also write NAME with
//! the nested `pub mod` tree that `include!`s every generated file).

use std::collections::{BTreeMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

use prost_build::Module;
use prost_types::FileDescriptorProto;

use crate::input::GenerationInput;
use crate::{CodegenError, ResponseFile};

const NAME: &str = "rust";

#[derive(Debug, Default)]
struct Options {
    extern_paths: Vec<(String, String)>,
    bytes: Vec<String>,
    btree_map: Vec<String>,
    compile_well_known_types: bool,
    no_client: bool,
    no_server: bool,
    no_transport: bool,
    include_file: Option<String>,
}

fn parse(parameter: Option<&str>) -> Result<Options, CodegenError> {
    let bad = |message: String| CodegenError::InvalidParameter {
        generator: NAME.into(),
        message,
    };
    let mut options = Options::default();
    for item in parameter.unwrap_or("").split(',').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (item, None),
        };
        match (key, value) {
            ("extern_path", Some(v)) => {
                let (proto, rust) = v
                    .split_once('=')
                    .filter(|(p, r)| p.starts_with('.') && !r.is_empty())
                    .ok_or_else(|| {
                        bad(format!(
                            "extern_path wants .proto.path=rust::path, not {v:?}"
                        ))
                    })?;
                options.extern_paths.push((proto.into(), rust.into()));
            }
            ("bytes", Some(v)) => options.bytes.push(v.into()),
            ("btree_map", Some(v)) => options.btree_map.push(v.into()),
            ("include_file", Some(v)) if is_plain_file_name(v) => {
                options.include_file = Some(v.into());
            }
            ("compile_well_known_types", None) => options.compile_well_known_types = true,
            ("no_client", None) => options.no_client = true,
            ("no_server", None) => options.no_server = true,
            ("no_transport", None) => options.no_transport = true,
            _ => return Err(bad(format!("unknown option {item:?}"))),
        }
    }
    Ok(options)
}

fn is_plain_file_name(name: &str) -> bool {
    name.ends_with(".rs") && !name.contains(['/', '\\']) && name != ".rs"
}

pub(crate) fn generate(
    input: &GenerationInput,
    parameter: Option<&str>,
) -> Result<Vec<ResponseFile>, CodegenError> {
    let options = parse(parameter)?;
    // prost-build needs every message a generated one refers to (to
    // decide derives and boxing), so every file goes in; the files not to
    // generate go under modules of their own, whose output is dropped.
    let wanted: HashSet<&str> = input.to_generate.iter().map(String::as_str).collect();
    let mut requests = Vec::with_capacity(input.files.len());
    let mut targets = HashSet::new();
    let mut discarded = HashSet::new();
    for file in &input.files {
        let descriptor = GenerationInput::decode(file)?;
        if !wanted.contains(file.name.as_str()) {
            requests.push((None, descriptor));
            continue;
        }
        if descriptor.syntax() == "editions" {
            return Err(CodegenError::Unsupported {
                plugin: NAME.into(),
                what: format!("{} (prost does not generate editions files yet)", file.name),
            });
        }
        let module = Module::from_protobuf_package_name(descriptor.package());
        targets.insert(module.clone());
        requests.push((Some(module), descriptor));
    }
    let mut next = 0usize;
    let requests: Vec<(Module, FileDescriptorProto)> = requests
        .into_iter()
        .map(|(module, descriptor)| {
            let module = module.unwrap_or_else(|| {
                loop {
                    next += 1;
                    let candidate =
                        Module::from_protobuf_package_name(&format!("spoke_discard_{next}"));
                    if !targets.contains(&candidate) {
                        discarded.insert(candidate.clone());
                        break candidate;
                    }
                }
            });
            (module, descriptor)
        })
        .collect();

    let mut config = prost_build::Config::new();
    for (proto, rust) in &options.extern_paths {
        config.extern_path(proto, rust);
    }
    if !options.bytes.is_empty() {
        config.bytes(&options.bytes);
    }
    if !options.btree_map.is_empty() {
        config.btree_map(&options.btree_map);
    }
    if options.compile_well_known_types {
        config.compile_well_known_types();
    }
    let services = tonic_prost_build::configure()
        .build_client(!options.no_client)
        .build_server(!options.no_server)
        .build_transport(!options.no_transport)
        .compile_well_known_types(options.compile_well_known_types);
    config.service_generator(services.service_generator());

    // prost-build panics on descriptors it cannot handle; that is this
    // generator failing on one input, not the process.
    let modules = catch_unwind(AssertUnwindSafe(|| config.generate(requests)))
        .map_err(|panic| CodegenError::Builtin {
            generator: NAME.into(),
            message: panic_message(panic.as_ref()),
        })?
        .map_err(|e| CodegenError::Builtin {
            generator: NAME.into(),
            message: e.to_string(),
        })?;

    let modules: BTreeMap<Vec<String>, String> = modules
        .into_iter()
        .filter(|(module, _)| !discarded.contains(module))
        .map(|(module, code)| (module.parts().map(str::to_string).collect(), code))
        .collect();
    let mut files: Vec<ResponseFile> = modules
        .iter()
        .map(|(parts, code)| ResponseFile {
            name: file_name(parts),
            insertion_point: None,
            content: code.clone().into_bytes(),
        })
        .collect();
    if let Some(include) = options.include_file {
        files.push(ResponseFile {
            name: include,
            insertion_point: None,
            content: include_tree(modules.keys()).into_bytes(),
        });
    }
    Ok(files)
}

/// The Rust module path the `rust` generator puts a protobuf package's
/// types in (`acme.type.v1` → `acme`, `r#type`, `v1`): what an
/// `extern_path` to another crate's copy of the package must name.
pub fn rust_module_path(package: &str) -> Vec<String> {
    Module::from_protobuf_package_name(package)
        .parts()
        .map(str::to_string)
        .collect()
}

fn file_name(parts: &[String]) -> String {
    if parts.is_empty() {
        "_.rs".into()
    } else {
        format!("{}.rs", parts.join("."))
    }
}

/// The nested modules of the generated files: `pub mod a { pub mod b {
/// include!("a.b.rs"); } }`, a package nested in another sharing its
/// parent's module. Module parts are already Rust identifiers (prost
/// turns `type` into `r#type`).
fn include_tree<'a>(modules: impl Iterator<Item = &'a Vec<String>>) -> String {
    #[derive(Default)]
    struct Node {
        file: Option<String>,
        children: BTreeMap<String, Node>,
    }
    fn render(node: &Node, depth: usize, out: &mut String) {
        let indent = "    ".repeat(depth);
        if let Some(file) = &node.file {
            out.push_str(&format!("{indent}include!(\"{file}\");\n"));
        }
        for (name, child) in &node.children {
            out.push_str(&format!("{indent}pub mod {name} {{\n"));
            render(child, depth + 1, out);
            out.push_str(&format!("{indent}}}\n"));
        }
    }
    let mut root = Node::default();
    for parts in modules {
        let mut node = &mut root;
        for part in parts {
            node = node.children.entry(part.clone()).or_default();
        }
        node.file = Some(file_name(parts));
    }
    let mut out = String::from("// This file is @generated by spoke (built-in rust generator).\n");
    render(&root, 0, &mut out);
    out
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "prost-build panicked".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_options() {
        let options = parse(Some(
            "extern_path=.common.v1=::common::common::v1,no_server,include_file=lib.rs",
        ));
        let options = options.unwrap_or_default();
        assert_eq!(
            options.extern_paths,
            vec![(".common.v1".to_string(), "::common::common::v1".to_string())]
        );
        assert!(options.no_server && !options.no_client);
        assert_eq!(options.include_file.as_deref(), Some("lib.rs"));
    }

    #[test]
    fn rejects_unknown_and_malformed_options() {
        for bad in [
            "frobnicate",
            "extern_path=common=x",
            "include_file=../lib.rs",
            "no_server=1",
        ] {
            assert!(parse(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn include_tree_nests_packages() {
        let modules = [
            vec!["acme".to_string(), "user".to_string(), "v1".to_string()],
            vec!["acme".to_string()],
            vec!["r#type".to_string()],
        ];
        let tree = include_tree(modules.iter());
        assert!(tree.contains("pub mod acme {\n    include!(\"acme.rs\");\n    pub mod user {"));
        assert!(tree.contains("include!(\"acme.user.v1.rs\");"));
        assert!(tree.contains("pub mod r#type {"));
    }
}
