#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Acceptance: a ~140-file googleapis subset, split into modules with
//! dependencies (`testdata/googleapis/modules.txt`), compiles module by
//! module against its dependency closure into the same images protoc
//! builds: the same files, declaring the same symbols.
//!
//! Needs the googleapis sources (`SPOKE_TEST_GOOGLEAPIS`) and protoc; skips
//! with a note without them unless `SPOKE_TEST_REQUIRE_PROTOC` is set.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use spoke_domain::DependencyPin;
use spoke_schema::prost::Message;
use spoke_schema::prost_reflect::{FileDescriptor, MessageDescriptor};
use spoke_schema::prost_types::{DescriptorProto, FileDescriptorProto, FileDescriptorSet};
use spoke_schema::{CompileRequest, Compiled, DependencyFiles, Provider, compile};
use spoke_test_support::googleapis::{self as split, Module};

use crate::support;

#[test]
fn googleapis_split_compiles_like_protoc() {
    let Some(root) = split::root() else {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_GOOGLEAPIS does not name the googleapis sources (cargo xtask test installs them)"
        );
        eprintln!(
            "SPOKE_TEST_GOOGLEAPIS is not set; skipping the googleapis comparison with protoc"
        );
        return;
    };
    if !support::protoc_available() {
        return;
    }
    let modules = split::load(&root);
    let by_name: HashMap<&str, &Module> = modules.iter().map(|m| (m.name.as_str(), m)).collect();
    let out = tempfile::tempdir().unwrap();
    // Every module is checked before failing, so one run shows every gap.
    let mut failures = Vec::new();
    for module in &modules {
        let request = CompileRequest {
            files: module.files.clone(),
            dependencies: closure(module, &modules, &by_name)
                .into_iter()
                .map(|dependency| DependencyFiles {
                    pin: DependencyPin::parse(&format!("{}@v1.0.0", dependency.name)).unwrap(),
                    files: dependency.files.clone(),
                })
                .collect(),
        };
        match compile(&request) {
            Ok(compiled) => {
                let protoc = protoc_image(&root, module, out.path());
                failures.extend(compare(module, &compiled, &protoc));
            }
            Err(diagnostics) => failures.push(format!(
                "{}: does not compile:\n  {}",
                module.name,
                diagnostics
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("\n  ")
            )),
        }
    }
    let files: usize = modules.iter().map(|m| m.files.len()).sum();
    assert!(
        failures.is_empty(),
        "{} of {} modules differ from protoc:\n\n{}",
        failures.len(),
        modules.len(),
        failures.join("\n\n")
    );
    eprintln!(
        "{} modules, {files} files: images match protoc's",
        modules.len()
    );
}

/// The module's transitive dependencies, in the split's order.
fn closure<'a>(
    module: &Module,
    modules: &'a [Module],
    by_name: &HashMap<&str, &Module>,
) -> Vec<&'a Module> {
    let mut names = BTreeSet::new();
    let mut pending: Vec<&str> = module.dependencies.iter().map(String::as_str).collect();
    while let Some(name) = pending.pop() {
        if names.insert(name) {
            pending.extend(by_name[name].dependencies.iter().map(String::as_str));
        }
    }
    modules
        .iter()
        .filter(|m| names.contains(m.name.as_str()))
        .collect()
}

/// What `protoc --include_imports` builds from the module's files.
fn protoc_image(root: &Path, module: &Module, out: &Path) -> FileDescriptorSet {
    let image = out.join(format!("{}.pb", module.name));
    let output = split::protoc_command(root, &image, module.files.iter().map(|f| f.path.as_str()))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "protoc rejects {}:\n{}",
        module.name,
        String::from_utf8_lossy(&output.stderr)
    );
    FileDescriptorSet::decode(std::fs::read(&image).unwrap().as_slice()).unwrap()
}

/// Every difference between the compiled module and protoc's image.
fn compare(module: &Module, compiled: &Compiled, protoc: &FileDescriptorSet) -> Vec<String> {
    let mut differences = Vec::new();
    let expected: Vec<&str> = protoc.file.iter().map(|f| f.name()).collect();
    let listed: Vec<&str> = compiled.files().iter().map(|f| f.path.as_str()).collect();
    differences.extend(sequence_difference("compiled.files()", &expected, &listed));
    let image = FileDescriptorSet::decode(compiled.image().as_slice()).unwrap();
    let encoded: Vec<&str> = image.file.iter().map(|f| f.name()).collect();
    differences.extend(sequence_difference(
        "the image's files",
        &expected,
        &encoded,
    ));

    let own: BTreeSet<&str> = module.files.iter().map(|f| f.path.as_str()).collect();
    let roots: BTreeSet<&str> = compiled.roots().map(|f| f.path.as_str()).collect();
    if own != roots {
        differences.push(format!(
            "the roots differ from the module's files{}",
            listing(&own, &roots)
        ));
    }

    // The well-known types are Spoke's built-in copies, from the protobuf
    // release prost-reflect bundles, not the one protoc ships: their symbols
    // differ by release (editions features), not by compiler.
    let compared = compiled
        .files()
        .iter()
        .filter(|f| f.provider != Provider::WellKnown);
    for file in compared {
        let Some(file) = protoc.file.iter().find(|f| f.name() == file.path) else {
            continue; // Reported as extra above.
        };
        let Some(ours) = compiled.pool().get_file_by_name(file.name()) else {
            continue; // Reported as missing from the image above.
        };
        let theirs = protoc_symbols(file);
        let ours = pool_symbols(&ours);
        if theirs != ours {
            differences.push(format!(
                "{}: declares other symbols than protoc's{}",
                file.name(),
                listing(&theirs, &ours)
            ));
        }
    }
    if differences.is_empty() {
        return Vec::new();
    }
    vec![format!("{}:\n  {}", module.name, differences.join("\n  "))]
}

/// Compares a file list with protoc's: first as sets, then, as Spoke
/// promises protoc's topological order, as sequences.
fn sequence_difference(what: &str, protoc: &[&str], ours: &[&str]) -> Option<String> {
    let (protoc_set, our_set): (BTreeSet<&str>, BTreeSet<&str>) = (
        protoc.iter().copied().collect(),
        ours.iter().copied().collect(),
    );
    if protoc_set != our_set || protoc.len() != ours.len() {
        return Some(format!(
            "{what} differ from protoc's ({} files, protoc {}){}",
            ours.len(),
            protoc.len(),
            listing(&protoc_set, &our_set)
        ));
    }
    let at = protoc.iter().zip(ours).position(|(a, b)| a != b)?;
    Some(format!(
        "{what} are in another order than protoc's: at {at}, {} where protoc has {}",
        ours[at], protoc[at]
    ))
}

/// `missing` (protoc has, Spoke lacks) and `extra` (the other way round).
fn listing<T: Ord + AsRef<str>>(protoc: &BTreeSet<T>, ours: &BTreeSet<T>) -> String {
    let join = |items: Vec<&T>| {
        items
            .iter()
            .map(|item| item.as_ref())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let missing: Vec<&T> = protoc.difference(ours).collect();
    let extra: Vec<&T> = ours.difference(protoc).collect();
    let mut text = String::new();
    if !missing.is_empty() {
        text.push_str(&format!("\n    missing: {}", join(missing)));
    }
    if !extra.is_empty() {
        text.push_str(&format!("\n    extra: {}", join(extra)));
    }
    text
}

/// The symbols a file declares, as `kind full.name`, from protoc's descriptor.
fn protoc_symbols(file: &FileDescriptorProto) -> BTreeSet<String> {
    let scope = match file.package() {
        "" => String::new(),
        package => format!("{package}."),
    };
    let mut symbols = BTreeSet::new();
    for message in &file.message_type {
        protoc_message_symbols(&scope, message, &mut symbols);
    }
    for enumeration in &file.enum_type {
        symbols.insert(format!("enum {scope}{}", enumeration.name()));
    }
    for extension in &file.extension {
        symbols.insert(format!("extension {scope}{}", extension.name()));
    }
    for service in &file.service {
        let name = format!("{scope}{}", service.name());
        for method in &service.method {
            symbols.insert(format!("method {name}.{}", method.name()));
        }
        symbols.insert(format!("service {name}"));
    }
    symbols
}

fn protoc_message_symbols(scope: &str, message: &DescriptorProto, symbols: &mut BTreeSet<String>) {
    let name = format!("{scope}{}", message.name());
    for field in &message.field {
        symbols.insert(format!("field {name}.{}", field.name()));
    }
    for extension in &message.extension {
        symbols.insert(format!("extension {name}.{}", extension.name()));
    }
    for enumeration in &message.enum_type {
        symbols.insert(format!("enum {name}.{}", enumeration.name()));
    }
    for nested in &message.nested_type {
        protoc_message_symbols(&format!("{name}."), nested, symbols);
    }
    symbols.insert(format!("message {name}"));
}

/// The same symbols, from Spoke's linked descriptors.
fn pool_symbols(file: &FileDescriptor) -> BTreeSet<String> {
    let mut symbols = BTreeSet::new();
    for message in file.messages() {
        pool_message_symbols(&message, &mut symbols);
    }
    for enumeration in file.enums() {
        symbols.insert(format!("enum {}", enumeration.full_name()));
    }
    for extension in file.extensions() {
        symbols.insert(format!("extension {}", extension.full_name()));
    }
    for service in file.services() {
        for method in service.methods() {
            symbols.insert(format!("method {}", method.full_name()));
        }
        symbols.insert(format!("service {}", service.full_name()));
    }
    symbols
}

fn pool_message_symbols(message: &MessageDescriptor, symbols: &mut BTreeSet<String>) {
    for field in message.fields() {
        symbols.insert(format!("field {}", field.full_name()));
    }
    for extension in message.child_extensions() {
        symbols.insert(format!("extension {}", extension.full_name()));
    }
    for enumeration in message.child_enums() {
        symbols.insert(format!("enum {}", enumeration.full_name()));
    }
    for nested in message.child_messages() {
        pool_message_symbols(&nested, symbols);
    }
    symbols.insert(format!("message {}", message.full_name()));
}
