//! Generated code of stored versions (SDKs): which generators exist, what
//! identifies one generation (the cache key), and serving it from the blob
//! store's derived entries or generating it once however many ask at the
//! same time. Running a generator (a plugin process, a built-in) is
//! `spoke-codegen`'s; the server hands the registry the set it may use.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use spoke_codegen::{BuiltinGenerator, CodegenError, CodegenErrorKind, GenerationInput, Generator};
use spoke_domain::{Digest, ModuleName, VersionManifest, VersionSelector};
use spoke_storage::StorageError;
use tokio::sync::{Semaphore, oneshot};

use crate::flight::Flights;
use crate::program_digest::{FileStamp, ProgramDigests};
use crate::{Registry, RegistryError};

/// The generators a registry offers by name: the built-ins, plus the
/// plugins an operator configured.
#[derive(Debug, Clone)]
pub struct Generators {
    by_name: BTreeMap<String, Generator>,
}

impl Default for Generators {
    /// The built-ins only.
    fn default() -> Self {
        Self {
            by_name: BuiltinGenerator::ALL
                .into_iter()
                .map(|g| (g.name().to_owned(), Generator::Builtin(g)))
                .collect(),
        }
    }
}

impl Generators {
    /// Adds an operator's generator under `name`; `false` (and nothing
    /// added) when the name is taken, a built-in's included.
    pub fn add(&mut self, name: &str, generator: Generator) -> bool {
        if self.by_name.contains_key(name) {
            return false;
        }
        self.by_name.insert(name.to_owned(), generator);
        true
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }

    fn get(&self, name: &str) -> Option<&Generator> {
        self.by_name.get(name)
    }
}

/// Options handed to a generator as its parameter, as `?opt=` lists them:
/// joined with `,` as `buf generate` joins a plugin's `opt` list.
pub const MAX_SDK_OPTIONS: usize = 32;
/// The longest one option may be.
pub const MAX_SDK_OPTION_BYTES: usize = 1024;

/// Why generating failed, kept apart from other errors so one failure can
/// be handed to every request that waited for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerationFailure {
    /// The generator's name as requested.
    pub generator: String,
    pub message: String,
    /// The end of the plugin's standard error, when it wrote any.
    pub stderr_tail: Option<String>,
    pub cause: FailureCause,
}

/// Whose fault a failed generation is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureCause {
    /// The options (the generator's parameter) are not acceptable.
    BadOptions,
    /// The plugin answered with an error (CodeGeneratorResponse.error).
    GeneratorError,
    /// The plugin crashed, hung, wrote too much or answered nonsense.
    GeneratorFailed,
    /// A local failure (I/O).
    Internal,
}

impl GenerationFailure {
    fn new(generator: &str, error: &CodegenError) -> Self {
        let cause = match (error, error.kind()) {
            (CodegenError::PluginError { .. }, _) => FailureCause::GeneratorError,
            (_, CodegenErrorKind::BadInput) => FailureCause::BadOptions,
            (_, CodegenErrorKind::GeneratorFailed) => FailureCause::GeneratorFailed,
            (_, CodegenErrorKind::Internal) => FailureCause::Internal,
        };
        Self {
            generator: generator.to_owned(),
            message: error.to_string(),
            stderr_tail: error.stderr_tail().map(str::to_owned),
            cause,
        }
    }
}

/// One SDK, identified before anything is generated: the exact version,
/// the generator and the key of its derived entry (also its ETag).
#[derive(Debug, Clone)]
pub struct SdkPlan {
    pub manifest: Arc<VersionManifest>,
    pub generator: String,
    /// The digest of everything the archive derives from: the image, the
    /// generator's name and version, the options.
    pub key: Digest,
    parameter: Option<String>,
    engine: Generator,
}

impl SdkPlan {
    /// `{module}-{version}-{generator}.tar.gz`: the name every front-end
    /// gives the archive.
    pub fn file_name(&self) -> String {
        format!(
            "{}-{}-{}.tar.gz",
            self.manifest.module, self.manifest.version, self.generator
        )
    }
}

/// What a derived entry is, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Artifact {
    /// An SDK archive (`/sdk/{generator}`, `GetSdk`).
    Sdk,
    /// A `.crate` of the Cargo registry.
    Crate,
}

impl Artifact {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sdk => "sdk",
            Self::Crate => "crate",
        }
    }
}

/// How one generation ended, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GenerationOutcome {
    /// Generated and stored.
    Ok,
    /// The generator refused the options (400 `INVALID_SDK_OPTION`).
    BadOptions,
    /// The plugin answered an error (422 `GENERATOR_ERROR`).
    GeneratorError,
    /// The plugin crashed, hung, wrote too much or answered nonsense (502
    /// `GENERATOR_FAILED`).
    GeneratorFailed,
    /// Anything else: storage, a local I/O failure.
    Error,
}

impl GenerationOutcome {
    pub const ALL: [Self; 5] = [
        Self::Ok,
        Self::BadOptions,
        Self::GeneratorError,
        Self::GeneratorFailed,
        Self::Error,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::BadOptions => "bad_options",
            Self::GeneratorError => "generator_error",
            Self::GeneratorFailed => "generator_failed",
            Self::Error => "error",
        }
    }

    fn of(result: &Result<Bytes, RegistryError>) -> Self {
        match result {
            Ok(_) => Self::Ok,
            Err(RegistryError::Generation(failure)) => match failure.cause {
                FailureCause::BadOptions => Self::BadOptions,
                FailureCause::GeneratorError => Self::GeneratorError,
                FailureCause::GeneratorFailed => Self::GeneratorFailed,
                FailureCause::Internal => Self::Error,
            },
            Err(_) => Self::Error,
        }
    }
}

/// Told of every derived-entry lookup and generation (the server's
/// metrics). Called on the request's task: keep it cheap.
pub trait SdkObserver: Send + Sync + std::fmt::Debug {
    /// A request looked for its archive in the blob store: `hit` when it
    /// was there; a miss generates it or waits for the generation running.
    fn lookup(&self, artifact: Artifact, generator: &str, hit: bool);
    /// One generation ended with `outcome` after `elapsed` (reading the
    /// image, waiting for a generator slot, generating and packing).
    fn generation(
        &self,
        artifact: Artifact,
        generator: &str,
        outcome: GenerationOutcome,
        elapsed: Duration,
    );
}

/// The registry's SDK state: the generators, one flight per key being
/// generated, a bound on generations running at once, the plugins'
/// program digests, the observer.
pub(crate) struct Sdks {
    generators: Generators,
    flights: Flights<Digest, Result<Bytes, SharedError>>,
    permits: Semaphore,
    program_digests: ProgramDigests,
    observer: Option<Arc<dyn SdkObserver>>,
}

/// A flight's error, handed to every waiter.
type SharedError = Arc<RegistryError>;

impl Sdks {
    pub(crate) fn new(
        generators: Generators,
        concurrency: usize,
        observer: Option<Arc<dyn SdkObserver>>,
    ) -> Self {
        Self {
            generators,
            flights: Flights::new(),
            permits: Semaphore::new(concurrency.max(1)),
            program_digests: ProgramDigests::default(),
            observer,
        }
    }
}

/// What a derived entry (an SDK, a crate, a version's type references)
/// starts with: a format tag, then the SHA-256 of the content, which a read
/// checks (derived entries are keyed by their inputs, so the store cannot
/// check them).
const ENTRY_TAG: &[u8] = b"spoke-derived/1\n";

pub(crate) fn wrap_entry(archive: &[u8]) -> Bytes {
    let mut entry = Vec::with_capacity(ENTRY_TAG.len() + 32 + archive.len());
    entry.extend_from_slice(ENTRY_TAG);
    entry.extend_from_slice(Digest::of(archive).as_bytes());
    entry.extend_from_slice(archive);
    Bytes::from(entry)
}

fn unwrap_entry(entry: &Bytes) -> Option<Bytes> {
    let rest = entry.strip_prefix(ENTRY_TAG)?;
    let (digest, archive) = rest.split_at_checked(32)?;
    (Digest::of(archive).as_bytes() == digest).then(|| entry.slice(ENTRY_TAG.len() + 32..))
}

/// How a stored image becomes a generator's input, in derivation keys: an
/// SDK made from another rendering of the same image is not reused.
pub(crate) const PLUGIN_INPUT: &str = "buf-encoded-1";

/// What a generator gets for a stored image: what buf hands a plugin (the
/// image re-encoded as buf encodes it, source-retention options stripped
/// from `proto_file`, see `Compiled::plugin_images`), as `spoke generate`
/// gives it for a registry input, so a plugin's output is the same.
pub(crate) fn plugin_input(
    image: &[u8],
    to_generate: Vec<String>,
) -> Result<GenerationInput, CodegenError> {
    let own = to_generate.iter().cloned().collect();
    let compiled = spoke_schema::Compiled::from_image(image, &own)
        .map_err(|error| CodegenError::InvalidInput(format!("stored image: {error}")))?;
    let (proto_files, sources) = compiled.plugin_images();
    GenerationInput::from_image(&proto_files, to_generate)?.with_source_descriptors(&sources)
}

/// The key of a derivation: the digest of its labelled inputs, each ended
/// by a NUL (no input contains one), so no two input lists collide.
pub(crate) fn derivation_key(kind: &str, inputs: &[(&str, &str)]) -> Digest {
    let mut text = Vec::new();
    text.extend_from_slice(kind.as_bytes());
    text.push(0);
    for (name, value) in inputs {
        text.extend_from_slice(name.as_bytes());
        text.push(b'=');
        text.extend_from_slice(value.as_bytes());
        text.push(0);
    }
    Digest::of(&text)
}

impl Registry {
    /// The names of the generators SDKs can be asked of.
    pub fn generator_names(&self) -> Vec<String> {
        self.sdks.generators.names().map(str::to_owned).collect()
    }

    /// SDKs and crates being generated now (each once, however many
    /// requests wait for it), for metrics.
    pub fn generations_running(&self) -> usize {
        self.sdks.flights.len()
    }

    /// Resolves an SDK request without generating anything: the exact
    /// version (`latest` and labels resolved once), the generator, its
    /// options and the cache key, which changes whenever the output could.
    pub async fn plan_sdk(
        &self,
        module: &ModuleName,
        selector: &VersionSelector,
        generator: &str,
        options: &[String],
    ) -> Result<SdkPlan, RegistryError> {
        let parameter = sdk_parameter(options)?;
        let engine = self
            .sdks
            .generators
            .get(generator)
            .cloned()
            .ok_or_else(|| RegistryError::GeneratorNotFound {
                generator: generator.to_owned(),
                available: self.generator_names(),
            })?;
        let manifest = self.get_version(module, selector).await?;
        let image = match manifest.image {
            Some(digest) => digest,
            None => {
                let exact = VersionSelector::Exact(manifest.version.clone());
                self.get_image(module, &exact).await?.1.digest
            }
        };
        let version = self.generator_version(generator, &engine).await?;
        let key = derivation_key(
            "sdk",
            &[
                ("image", &image.hex()),
                ("input", PLUGIN_INPUT),
                ("generator", generator),
                ("generator_version", &version),
                ("parameter", parameter.as_deref().unwrap_or("")),
            ],
        );
        Ok(SdkPlan {
            manifest,
            generator: generator.to_owned(),
            key,
            parameter,
            engine,
        })
    }

    /// The `.tar.gz` of a planned SDK: from the blob store when it was
    /// generated before, else generated (once, whoever else asks
    /// meanwhile), stored, and returned. A failure stores nothing.
    pub async fn sdk_archive(&self, plan: &SdkPlan) -> Result<Bytes, RegistryError> {
        self.derived(plan.key, Artifact::Sdk, &plan.generator, || async {
            let exact = VersionSelector::Exact(plan.manifest.version.clone());
            let (_, image) = self.get_image(&plan.manifest.module, &exact).await?;
            let to_generate: Vec<String> = plan
                .manifest
                .files
                .iter()
                .map(|f| f.path.to_string())
                .collect();
            let (engine, parameter) = (plan.engine.clone(), plan.parameter.clone());
            let files = self
                .on_codegen_thread(&plan.generator, move || {
                    let input = plugin_input(&image.bytes, to_generate)?;
                    spoke_codegen::generate(&input, &engine, parameter.as_deref())
                })
                .await?;
            Ok(Bytes::from(spoke_codegen::tar_gz(&files)))
        })
        .await
    }

    /// What identifies `engine`'s behaviour in a cache key: a built-in's
    /// name and version, or the SHA-256 of a plugin's program, remembered
    /// while the program file keeps its identity (see `program_digest`).
    /// A program named without a path is hashed every time (the plugin
    /// runner resolves it).
    pub(crate) async fn generator_version(
        &self,
        name: &str,
        engine: &Generator,
    ) -> Result<String, RegistryError> {
        let program = match engine {
            Generator::Builtin(_) => None,
            Generator::Plugin(plugin) => plugin
                .argv
                .first()
                .filter(|program| program.contains('/'))
                .map(PathBuf::from),
        };
        let stamp = program.as_deref().and_then(FileStamp::of);
        if let (Some(program), Some(stamp)) = (&program, &stamp)
            && let Some(known) = self.sdks.program_digests.get(program, stamp)
        {
            return Ok(known);
        }
        let version = match engine {
            Generator::Builtin(_) => spoke_codegen::generator_version(engine)
                .map_err(|e| RegistryError::Generation(GenerationFailure::new(name, &e)))?,
            Generator::Plugin(_) => {
                let engine = engine.clone();
                self.on_codegen_thread(name, move || spoke_codegen::generator_version(&engine))
                    .await?
            }
        };
        if let (Some(program), Some(stamp)) = (program, stamp) {
            self.sdks
                .program_digests
                .remember(&program, stamp, &version);
        }
        Ok(version)
    }

    /// A derived entry: read from the blob store, or made by `make` once
    /// for all concurrent callers, then stored before anyone is answered.
    /// `artifact` and `generator` name it to the observer.
    pub(crate) async fn derived<F, Fut>(
        &self,
        key: Digest,
        artifact: Artifact,
        generator: &str,
        make: F,
    ) -> Result<Bytes, RegistryError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, RegistryError>>,
    {
        let found = self.read_derived(&key).await?;
        if let Some(observer) = &self.sdks.observer {
            observer.lookup(artifact, generator, found.is_some());
        }
        if let Some(found) = found {
            return Ok(found);
        }
        let shared = self
            .sdks
            .flights
            .run(key, || async {
                let outcome: Result<Bytes, RegistryError> = async {
                    // A flight that just ended may have stored it.
                    if let Some(found) = self.read_derived(&key).await? {
                        return Ok(found);
                    }
                    let started = Instant::now();
                    let made = async {
                        let made = make().await?;
                        self.blobs.put_derived(&key, wrap_entry(&made)).await?;
                        Ok(made)
                    }
                    .await;
                    if let Some(observer) = &self.sdks.observer {
                        let outcome = GenerationOutcome::of(&made);
                        observer.generation(artifact, generator, outcome, started.elapsed());
                    }
                    made
                }
                .await;
                outcome.map_err(Arc::new)
            })
            .await;
        shared.map_err(|shared| Arc::try_unwrap(shared).unwrap_or_else(|e| unshare(&e)))
    }

    /// The derived entry under `key`, checked; `None` when there is none
    /// or it fails its check (damaged outside Spoke: derive it again).
    pub(crate) async fn read_derived(&self, key: &Digest) -> Result<Option<Bytes>, RegistryError> {
        let Some(entry) = self.blobs.get_derived(key).await? else {
            return Ok(None);
        };
        match unwrap_entry(&entry) {
            Some(content) => Ok(Some(content)),
            None => {
                // Damaged outside Spoke: derive it again (and store it over).
                tracing::warn!(key = %key, "derived entry fails its check; regenerating");
                Ok(None)
            }
        }
    }

    /// Runs generation off the async runtime, on a thread of its own with
    /// the large stack the compiler's workers have (generators recurse over
    /// nested declarations), at most `codegen_concurrency` at once. Not on
    /// the compute pool: a plugin may wait on its time limit, far longer
    /// than a compile's budget, and must not hold a compile worker.
    pub(crate) async fn on_codegen_thread<T: Send + 'static>(
        &self,
        generator: &str,
        work: impl FnOnce() -> Result<T, CodegenError> + Send + 'static,
    ) -> Result<T, RegistryError> {
        let _permit = self
            .sdks
            .permits
            .acquire()
            .await
            .map_err(|_| RegistryError::Internal("the generator pool is closed".into()))?;
        let (sender, receiver) = oneshot::channel();
        std::thread::Builder::new()
            .name("spoke-codegen".into())
            .stack_size(spoke_schema::STACK_BYTES)
            .spawn(move || {
                let _ = sender.send(work());
            })
            .map_err(|e| {
                RegistryError::Internal(format!("cannot start a generator thread: {e}"))
            })?;
        let outcome = receiver
            .await
            .map_err(|_| RegistryError::Internal(format!("generator {generator} panicked")))?;
        outcome.map_err(|e| RegistryError::Generation(GenerationFailure::new(generator, &e)))
    }
}

/// The generator parameter `options` make, checked: at most
/// [`MAX_SDK_OPTIONS`], each non-empty, within [`MAX_SDK_OPTION_BYTES`],
/// without control characters or the `,` that separates them.
fn sdk_parameter(options: &[String]) -> Result<Option<String>, RegistryError> {
    if options.len() > MAX_SDK_OPTIONS {
        return Err(RegistryError::InvalidSdkOption(format!(
            "{} options given; at most {MAX_SDK_OPTIONS} are allowed",
            options.len()
        )));
    }
    for option in options {
        let problem = if option.is_empty() {
            Some("it is empty")
        } else if option.len() > MAX_SDK_OPTION_BYTES {
            Some("it is longer than 1024 bytes")
        } else if option.chars().any(char::is_control) {
            Some("it contains a control character")
        } else if option.contains(',') {
            Some("it contains ',', which separates options: give each as its own opt")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(RegistryError::InvalidSdkOption(format!(
                "option {option:?}: {problem}"
            )));
        }
    }
    Ok((!options.is_empty()).then(|| options.join(",")))
}

/// A copy of an error several callers share: every variant a flight can
/// end with keeps its kind and message.
fn unshare(error: &RegistryError) -> RegistryError {
    match error {
        RegistryError::Generation(failure) => RegistryError::Generation(failure.clone()),
        RegistryError::Storage(StorageError::Unavailable { backend, message }) => {
            RegistryError::Storage(StorageError::Unavailable {
                backend,
                message: message.clone(),
            })
        }
        RegistryError::Storage(StorageError::Io { backend, source }) => {
            RegistryError::Storage(StorageError::Unavailable {
                backend,
                message: source.to_string(),
            })
        }
        RegistryError::Overloaded { what } => RegistryError::Overloaded { what },
        RegistryError::BudgetExceeded { what, budget } => RegistryError::BudgetExceeded {
            what,
            budget: *budget,
        },
        other => RegistryError::Internal(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_carry_their_digest() {
        let archive = b"an archive".as_slice();
        let entry = wrap_entry(archive);
        assert_eq!(unwrap_entry(&entry).unwrap(), archive);
        let mut damaged = entry.to_vec();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(unwrap_entry(&Bytes::from(damaged)).is_none());
        assert!(unwrap_entry(&Bytes::from_static(b"short")).is_none());
    }

    #[test]
    fn keys_separate_their_inputs() {
        let a = derivation_key("sdk", &[("a", "b"), ("c", "")]);
        assert_eq!(a, derivation_key("sdk", &[("a", "b"), ("c", "")]));
        assert_ne!(a, derivation_key("sdk", &[("a", "bc"), ("", "")]));
        assert_ne!(a, derivation_key("sdk", &[("a", "b"), ("c", "d")]));
        assert_ne!(a, derivation_key("crate", &[("a", "b"), ("c", "")]));
    }

    #[test]
    fn options_are_checked_and_joined() {
        assert_eq!(sdk_parameter(&[]).unwrap(), None);
        let options = vec!["a=1".to_owned(), "b".to_owned()];
        assert_eq!(sdk_parameter(&options).unwrap().as_deref(), Some("a=1,b"));
        for bad in ["", "a,b", "a\nb"] {
            assert!(sdk_parameter(&[bad.to_owned()]).is_err(), "{bad:?}");
        }
        assert!(sdk_parameter(&vec!["x".to_owned(); 33]).is_err());
        assert!(sdk_parameter(&["x".repeat(1025)]).is_err());
    }
}
