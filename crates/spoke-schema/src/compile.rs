use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;

use prost_reflect::DescriptorPool;
use prost_reflect::prost_types::{FileDescriptorProto, FileDescriptorSet, SourceCodeInfo};
use protox::file::File;
use spoke_domain::{DependencyPin, ProtoFile};

use crate::checks;
use crate::depth;
use crate::diagnostic::{BufForm, Diagnostic, DiagnosticKind, from_miette, saturate};
use crate::editions::rewrite::{Front, Rewritten};
use crate::editions::{self, Edition};
use crate::image::ImageJsonError;
use crate::protoc::{Encoding, Retention};
use crate::source_info::{Locations, tag};

/// What to compile: a version's own files (the roots) and the files of its
/// dependency closure, grouped by the pinned module version that provides them.
#[derive(Debug, Clone, Default)]
pub struct CompileRequest {
    pub files: Vec<ProtoFile>,
    pub dependencies: Vec<DependencyFiles>,
}

/// The files of one module version of the dependency closure.
#[derive(Debug, Clone)]
pub struct DependencyFiles {
    pub pin: DependencyPin,
    pub files: Vec<ProtoFile>,
}

/// Where a file of an image came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provider {
    /// One of the version's own files.
    Own,
    /// A file of this module version of the dependency closure. When several
    /// modules provide identical content, the first one in the request.
    Dependency(DependencyPin),
    /// A built-in well-known type (`google/protobuf/*.proto`).
    WellKnown,
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provider::Own => f.write_str("this version"),
            Provider::Dependency(pin) => write!(f, "{pin}"),
            Provider::WellKnown => f.write_str("the well-known types"),
        }
    }
}

/// One file of a compiled image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    pub path: String,
    pub provider: Provider,
}

/// A version that compiled: its own files plus everything they import,
/// linked, in topological order (every file after the files it imports).
#[derive(Debug, Clone)]
pub struct Compiled {
    pool: DescriptorPool,
    files: Vec<ImageFile>,
    /// The editions files, which the pool holds as proto2.
    editions: BTreeMap<String, Edition>,
    /// What the pool does not hold of editions files (and of proto2 files
    /// the JSON names of fields that repeat one), by name.
    extras: BTreeMap<String, editions::Extras>,
    /// The source info of the files where buf's differs from the parser's,
    /// which the pool holds: options whose value is a message literal
    /// located as buf locates them (`source_info::literal`), columns
    /// counted as buf counts them on lines with tabs or non-ASCII text
    /// (`source_info::with_bufs_columns`).
    source_infos: BTreeMap<String, SourceCodeInfo>,
    /// descriptor.proto is in the pool only to encode editions files'
    /// options (`editions::descriptor`), not imported: no part of the image.
    hidden_descriptor: bool,
    /// descriptor.proto was linked first for editions files' options
    /// though the image has it, in its place in `files`.
    preloaded_descriptor: bool,
}

impl Compiled {
    /// Every file of the image, in the order of the image, with its provider.
    /// For a decoded image ([`Compiled::from_image`]), which does not record
    /// where imported files came from: the own files and the well-known
    /// types only.
    pub fn files(&self) -> &[ImageFile] {
        &self.files
    }

    /// The version's own files, in image order.
    pub fn roots(&self) -> impl Iterator<Item = &ImageFile> + '_ {
        self.files.iter().filter(|f| f.provider == Provider::Own)
    }

    /// The linked descriptors, for lint, breaking-change checks and symbols.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }

    /// The image as a `FileDescriptorSet` with source code info.
    ///
    /// `prost_types` has no extension support, so custom option values
    /// (e.g. `google.api.http`) are absent here; [`Compiled::image`] keeps them.
    ///
    /// `prost_types` has no `edition`, `visibility` or `option_dependency`
    /// field either: an editions file has `syntax = "editions"` here, its
    /// edition in [`Compiled::edition`], and no option imports (the pool
    /// lists them apart); [`Compiled::image`] has them all.
    pub fn file_descriptor_set(&self) -> FileDescriptorSet {
        let file = self
            .pool
            .file_descriptor_protos()
            .filter(|proto| !self.is_hidden(proto.name()))
            .map(|proto| {
                let mut proto = proto.clone();
                if self.editions.contains_key(proto.name()) {
                    proto.syntax = Some("editions".to_owned());
                }
                proto
            })
            .collect();
        FileDescriptorSet { file }
    }

    /// The source locations of `file`, a file of the pool, as its image
    /// has them (see `source_infos`): what lint and breaking findings are
    /// placed by.
    pub(crate) fn locations<'a>(
        &'a self,
        file: &'a FileDescriptorProto,
    ) -> crate::source_info::Locations<'a> {
        let info = self.source_infos.get(file.name());
        crate::source_info::Locations::of(info.or(file.source_code_info.as_ref()))
    }

    /// The syntax or edition `file` (a path of the image) is written in.
    pub fn edition(&self, file: &str) -> Edition {
        edition_in(&self.pool, &self.editions, file)
    }

    /// The resolved features of a field of this image.
    pub fn field_features(&self, field: &prost_reflect::FieldDescriptor) -> editions::Features {
        editions::features::field(field, self.edition(field.parent_file().name()))
    }

    /// The resolved features of an extension of this image.
    pub fn extension_features(
        &self,
        extension: &prost_reflect::ExtensionDescriptor,
    ) -> editions::Features {
        editions::features::extension(extension, self.edition(extension.parent_file().name()))
    }

    /// The resolved features of a message of this image.
    pub fn message_features(
        &self,
        message: &prost_reflect::MessageDescriptor,
    ) -> editions::Features {
        editions::features::message(message, self.edition(message.parent_file().name()))
    }

    /// The resolved features of an enum of this image.
    pub fn enum_features(&self, enumeration: &prost_reflect::EnumDescriptor) -> editions::Features {
        editions::features::enumeration(enumeration, self.edition(enumeration.parent_file().name()))
    }

    /// The resolved value of a language feature (`feature` of the
    /// `FeatureSet` extension named `extension`, e.g. `pb.cpp` and
    /// `string_type`) at an element of this image; `None` when the image
    /// does not define that feature.
    pub fn language_feature(
        &self,
        element: &editions::language::Element,
        extension: &str,
        feature: &str,
    ) -> Option<prost_reflect::Value> {
        let edition = self.edition(element.file().name());
        editions::language::resolve(element, edition, extension, feature)
    }

    fn is_hidden(&self, file: &str) -> bool {
        self.hidden_descriptor && file == editions::descriptor::PATH
    }

    /// The files of the image, in its order: the pool's, but for a
    /// descriptor.proto linked first (see `preloaded_descriptor`).
    fn image_files(&self) -> Vec<prost_reflect::FileDescriptor> {
        if self.preloaded_descriptor {
            return self
                .files
                .iter()
                .filter_map(|f| self.pool.get_file_by_name(&f.path))
                .collect();
        }
        self.pool
            .files()
            .filter(|f| !self.is_hidden(f.name()))
            .collect()
    }

    /// A file of the pool encoded as the image has it, defaults and
    /// options as `encoding` writes them.
    fn encoded(
        &self,
        file: &prost_reflect::FileDescriptor,
        encoding: Encoding,
        retention: Retention,
    ) -> Vec<u8> {
        let source_info = self.source_infos.get(file.name());
        let bytes = crate::protoc::encode_file(file, encoding, retention, source_info);
        let extras = self.extras.get(file.name());
        match (self.editions.get(file.name()), extras) {
            (Some(&edition), _) => editions::mark(&bytes, edition, extras),
            // A proto2 file whose fields repeat a default JSON name.
            (None, Some(extras)) => editions::real_json_names(&bytes, extras),
            (None, None) => bytes,
        }
    }

    /// Decodes a stored image (an encoded `FileDescriptorSet`, as
    /// [`Compiled::image`] writes it) whose own files are `own_paths`, so
    /// it can be checked again — e.g. for breaking changes — without
    /// recompiling its sources.
    pub fn from_image(
        image: &[u8],
        own_paths: &BTreeSet<String>,
    ) -> Result<Compiled, ImageDecodeError> {
        let (image, editions, extras) = editions::unmark_set(image)
            .map_err(|error| ImageDecodeError::Invalid(error.to_string()))?;
        let pool = DescriptorPool::decode(image.as_slice())
            .map_err(|error| ImageDecodeError::Invalid(error.to_string()))?;
        let missing: Vec<String> = own_paths
            .iter()
            .filter(|path| pool.get_file_by_name(path).is_none())
            .cloned()
            .collect();
        if !missing.is_empty() {
            return Err(ImageDecodeError::MissingFiles(missing));
        }
        let files = pool
            .files()
            .filter_map(|file| {
                let path = file.name().to_owned();
                let provider = if own_paths.contains(&path) {
                    Provider::Own
                } else if crate::wkt::is_well_known(&path) {
                    Provider::WellKnown
                } else {
                    return None;
                };
                Some(ImageFile { path, provider })
            })
            .collect();
        Ok(Compiled {
            pool,
            files,
            editions,
            extras,
            // A stored image has buf's locations already.
            source_infos: BTreeMap::new(),
            hidden_descriptor: false,
            preloaded_descriptor: false,
        })
    }

    /// The same image with every file but the well-known types as one of
    /// its own: what `buf breaking` compares by default (a module's image
    /// with its imports, which `--exclude-imports` would leave out).
    pub fn with_imports_as_roots(&self) -> Compiled {
        let files = self
            .files
            .iter()
            .map(|file| ImageFile {
                path: file.path.clone(),
                provider: match file.provider {
                    Provider::WellKnown => Provider::WellKnown,
                    _ => Provider::Own,
                },
            })
            .collect();
        Compiled {
            pool: self.pool.clone(),
            files,
            editions: self.editions.clone(),
            extras: self.extras.clone(),
            source_infos: self.source_infos.clone(),
            hidden_descriptor: self.hidden_descriptor,
            preloaded_descriptor: self.preloaded_descriptor,
        }
    }

    /// The image: the encoded `FileDescriptorSet`, including custom options
    /// and source code info — what `protoc --include_imports
    /// --include_source_info --descriptor_set_out` writes, defaults and
    /// options encoded as protoc encodes them (see `protoc.rs`).
    pub fn image(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for file in self.image_files() {
            let bytes = self.encoded(&file, Encoding::Protoc, Retention::All);
            prost_reflect::prost::encoding::bytes::encode(FILE_FIELD, &bytes, &mut out);
        }
        out
    }

    /// The image with `buf build`'s choices: without the imported files
    /// (dependencies and well-known types) unless `include_imports`, and
    /// without source code info unless `include_source_info`. Custom
    /// options are kept as [`Compiled::image`] keeps them, encoded as buf
    /// encodes them (float defaults and option order, see `protoc.rs`); each file's
    /// source locations are listed in the order buf lists them (by
    /// position in the file, see `image::in_buf_order`) rather than by
    /// path.
    pub fn image_with(&self, options: ImageOptions) -> Vec<u8> {
        self.buf_image(options, Retention::All)
    }

    /// What buf hands a plugin, as two images of every file (imports and
    /// source info included, encoded as buf encodes them): the files for
    /// the request's `proto_file`, without the options whose field is
    /// declared `retention = RETENTION_SOURCE`, and the files as they are,
    /// for its `source_file_descriptors`.
    pub fn plugin_images(&self) -> (Vec<u8>, Vec<u8>) {
        (
            self.buf_image(ImageOptions::default(), Retention::Runtime),
            self.buf_image(ImageOptions::default(), Retention::All),
        )
    }

    fn buf_image(&self, options: ImageOptions, retention: Retention) -> Vec<u8> {
        let own: HashSet<&str> = self.roots().map(|file| file.path.as_str()).collect();
        let mut out = Vec::new();
        for file in self.image_files() {
            if !options.include_imports && !own.contains(file.name()) {
                continue;
            }
            let bytes = self.encoded(&file, Encoding::Buf, retention);
            let bytes = if options.include_source_info {
                crate::image::map_field(&bytes, SOURCE_CODE_INFO_FIELD, |info| {
                    Some(crate::image::in_buf_order(info))
                })
            } else {
                crate::image::map_field(&bytes, SOURCE_CODE_INFO_FIELD, |_| None)
            };
            prost_reflect::prost::encoding::bytes::encode(FILE_FIELD, &bytes, &mut out);
        }
        out
    }

    /// [`Compiled::image_with`] in protobuf's JSON mapping, as
    /// [`image_json`](crate::image_json) renders an image; custom options
    /// are named with this compilation's extensions even when the imports
    /// that define them are left out.
    pub fn image_json_with(&self, options: ImageOptions) -> Result<String, ImageJsonError> {
        crate::image::render_json(self.pool.clone(), &self.image_with(options))
    }
}

/// `FileDescriptorSet.file`.
const FILE_FIELD: u32 = 1;
/// `FileDescriptorProto.source_code_info`.
pub(crate) const SOURCE_CODE_INFO_FIELD: u32 = 9;

/// What [`Compiled::image_with`] writes beside the own files' descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageOptions {
    pub include_imports: bool,
    pub include_source_info: bool,
}

impl Default for ImageOptions {
    /// Everything, as [`Compiled::image`] and `buf build` write it.
    fn default() -> Self {
        Self {
            include_imports: true,
            include_source_info: true,
        }
    }
}

/// A stored image that cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageDecodeError {
    #[error("the image is not a valid FileDescriptorSet: {0}")]
    Invalid(String),
    #[error("the image lacks its own files {}", .0.join(", "))]
    MissingFiles(Vec<String>),
}

/// Compiles a version's own files against its dependency closure and the
/// well-known types, reporting every error found rather than the first.
///
/// Imports resolve against the version's own files, then the closure, then
/// the well-known types. Each own file is parsed and linked on its own, so an
/// error in one file does not hide errors in another; only files that import
/// a broken file go unchecked (their import's error is reported instead).
pub fn compile(request: &CompileRequest) -> Result<Compiled, Vec<Diagnostic>> {
    let mut compilation = Compilation::new(request);
    compilation.add_roots();
    compilation.resolve_imports();
    let order = compilation.order_and_find_cycles();
    compilation.link(&order);
    compilation.finish(&order)
}

/// The edition of a file of `pool`: recorded for editions files, else its
/// syntax.
fn edition_in(pool: &DescriptorPool, editions: &BTreeMap<String, Edition>, file: &str) -> Edition {
    if let Some(&edition) = editions.get(file) {
        return edition;
    }
    match pool.get_file_by_name(file).map(|f| f.syntax()) {
        Some(prost_reflect::Syntax::Proto3) => Edition::Proto3,
        _ => Edition::Proto2,
    }
}

/// A parsed file; an editions file with the rewrite its positions map
/// through.
type Parsed = (FileDescriptorProto, Option<Rewritten>);

/// Parses a file, reporting why it does not parse or is past a limit.
fn parse(path: &str, source: &str, out: &mut Vec<Diagnostic>) -> Option<Parsed> {
    let mut rewritten = match editions::rewrite::front(path, source) {
        Front::Plain => {
            // Nesting is bounded before the recursive parser sees the file
            // (the editions front bounds an editions file's).
            if let Some(diagnostic) = depth::check_nesting(path, source) {
                out.push(diagnostic);
                return None;
            }
            None
        }
        Front::Editions(rewritten) => Some(rewritten),
        Front::Refused(diagnostics) => {
            out.extend(diagnostics);
            return None;
        }
    };
    let text = rewritten.as_ref().map_or(source, |r| r.text.as_str());
    match File::from_source(path, text) {
        Ok(file) => {
            let mut proto = FileDescriptorProto::from(file);
            crate::protoc::method_bodies(&mut proto, text);
            {
                let moved = rewritten.as_ref().and_then(Rewritten::reserved_spans);
                crate::source_info::as_bufs(&mut proto, text, moved.as_ref().map(|m| m as _));
            }
            if let Some(rewritten) = &mut rewritten {
                rewritten.restore(&mut proto);
            }
            crate::protoc::float_defaults(&mut proto);
            crate::source_info::literal::as_pool_reads_all(&mut proto);
            if let Some(diagnostic) = checks::package_name(&proto) {
                out.push(diagnostic);
                return None;
            }
            Some((proto, rewritten))
        }
        Err(error) => {
            let at = error.file().unwrap_or(path).to_owned();
            let mut found = Vec::new();
            from_miette(&error, &at, text, DiagnosticKind::Syntax, None, &mut found);
            match &rewritten {
                Some(rewritten) => found.iter_mut().for_each(|d| {
                    rewritten.locate(d);
                    d.reset_buf_form();
                }),
                // Edition 2024 syntax in a proto2 or proto3 file: buf's
                // message rather than the parser's.
                None => {
                    let refused = editions::rewrite::syntax_2024_outside_editions(path, source);
                    if !refused.is_empty() {
                        found = refused;
                    }
                }
            }
            out.extend(found);
            None
        }
    }
}

/// A file taking part in a compilation.
struct Node<'a> {
    path: String,
    provider: Provider,
    /// The text, for locating errors; the well-known types have none.
    source: Option<&'a str>,
    /// The parsed file; `None` once it failed to parse or was linked.
    proto: Option<FileDescriptorProto>,
    /// A well-known type's descriptor as buf encodes it, linked in place
    /// of `proto` (which lacks the options `prost_types` does not know).
    encoded: Option<&'static [u8]>,
    /// An editions file's rewrite for the parser.
    rewritten: Option<Rewritten>,
    /// The fields of an editions or proto2 file the pool holds under a
    /// placeholder JSON name, with their real one (`Extras::json_names`).
    json_names: Vec<(Vec<i32>, String)>,
    /// Resolved imports, in the file's import order; `None` when the import
    /// could not be resolved (already reported).
    imports: Vec<Option<usize>>,
    /// Parsing failed or an import is unresolved, ambiguous or cyclic: the
    /// file cannot be linked.
    broken: bool,
    linked: bool,
}

/// A closure path's candidates: each distinct content with the first
/// provider that offers it.
type Candidates<'a> = Vec<(&'a DependencyPin, &'a str)>;

struct Compilation<'a> {
    request: &'a CompileRequest,
    nodes: Vec<Node<'a>>,
    by_path: HashMap<String, usize>,
    closure: HashMap<&'a str, Candidates<'a>>,
    pool: DescriptorPool,
    /// See [`Compiled`]'s fields.
    hidden_descriptor: bool,
    preloaded_descriptor: bool,
    /// The pool before the first file with option imports was linked: the
    /// files from there on are linked again without them (see
    /// `editions::without_option_imports`).
    before_option_imports: Option<DescriptorPool>,
    /// The local symbols (edition 2024) of the files linked so far, by
    /// full name, with whether each is a message.
    local_symbols: HashMap<String, bool>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Compilation<'a> {
    fn new(request: &'a CompileRequest) -> Self {
        let mut closure: HashMap<&str, Candidates<'a>> = HashMap::new();
        for dependency in &request.dependencies {
            for file in &dependency.files {
                let candidates = closure.entry(file.path.as_str()).or_default();
                if !candidates
                    .iter()
                    .any(|(_, content)| *content == file.content)
                {
                    candidates.push((&dependency.pin, file.content.as_str()));
                }
            }
        }
        Self {
            request,
            nodes: Vec::new(),
            by_path: HashMap::new(),
            closure,
            pool: DescriptorPool::new(),
            hidden_descriptor: false,
            preloaded_descriptor: false,
            before_option_imports: None,
            local_symbols: HashMap::new(),
            diagnostics: Vec::new(),
        }
    }

    fn add_roots(&mut self) {
        for file in &self.request.files {
            if self.by_path.contains_key(file.path.as_str()) {
                self.diagnostics.push(Diagnostic::new(
                    file.path.as_str(),
                    (1, 1),
                    DiagnosticKind::Semantic,
                    format!("file \"{}\" is listed more than once", file.path),
                ));
                continue;
            }
            let index = self.add_source_node(file.path.as_str(), Provider::Own, &file.content);
            if let Some(proto) = &self.nodes[index].proto {
                checks::parsed_file(proto, &mut self.diagnostics);
            }
        }
    }

    /// Adds a file with source text, parsing it and reporting parse errors.
    fn add_source_node(&mut self, path: &str, provider: Provider, source: &'a str) -> usize {
        let (proto, rewritten) = parse(path, source, &mut self.diagnostics).unzip();
        self.push_node(Node {
            path: path.to_owned(),
            provider,
            source: Some(source),
            broken: proto.is_none(),
            proto,
            encoded: None,
            rewritten: rewritten.flatten(),
            json_names: Vec::new(),
            imports: Vec::new(),
            linked: false,
        })
    }

    fn push_node(&mut self, node: Node<'a>) -> usize {
        let index = self.nodes.len();
        self.by_path.insert(node.path.clone(), index);
        self.nodes.push(node);
        index
    }

    /// Resolves the imports of every parsed file, breadth first from the
    /// roots, bringing in closure and well-known files as they are imported.
    fn resolve_imports(&mut self) {
        let mut next = 0;
        while next < self.nodes.len() {
            let index = next;
            next += 1;
            let imports: Vec<String> = match &self.nodes[index].proto {
                Some(proto) => proto.dependency.clone(),
                None => continue,
            };
            let mut seen = HashSet::new();
            let mut resolved = Vec::with_capacity(imports.len());
            for (position, import) in imports.iter().enumerate() {
                if !seen.insert(import.as_str()) {
                    let at = self.import_position(index, position);
                    self.diagnostics.push(
                        Diagnostic::new(
                            self.nodes[index].path.clone(),
                            at,
                            DiagnosticKind::Semantic,
                            format!("import \"{import}\" is listed twice"),
                        )
                        .worded_by_buf("file imported multiple times"),
                    );
                    self.nodes[index].broken = true;
                    resolved.push(None);
                    continue;
                }
                let target = self.resolve(index, position, import);
                if target.is_none() {
                    self.nodes[index].broken = true;
                }
                resolved.push(target);
            }
            self.nodes[index].imports = resolved;
        }
    }

    /// Finds or loads the file an import names, or reports why it cannot.
    fn resolve(&mut self, from: usize, position: usize, import: &str) -> Option<usize> {
        if let Some(&index) = self.by_path.get(import) {
            return Some(index);
        }
        // Own files are all loaded up front, so the closure comes next.
        if let Some(candidates) = self.closure.get(import) {
            return match candidates.as_slice() {
                [(pin, content)] => {
                    let provider = Provider::Dependency((*pin).clone());
                    Some(self.add_source_node(import, provider, content))
                }
                _ => {
                    let providers: Vec<String> =
                        candidates.iter().map(|(pin, _)| pin.to_string()).collect();
                    let at = self.import_position(from, position);
                    self.diagnostics.push(Diagnostic::new(
                        self.nodes[from].path.clone(),
                        at,
                        DiagnosticKind::AmbiguousImport,
                        format!(
                            "import \"{import}\" is ambiguous: {} provide it with different content",
                            join_and(&providers)
                        ),
                    ));
                    None
                }
            };
        }
        if let Some(file) = crate::wkt::get(import) {
            return Some(self.push_node(Node {
                path: import.to_owned(),
                provider: Provider::WellKnown,
                source: None,
                proto: Some(file.proto.clone()),
                encoded: Some(file.encoded),
                rewritten: None,
                json_names: Vec::new(),
                imports: Vec::new(),
                broken: false,
                linked: false,
            }));
        }
        let at = self.import_position(from, position);
        let mut diagnostic = Diagnostic::new(
            self.nodes[from].path.clone(),
            at,
            DiagnosticKind::UnresolvedImport,
            format!(
                "import \"{import}\" not found: no file of this version, of its dependencies \
                 or of the well-known types has this path"
            ),
        )
        .worded_by_buf("imported file does not exist");
        diagnostic.unresolved_import = Some(import.to_owned());
        self.diagnostics.push(diagnostic);
        None
    }

    /// Where the `position`th import statement of a file starts.
    fn import_position(&self, index: usize, position: usize) -> (u32, u32) {
        let Some(proto) = &self.nodes[index].proto else {
            return (1, 1);
        };
        let path = [
            tag::FILE_DEPENDENCY,
            i32::try_from(position).unwrap_or(i32::MAX),
        ];
        Locations::new(proto).position(&path).unwrap_or((1, 1))
    }

    /// Orders the reachable files so every file follows its imports (a
    /// depth-first post-order from the roots, as protoc emits them) and
    /// reports import cycles. Iterative, so deep import chains cannot
    /// overflow the stack.
    fn order_and_find_cycles(&mut self) -> Vec<usize> {
        #[derive(Clone, Copy, PartialEq)]
        enum Mark {
            New,
            Open,
            Done,
        }
        let mut marks = vec![Mark::New; self.nodes.len()];
        let mut order = Vec::with_capacity(self.nodes.len());
        let mut cycles: Vec<Vec<usize>> = Vec::new();
        let roots: Vec<usize> = (0..self.nodes.len())
            .filter(|&i| self.nodes[i].provider == Provider::Own)
            .collect();
        for root in roots {
            if marks[root] != Mark::New {
                continue;
            }
            marks[root] = Mark::Open;
            let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some(top) = stack.last_mut() {
                let (node, edge) = *top;
                match self.nodes[node].imports.get(edge) {
                    Some(target) => {
                        top.1 += 1;
                        let Some(target) = *target else { continue };
                        match marks[target] {
                            Mark::New => {
                                marks[target] = Mark::Open;
                                stack.push((target, 0));
                            }
                            Mark::Open => {
                                let start =
                                    stack.iter().position(|(n, _)| *n == target).unwrap_or(0);
                                cycles.push(stack[start..].iter().map(|(n, _)| *n).collect());
                            }
                            Mark::Done => {}
                        }
                    }
                    None => {
                        marks[node] = Mark::Done;
                        order.push(node);
                        stack.pop();
                    }
                }
            }
        }
        for cycle in cycles {
            self.report_cycle(&cycle);
        }
        order
    }

    /// Reports a cycle once per file in it, at that file's import that leads
    /// into the cycle, as protoc does for each root involved.
    fn report_cycle(&mut self, cycle: &[usize]) {
        for (i, &node) in cycle.iter().enumerate() {
            let next = cycle[(i + 1) % cycle.len()];
            let names: Vec<&str> = cycle[i..]
                .iter()
                .chain(&cycle[..=i])
                .map(|&n| self.nodes[n].path.as_str())
                .collect();
            let message = format!("file recursively imports itself: {}", names.join(" -> "));
            let at = self.nodes[node]
                .imports
                .iter()
                .position(|t| *t == Some(next))
                .map_or((1, 1), |position| self.import_position(node, position));
            let mut diagnostic = Diagnostic::new(
                self.nodes[node].path.clone(),
                at,
                DiagnosticKind::ImportCycle,
                message,
            );
            // buf reports a cycle once, at the import that closes it.
            diagnostic.buf = diagnostic
                .buf
                .filter(|_| next == cycle[0])
                .map(|form| BufForm {
                    message: format!(
                        "detected cyclic import while importing {:?}",
                        self.nodes[next].path
                    ),
                    ..form
                });
            self.diagnostics.push(diagnostic);
            self.nodes[node].broken = true;
        }
    }

    /// Adds files to the pool in topological order, one at a time, so an
    /// error in one file is reported without stopping the others. A file
    /// whose imports did not link is skipped: the cause is already reported.
    fn link(&mut self, order: &[usize]) {
        self.json_names();
        self.prepare_editions();
        for &index in order {
            let node = &self.nodes[index];
            let ready = !node.broken
                && node
                    .imports
                    .iter()
                    .all(|t| t.is_some_and(|t| self.nodes[t].linked));
            if !ready {
                continue;
            }
            let Some(proto) = self.nodes[index].proto.take() else {
                continue;
            };
            let option_imports = self.nodes[index]
                .rewritten
                .as_ref()
                .is_some_and(|r| r.extras.option_imports > 0);
            if option_imports && self.before_option_imports.is_none() {
                self.before_option_imports = Some(self.pool.clone());
            }
            let added = match self.nodes[index].encoded {
                Some(encoded) => self.pool.decode_file_descriptor_proto(encoded),
                None => self.pool.add_file_descriptor_proto(proto),
            };
            match added {
                Ok(()) => {
                    self.nodes[index].linked = true;
                    self.check_edition(index);
                }
                Err(error) => {
                    self.report_link_error(index, error);
                    self.pool = rebuilt(&self.pool);
                }
            }
        }
    }

    /// Before linking: the JSON name conflicts of editions and proto2
    /// files, whose JSON formats prost-reflect does not know (a file with
    /// one buf refuses is not linked; see `editions::json_names`). An
    /// editions file where no element can be `LEGACY_BEST_EFFORT` has
    /// none that prost-reflect does not refuse too: its conflicts are
    /// found only if linking fails ([`Compilation::report_link_error`]).
    fn json_names(&mut self) {
        for node in &mut self.nodes {
            let (Some(proto), Some(source)) = (&mut node.proto, node.source) else {
                continue;
            };
            let edition = match &node.rewritten {
                Some(_) if !may_be_legacy_json(source) => continue,
                Some(rewritten) => rewritten.edition,
                None if proto.syntax() != "proto3" => Edition::Proto2,
                None => continue,
            };
            let (found, renamed) = editions::json_names::check(proto, source, edition);
            node.json_names = renamed;
            if !found.is_empty() {
                node.broken = true;
                self.diagnostics.extend(found);
            }
        }
    }

    /// Before linking a compilation with editions files: descriptor.proto
    /// up to date, imported or not, for their options (unless
    /// prost-reflect's own reads them alike: `editions::descriptor`).
    fn prepare_editions(&mut self) {
        if self.nodes.iter().all(|n| n.rewritten.is_none()) {
            return;
        }
        // Nothing is linked yet: the pool starts with buf's descriptor.proto
        // (prost-reflect would read options with its own until the file
        // is linked); an imported one is then skipped as a duplicate.
        // Unless it is imported, prost-reflect's own copy reads the
        // options when it reads every option the files set as buf's does.
        let imported = self.by_path.contains_key(editions::descriptor::PATH);
        let mut needed = imported;
        for node in &mut self.nodes {
            let Some(proto) = &node.proto else {
                continue;
            };
            let read = editions::validate::parsed_options(proto);
            needed |= read.needs_bufs_descriptor;
            if let Some(rewritten) = &mut node.rewritten {
                rewritten.element_options = read.element_options;
            }
        }
        if !needed {
            return;
        }
        if let Some(pool) = editions::descriptor::pool(imported) {
            self.pool = pool.clone();
            if imported {
                self.preloaded_descriptor = true;
            } else {
                self.hidden_descriptor = true;
            }
        }
    }

    /// The checks of a file that need it linked: those of an editions
    /// file, and in any file the uses of other files' local symbols.
    fn check_edition(&mut self, index: usize) {
        let node = &self.nodes[index];
        let Some(source) = node.source else {
            return;
        };
        let Some(file) = self.pool.get_file_by_name(&node.path) else {
            return;
        };
        if !self.local_symbols.is_empty() {
            let found = editions::visibility::uses(&file, source, &self.local_symbols);
            self.diagnostics.extend(found);
        }
        let Some(rewritten) = &self.nodes[index].rewritten else {
            return;
        };
        let option_imports = rewritten.extras.option_imports;
        if option_imports > 0 {
            let found = editions::visibility::option_only_uses(&file, source, option_imports);
            self.diagnostics.extend(found);
        }
        let editions = self.editions();
        let edition_of = |name: &str| edition_in(&self.pool, &editions, name);
        let found = editions::validate::check(
            &file,
            rewritten.edition,
            rewritten.element_options,
            source,
            &edition_of,
        );
        self.diagnostics.extend(found);
        self.diagnostics
            .extend(editions::naming::check(&file, rewritten.edition, source));
        let (local, found) =
            editions::visibility::local_symbols(&file, rewritten.edition, Some(&rewritten.extras));
        self.diagnostics.extend(found);
        self.local_symbols.extend(local);
    }

    /// The editions files parsed so far.
    fn editions(&self) -> BTreeMap<String, Edition> {
        self.nodes
            .iter()
            .filter_map(|n| Some((n.path.clone(), n.rewritten.as_ref()?.edition)))
            .collect()
    }

    fn report_link_error(&mut self, index: usize, error: prost_reflect::DescriptorError) {
        let node = &self.nodes[index];
        // Conflicting JSON names of an editions file not checked before
        // linking (most of them) get buf's errors rather than the pool's,
        // from the file parsed again: the pool took the parsed one.
        if let (Some(rewritten), Some(source)) = (&node.rewritten, node.source)
            && !may_be_legacy_json(source)
        {
            let edition = rewritten.edition;
            let conflicts = parse(&node.path, source, &mut Vec::new())
                .map(|(mut proto, _)| editions::json_names::check(&mut proto, source, edition).0);
            if let Some(conflicts) = conflicts.filter(|c| !c.is_empty()) {
                self.diagnostics.extend(conflicts);
                return;
            }
        }
        // An editions file was linked as its rewrite: locate in that text.
        let source = match &node.rewritten {
            Some(rewritten) => rewritten.text.as_str(),
            None => node.source.unwrap_or_default(),
        };
        let error = error.with_source_code(source);
        let path = error.file().unwrap_or(&node.path).to_owned();
        // prost-reflect knows the first error's position exactly; the others
        // come from miette labels.
        let first = error
            .line()
            .zip(error.column())
            .map(|(line, column)| (saturate(line + 1), saturate(column + 1)));
        let mut found = Vec::new();
        from_miette(
            &error,
            &path,
            source,
            DiagnosticKind::Semantic,
            first,
            &mut found,
        );
        if let Some(rewritten) = &self.nodes[index].rewritten {
            found.iter_mut().for_each(|d| {
                rewritten.locate(d);
                d.reset_buf_form();
            });
        }
        self.diagnostics.extend(found);
    }

    fn finish(mut self, order: &[usize]) -> Result<Compiled, Vec<Diagnostic>> {
        if self.diagnostics.is_empty() {
            // Defensive: every unlinked root should have been explained.
            for node in &self.nodes {
                if node.provider == Provider::Own && !node.linked {
                    self.diagnostics.push(Diagnostic::new(
                        node.path.clone(),
                        (1, 1),
                        DiagnosticKind::Semantic,
                        "file could not be compiled",
                    ));
                }
            }
        }
        if !self.diagnostics.is_empty() {
            let mut diagnostics = self.diagnostics;
            // An error inside a dependency's file is the dependency's (or the
            // combination's) fault: say which module version it came from.
            for diagnostic in &mut diagnostics {
                let provider = self
                    .by_path
                    .get(&diagnostic.path)
                    .map(|&i| &self.nodes[i].provider);
                if let Some(Provider::Dependency(pin)) = provider {
                    diagnostic.message = format!("{} (in {pin})", diagnostic.message);
                }
            }
            diagnostics.sort_by(|a, b| {
                (&a.path, a.line, a.column, &a.message)
                    .cmp(&(&b.path, b.line, b.column, &b.message))
            });
            diagnostics.dedup_by(|a, b| {
                a.path == b.path
                    && a.line == b.line
                    && a.column == b.column
                    && a.message == b.message
            });
            return Err(diagnostics);
        }
        let files = order
            .iter()
            .map(|&i| ImageFile {
                path: self.nodes[i].path.clone(),
                provider: self.nodes[i].provider.clone(),
            })
            .collect();
        let editions = self.editions();
        let mut extras = self
            .nodes
            .iter_mut()
            .filter_map(|n| {
                let mut extras = n
                    .rewritten
                    .as_mut()
                    .map(|r| std::mem::take(&mut r.extras))
                    .unwrap_or_default();
                extras.json_names = std::mem::take(&mut n.json_names);
                (!extras.is_empty()).then(|| (n.path.clone(), extras))
            })
            .collect();
        let base = self.before_option_imports.unwrap_or_default();
        let pool =
            editions::without_option_imports(self.pool, base, &mut extras).map_err(|error| {
                vec![Diagnostic::new(
                    error.file().unwrap_or_default(),
                    (1, 1),
                    DiagnosticKind::Semantic,
                    format!("file could not be compiled: {error}"),
                )]
            })?;
        let source_infos = self
            .nodes
            .iter()
            .filter_map(|node| {
                let source = node.source?;
                let file = pool.get_file_by_name(&node.path)?;
                let info = file.file_descriptor_proto().source_code_info.as_ref()?;
                let located = crate::source_info::literal::located(&pool, info, source);
                let counted =
                    crate::source_info::with_bufs_columns(located.as_ref().unwrap_or(info), source);
                Some((node.path.clone(), counted.or(located)?))
            })
            .collect();
        Ok(Compiled {
            pool,
            files,
            editions,
            extras,
            source_infos,
            hidden_descriptor: self.hidden_descriptor,
            preloaded_descriptor: self.preloaded_descriptor,
        })
    }
}

/// `pool` built again from the files it holds. prost-reflect 0.16 rolls a
/// file it refuses back but leaves the extensions it declared in the
/// messages they extend (`rollback` compares their indexes with the
/// messages' offset), so a later file setting options of such a message
/// would index past the pool's extensions and panic.
fn rebuilt(pool: &DescriptorPool) -> DescriptorPool {
    let mut fresh = DescriptorPool::new();
    match fresh.add_file_descriptor_protos(pool.file_descriptor_protos().cloned()) {
        Ok(()) => fresh,
        Err(_) => pool.clone(),
    }
}

/// Whether an editions file may set `json_format = LEGACY_BEST_EFFORT`
/// anywhere: under it buf accepts some JSON name conflicts prost-reflect
/// refuses.
fn may_be_legacy_json(source: &str) -> bool {
    source.contains("LEGACY_BEST_EFFORT")
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
