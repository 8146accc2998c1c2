//! The rules that compare files: packages, directories, package-wide
//! options, package import cycles and RPC type reuse.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use prost_reflect::DescriptorPool;
use prost_reflect::prost_types::FileOptions;

use super::checks::{EMPTY, child, directory, tag};
use super::{FileInfo, Sink};

pub(super) fn check(sink: &mut Sink<'_>, files: &[FileInfo<'_>], pool: &DescriptorPool) {
    directory_same_package(sink, files);
    package_same_directory(sink, files);
    package_same_options(sink, files);
    package_import_cycles(sink, files, pool);
    rpc_request_response_unique(sink, files);
}

fn directory_same_package(sink: &mut Sink<'_>, files: &[FileInfo<'_>]) {
    let mut by_dir: BTreeMap<&str, Vec<&FileInfo<'_>>> = BTreeMap::new();
    for file in files {
        by_dir.entry(directory(file.path())).or_default().push(file);
    }
    for (dir, dir_files) in by_dir {
        let mut packages: BTreeSet<&str> = dir_files.iter().map(|f| f.package()).collect();
        if packages.len() < 2 {
            continue;
        }
        let unpackaged = packages.remove("");
        let listed = packages.iter().copied().collect::<Vec<_>>().join(",");
        let subject = match (unpackaged, packages.len()) {
            (true, 1) => format!("Package {listed:?} and file with no package"),
            (true, _) => format!("Multiple packages {listed:?} and file with no package"),
            (false, _) => format!("Multiple packages {listed:?}"),
        };
        for file in dir_files {
            sink.report(
                "DIRECTORY_SAME_PACKAGE",
                file,
                &package_path(file),
                format!("{subject} detected within directory {dir:?}."),
            );
        }
    }
}

/// The package statement, or nothing for a file without one.
fn package_path(file: &FileInfo<'_>) -> Vec<i32> {
    if file.package().is_empty() {
        Vec::new()
    } else {
        vec![tag::FILE_PACKAGE]
    }
}

/// Files by package; as in buf, files without a package form a group too.
fn by_package<'f, 'a>(files: &'f [FileInfo<'a>]) -> BTreeMap<&'f str, Vec<&'f FileInfo<'a>>> {
    let mut by_package: BTreeMap<&str, Vec<&FileInfo<'_>>> = BTreeMap::new();
    for file in files {
        by_package.entry(file.package()).or_default().push(file);
    }
    by_package
}

fn package_same_directory(sink: &mut Sink<'_>, files: &[FileInfo<'_>]) {
    for (package, package_files) in by_package(files) {
        let dirs: BTreeSet<&str> = package_files.iter().map(|f| directory(f.path())).collect();
        if dirs.len() < 2 {
            continue;
        }
        let dirs = dirs.into_iter().collect::<Vec<_>>().join(",");
        for file in package_files {
            sink.report(
                "PACKAGE_SAME_DIRECTORY",
                file,
                &package_path(file),
                format!("Multiple directories {dirs:?} contain files with package {package:?}."),
            );
        }
    }
}

/// A file option that all files of a package must agree on.
struct SameOption {
    rule: &'static str,
    name: &'static str,
    tag: i32,
    /// The option's value, `None` when unset.
    value: fn(&FileOptions) -> Option<String>,
}

const SAME_OPTIONS: &[SameOption] = &[
    SameOption {
        rule: "PACKAGE_SAME_CSHARP_NAMESPACE",
        name: "csharp_namespace",
        tag: 37,
        value: |o| o.csharp_namespace.clone(),
    },
    SameOption {
        rule: "PACKAGE_SAME_GO_PACKAGE",
        name: "go_package",
        tag: 11,
        value: |o| o.go_package.clone(),
    },
    SameOption {
        rule: "PACKAGE_SAME_JAVA_MULTIPLE_FILES",
        name: "java_multiple_files",
        tag: 10,
        value: |o| o.java_multiple_files.map(|v| v.to_string()),
    },
    SameOption {
        rule: "PACKAGE_SAME_JAVA_PACKAGE",
        name: "java_package",
        tag: 1,
        value: |o| o.java_package.clone(),
    },
    SameOption {
        rule: "PACKAGE_SAME_PHP_NAMESPACE",
        name: "php_namespace",
        tag: 41,
        value: |o| o.php_namespace.clone(),
    },
    SameOption {
        rule: "PACKAGE_SAME_RUBY_PACKAGE",
        name: "ruby_package",
        tag: 45,
        value: |o| o.ruby_package.clone(),
    },
    SameOption {
        rule: "PACKAGE_SAME_SWIFT_PREFIX",
        name: "swift_prefix",
        tag: 39,
        value: |o| o.swift_prefix.clone(),
    },
];

fn package_same_options(sink: &mut Sink<'_>, files: &[FileInfo<'_>]) {
    let packages = by_package(files);
    for option in SAME_OPTIONS {
        for (package, package_files) in &packages {
            let value = |file: &FileInfo<'_>| file.proto.options.as_ref().and_then(option.value);
            let values: BTreeSet<Option<String>> = package_files.iter().map(|f| value(f)).collect();
            if values.len() < 2 {
                continue;
            }
            let unset = values.contains(&None);
            let listed = values.into_iter().flatten().collect::<Vec<_>>().join(",");
            let name = option.name;
            let message = if unset {
                format!(
                    "Files in package {package:?} have both values {listed:?} and no value for option {name:?} and all values must be equal."
                )
            } else {
                format!(
                    "Files in package {package:?} have multiple values {listed:?} for option {name:?} and all values must be equal."
                )
            };
            for file in package_files {
                let path = match value(file) {
                    Some(_) => vec![tag::FILE_OPTIONS, option.tag],
                    None => Vec::new(),
                };
                sink.report(option.rule, file, &path, message.clone());
            }
        }
    }
}

/// Reports, at each import of a linted file that leads from its package to
/// another package from which the first is reachable again, the cycle.
/// The graph spans every file of the image, dependencies included.
fn package_import_cycles(sink: &mut Sink<'_>, files: &[FileInfo<'_>], pool: &DescriptorPool) {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in pool.files() {
        let package = file.package_name();
        if package.is_empty() {
            continue;
        }
        for import in file.dependencies() {
            let imported = import.package_name();
            if !imported.is_empty() && imported != package {
                graph
                    .entry(package.to_owned())
                    .or_default()
                    .insert(imported.to_owned());
            }
        }
    }
    for file in files {
        let package = file.package();
        if package.is_empty() {
            continue;
        }
        for (i, import) in file.descriptor.dependencies().enumerate() {
            let imported = import.package_name();
            if imported.is_empty() || imported == package {
                continue;
            }
            if let Some(route) = shortest_route(&graph, imported, package) {
                let cycle = std::iter::once(package)
                    .chain(route.iter().map(String::as_str))
                    .collect::<Vec<_>>()
                    .join(" -> ");
                sink.report(
                    "PACKAGE_NO_IMPORT_CYCLE",
                    file,
                    &child(&[], tag::FILE_DEPENDENCY, i),
                    format!("Package import cycle: {cycle}"),
                );
            }
        }
    }
}

/// The packages from `from` to `to` inclusive along imports, fewest first.
fn shortest_route(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    to: &str,
) -> Option<Vec<String>> {
    let mut previous: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    let mut seen = BTreeSet::from([from]);
    while let Some(package) = queue.pop_front() {
        if package == to {
            let mut route = vec![to.to_owned()];
            let mut at = to;
            while let Some(&before) = previous.get(at) {
                route.push(before.to_owned());
                at = before;
            }
            route.reverse();
            return Some(route);
        }
        for next in graph.get(package).into_iter().flatten() {
            if seen.insert(next.as_str()) {
                previous.insert(next.as_str(), package);
                queue.push_back(next.as_str());
            }
        }
    }
    None
}

/// An RPC of a linted file.
struct Rpc<'f, 'a> {
    file: &'f FileInfo<'a>,
    path: Vec<i32>,
    name: &'f str,
    input: &'f str,
    output: &'f str,
}

fn rpc_request_response_unique(sink: &mut Sink<'_>, files: &[FileInfo<'_>]) {
    let config = sink.config();
    let allow_same = config.rpc_allow_same_request_response;
    let allow_requests = config.rpc_allow_google_protobuf_empty_requests;
    let allow_responses = config.rpc_allow_google_protobuf_empty_responses;
    let mut rpcs = Vec::new();
    for file in files {
        for (s, service) in file.proto.service.iter().enumerate() {
            for (m, method) in service.method.iter().enumerate() {
                rpcs.push(Rpc {
                    file,
                    path: child(&child(&[], tag::FILE_SERVICE, s), tag::SERVICE_METHOD, m),
                    name: method.name(),
                    input: method.input_type().trim_start_matches('.'),
                    output: method.output_type().trim_start_matches('.'),
                });
            }
        }
    }
    if !allow_same {
        for rpc in &rpcs {
            let both_allowed = rpc.input == EMPTY && allow_requests && allow_responses;
            if rpc.input == rpc.output && !both_allowed {
                sink.report(
                    "RPC_REQUEST_RESPONSE_UNIQUE",
                    rpc.file,
                    &rpc.path,
                    format!(
                        "RPC {:?} has the same type {:?} for the request and response.",
                        rpc.name, rpc.input
                    ),
                );
            }
        }
    }
    let mut users: BTreeMap<&str, Vec<&Rpc<'_, '_>>> = BTreeMap::new();
    for rpc in &rpcs {
        users.entry(rpc.input).or_default().push(rpc);
        if rpc.output != rpc.input {
            users.entry(rpc.output).or_default().push(rpc);
        }
    }
    for (type_name, users) in users.into_iter().filter(|(_, users)| users.len() > 1) {
        if type_name == EMPTY && (allow_requests || allow_responses) {
            // Only the side that may not be Empty must be unique.
            let sides = [(allow_requests, "request"), (allow_responses, "response")];
            for (allowed, side) in sides {
                let side_users: Vec<_> = users
                    .iter()
                    .filter(|r| if side == "request" { r.input } else { r.output } == EMPTY)
                    .collect();
                if allowed || side_users.len() < 2 {
                    continue;
                }
                for rpc in side_users {
                    sink.report(
                        "RPC_REQUEST_RESPONSE_UNIQUE",
                        rpc.file,
                        &rpc.path,
                        format!("{type_name:?} is used as the {side} for multiple RPCs."),
                    );
                }
            }
        } else {
            for rpc in users {
                sink.report(
                    "RPC_REQUEST_RESPONSE_UNIQUE",
                    rpc.file,
                    &rpc.path,
                    format!(
                        "{type_name:?} is used as the request or response type for multiple RPCs."
                    ),
                );
            }
        }
    }
}
