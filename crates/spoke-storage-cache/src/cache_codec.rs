//! The binary encoding of what the storage cache keeps in Redis (L2): a
//! format tag byte, then length-prefixed fields, wrapped in
//! `spoke_cache::codec` (LZ4 for large values). A value that does not decode
//! (another format, a damaged entry) is treated as a miss.

use bytes::Bytes;
use spoke_cache::codec;
use spoke_domain::{
    CompatibilityPolicy, Cursor, DependencyPin, Deprecation, Deprecations, Digest, DocumentEntry,
    DocumentName, FileEntry, FilePath, LabelName, LabelTarget, Module, ModuleName, Page,
    RuleSelection, SourceInfo, Timestamp, VersionDeprecation, VersionId, VersionManifest,
    VersionSummary,
};

use crate::shared::Mutable;

/// Bumped whenever the layout below changes; old entries then read as misses.
/// 3: module records carry their labels; 4: and their deprecation marks.
const FORMAT: u8 = 4;

/// A mutable value as kept in Redis.
pub(crate) fn encode_mutable(value: &Mutable) -> Vec<u8> {
    match value {
        Mutable::Module(module) => encode_module(module),
        Mutable::Versions(limit, page) => encode_versions(*limit, page),
    }
}

/// A blob, only enveloped: its bytes have no structure to encode.
pub(crate) fn encode_blob(blob: &Bytes) -> Vec<u8> {
    codec::encode(blob)
}

pub(crate) fn decode_blob(encoded: &[u8]) -> Option<Bytes> {
    codec::decode(encoded).ok().map(Bytes::from)
}

pub(crate) fn encode_manifest(m: &VersionManifest) -> Vec<u8> {
    let mut w = Writer::new();
    w.str(m.module.as_str());
    w.str(m.version.as_str());
    w.count(m.files.len());
    for file in &m.files {
        w.str(file.path.as_str());
        w.digest(&file.digest);
        w.u64(file.size);
    }
    w.count(m.dependencies.len());
    for pin in &m.dependencies {
        w.str(pin.module.as_str());
        w.str(pin.version.as_str());
    }
    for part in [
        &m.source_info.repository,
        &m.source_info.commit_sha,
        &m.source_info.branch,
    ] {
        w.opt_str(part.as_deref());
    }
    w.time(m.created_at);
    w.digest(&m.digest);
    w.opt_digest(m.image.as_ref());
    // Documents last and only when there are some: a manifest without them
    // encodes as before this field existed, and such entries still decode.
    if !m.documents.is_empty() {
        w.count(m.documents.len());
        for document in &m.documents {
            w.str(document.name.as_str());
            w.digest(&document.digest);
            w.u64(document.size);
        }
    }
    w.finish()
}

pub(crate) fn decode_manifest(bytes: &[u8]) -> Option<VersionManifest> {
    let raw = codec::decode(bytes).ok()?;
    let mut r = Reader::new(&raw)?;
    let module = r.module()?;
    let version = r.version()?;
    let files = (0..r.count()?)
        .map(|_| {
            Some(FileEntry {
                path: FilePath::parse(r.str()?).ok()?,
                digest: r.digest()?,
                size: r.u64()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let dependencies = (0..r.count()?)
        .map(|_| {
            Some(DependencyPin {
                module: r.module()?,
                version: r.version()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let source_info = SourceInfo {
        repository: r.opt_str()?,
        commit_sha: r.opt_str()?,
        branch: r.opt_str()?,
    };
    let manifest = VersionManifest {
        module,
        version,
        files,
        dependencies,
        source_info,
        created_at: r.time()?,
        digest: r.digest()?,
        image: r.opt_digest()?,
        documents: Vec::new(),
    };
    let mut manifest = manifest;
    if !r.end() {
        manifest.documents = (0..r.count()?)
            .map(|_| {
                Some(DocumentEntry {
                    name: DocumentName::parse(r.str()?).ok()?,
                    digest: r.digest()?,
                    size: r.u64()?,
                })
            })
            .collect::<Option<Vec<_>>>()?;
    }
    r.end().then_some(manifest)
}

fn encode_module(m: &Module) -> Vec<u8> {
    let mut w = Writer::new();
    w.str(m.name.as_str());
    w.str(&m.description);
    w.time(m.created_at);
    w.time(m.updated_at);
    w.opt_str(m.latest_version.as_ref().map(VersionId::as_str));
    match &m.compatibility {
        Some(policy) => {
            w.0.push(1);
            w.str(policy.mode.as_str());
            for list in [
                &policy.rules.uses,
                &policy.rules.except,
                &policy.rules.ignore,
            ] {
                w.strs(list);
            }
            w.0.push(u8::from(policy.rules.ignore_unstable_packages));
        }
        None => w.0.push(0),
    }
    w.count(m.labels.len());
    for (label, target) in &m.labels {
        w.str(label.as_str());
        w.str(target.version.as_str());
        w.time(target.updated_at);
    }
    let deprecations = &m.deprecations;
    match &deprecations.module {
        Some(mark) => {
            w.0.push(1);
            w.deprecation(mark);
        }
        None => w.0.push(0),
    }
    w.count(deprecations.versions.len());
    for entry in &deprecations.versions {
        w.str(entry.version.as_str());
        w.deprecation(&entry.deprecation);
    }
    w.finish()
}

pub(crate) fn decode_module(bytes: &[u8]) -> Option<Module> {
    let raw = codec::decode(bytes).ok()?;
    let mut r = Reader::new(&raw)?;
    let module = Module {
        name: r.module()?,
        description: r.str()?.to_owned(),
        created_at: r.time()?,
        updated_at: r.time()?,
        latest_version: match r.opt_str()? {
            Some(v) => Some(VersionId::parse(&v).ok()?),
            None => None,
        },
        compatibility: match r.take::<1>()? {
            [0] => None,
            [1] => Some(CompatibilityPolicy {
                mode: r.str()?.parse().ok()?,
                rules: RuleSelection {
                    uses: r.strs()?,
                    except: r.strs()?,
                    ignore: r.strs()?,
                    ignore_unstable_packages: r.bool()?,
                },
            }),
            _ => return None,
        },
        labels: (0..r.count()?)
            .map(|_| {
                Some((
                    LabelName::parse(r.str()?).ok()?,
                    LabelTarget {
                        version: r.version()?,
                        updated_at: r.time()?,
                    },
                ))
            })
            .collect::<Option<_>>()?,
        deprecations: Deprecations {
            module: match r.take::<1>()? {
                [0] => None,
                [1] => Some(r.deprecation()?),
                _ => return None,
            },
            versions: (0..r.count()?)
                .map(|_| {
                    Some(VersionDeprecation {
                        version: r.version()?,
                        deprecation: r.deprecation()?,
                    })
                })
                .collect::<Option<Vec<_>>>()?,
        },
    };
    r.end().then_some(module)
}

/// A first page of versions, with the limit it was listed with.
fn encode_versions(limit: u32, page: &Page<VersionSummary>) -> Vec<u8> {
    let mut w = Writer::new();
    w.u64(u64::from(limit));
    w.count(page.items.len());
    for item in &page.items {
        w.str(item.version.as_str());
        w.digest(&item.digest);
        w.time(item.created_at);
    }
    w.opt_str(page.next_cursor.as_ref().map(Cursor::token).as_deref());
    w.finish()
}

pub(crate) fn decode_versions(bytes: &[u8]) -> Option<(u32, Page<VersionSummary>)> {
    let raw = codec::decode(bytes).ok()?;
    let mut r = Reader::new(&raw)?;
    let limit = u32::try_from(r.u64()?).ok()?;
    let items = (0..r.count()?)
        .map(|_| {
            Some(VersionSummary {
                version: r.version()?,
                digest: r.digest()?,
                created_at: r.time()?,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let next_cursor = match r.opt_str()? {
        Some(token) => Some(Cursor::parse(&token).ok()?),
        None => None,
    };
    r.end().then_some((limit, Page { items, next_cursor }))
}

struct Writer(Vec<u8>);

impl Writer {
    fn new() -> Self {
        Self(vec![FORMAT])
    }

    fn u64(&mut self, n: u64) {
        self.0.extend_from_slice(&n.to_le_bytes());
    }

    fn count(&mut self, n: usize) {
        self.u64(n as u64);
    }

    fn str(&mut self, s: &str) {
        self.count(s.len());
        self.0.extend_from_slice(s.as_bytes());
    }

    fn strs(&mut self, list: &[String]) {
        self.count(list.len());
        for s in list {
            self.str(s);
        }
    }

    fn opt_str(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.0.push(1);
                self.str(s);
            }
            None => self.0.push(0),
        }
    }

    fn digest(&mut self, d: &Digest) {
        self.0.extend_from_slice(d.as_bytes());
    }

    fn opt_digest(&mut self, d: Option<&Digest>) {
        match d {
            Some(d) => {
                self.0.push(1);
                self.digest(d);
            }
            None => self.0.push(0),
        }
    }

    fn time(&mut self, t: Timestamp) {
        self.0.extend_from_slice(&t.unix_nanos().to_le_bytes());
    }

    fn deprecation(&mut self, d: &Deprecation) {
        self.str(&d.message);
        self.time(d.time);
    }

    fn finish(self) -> Vec<u8> {
        codec::encode(&self.0)
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn new(raw: &'a [u8]) -> Option<Self> {
        match raw.split_first() {
            Some((&FORMAT, rest)) => Some(Self(rest)),
            _ => None,
        }
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take::<8>().map(u64::from_le_bytes)
    }

    /// A length, never more than the bytes left (so a damaged entry cannot
    /// make us allocate much).
    fn count(&mut self) -> Option<usize> {
        usize::try_from(self.u64()?)
            .ok()
            .filter(|n| *n <= self.0.len())
    }

    fn str(&mut self) -> Option<&'a str> {
        let len = self.count()?;
        let (s, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(s).ok()
    }

    fn deprecation(&mut self) -> Option<Deprecation> {
        Some(Deprecation {
            message: self.str()?.to_owned(),
            time: self.time()?,
        })
    }

    fn strs(&mut self) -> Option<Vec<String>> {
        (0..self.count()?)
            .map(|_| self.str().map(str::to_owned))
            .collect()
    }

    fn bool(&mut self) -> Option<bool> {
        match self.take::<1>()? {
            [0] => Some(false),
            [1] => Some(true),
            _ => None,
        }
    }

    fn opt_str(&mut self) -> Option<Option<String>> {
        match self.take::<1>()? {
            [0] => Some(None),
            [1] => Some(Some(self.str()?.to_owned())),
            _ => None,
        }
    }

    fn digest(&mut self) -> Option<Digest> {
        self.take::<32>().map(Digest::from_bytes)
    }

    fn opt_digest(&mut self) -> Option<Option<Digest>> {
        match self.take::<1>()? {
            [0] => Some(None),
            [1] => Some(Some(self.digest()?)),
            _ => None,
        }
    }

    fn time(&mut self) -> Option<Timestamp> {
        Timestamp::from_unix_nanos(i128::from_le_bytes(self.take::<16>()?))
    }

    fn module(&mut self) -> Option<ModuleName> {
        ModuleName::parse(self.str()?).ok()
    }

    fn version(&mut self) -> Option<VersionId> {
        VersionId::parse(self.str()?).ok()
    }

    fn end(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spoke_domain::CompatibilityMode;

    fn manifest() -> VersionManifest {
        let digest = Digest::of(b"a");
        VersionManifest {
            module: ModuleName::parse("acme.pets").unwrap(),
            version: VersionId::parse("v1.2.3").unwrap(),
            files: vec![FileEntry {
                path: FilePath::parse("pets/v1/pet.proto").unwrap(),
                digest,
                size: 1,
            }],
            dependencies: vec![DependencyPin {
                module: ModuleName::parse("acme.common").unwrap(),
                version: VersionId::parse("v1.0.0").unwrap(),
            }],
            source_info: SourceInfo {
                repository: Some("https://example.invalid/r".into()),
                commit_sha: None,
                branch: Some("main".into()),
            },
            created_at: Timestamp::now(),
            digest: Digest::of(b"m"),
            image: Some(digest),
            documents: Vec::new(),
        }
    }

    #[test]
    fn manifests_with_documents_round_trip_and_those_without_keep_their_encoding() {
        let plain = manifest();
        let encoded = encode_manifest(&plain);
        let with = VersionManifest {
            documents: vec![
                DocumentEntry {
                    name: DocumentName::Readme,
                    digest: Digest::of(b"# pets"),
                    size: 6,
                },
                DocumentEntry {
                    name: DocumentName::License,
                    digest: Digest::of(b"MIT"),
                    size: 3,
                },
            ],
            ..plain.clone()
        };
        assert_eq!(decode_manifest(&encode_manifest(&with)), Some(with.clone()));
        // An entry cached before documents existed: the same bytes, which
        // still decode, with no documents.
        let raw = codec::decode(&encoded).unwrap();
        let with_raw = codec::decode(&encode_manifest(&with)).unwrap();
        assert!(with_raw.starts_with(&raw));
        assert_eq!(decode_manifest(&encoded), Some(plain));
        // A damaged tail is a miss.
        let mut damaged = with_raw.clone();
        damaged.push(0);
        assert_eq!(decode_manifest(&codec::encode(&damaged)), None);
    }

    #[test]
    fn round_trips() {
        let m = manifest();
        assert_eq!(decode_manifest(&encode_manifest(&m)), Some(m.clone()));
        let module = Module {
            name: m.module.clone(),
            description: "d".repeat(2000),
            created_at: m.created_at,
            updated_at: m.created_at,
            latest_version: Some(m.version.clone()),
            compatibility: Some(CompatibilityPolicy {
                mode: CompatibilityMode::FullTransitive,
                rules: RuleSelection {
                    uses: vec!["WIRE_JSON".into(), "FIELD_NO_DELETE".into()],
                    except: vec![],
                    ignore: vec!["legacy".into()],
                    ignore_unstable_packages: true,
                },
            }),
            labels: [("stable", "v1.2.3"), ("prod", "v1.0.0")]
                .into_iter()
                .map(|(label, version)| {
                    (
                        LabelName::parse(label).unwrap(),
                        LabelTarget {
                            version: VersionId::parse(version).unwrap(),
                            updated_at: m.created_at,
                        },
                    )
                })
                .collect(),
            deprecations: Deprecations {
                module: Some(Deprecation {
                    message: "use shop.v2".into(),
                    time: m.created_at,
                }),
                versions: vec![VersionDeprecation {
                    version: m.version.clone(),
                    deprecation: Deprecation {
                        message: String::new(),
                        time: m.created_at,
                    },
                }],
            },
        };
        assert_eq!(decode_module(&encode_module(&module)), Some(module.clone()));
        let unset = Module {
            compatibility: None,
            labels: Default::default(),
            deprecations: Deprecations::default(),
            ..module
        };
        assert_eq!(decode_module(&encode_module(&unset)), Some(unset));
        let page = Page {
            items: vec![m.summary()],
            next_cursor: Some(Cursor::after_version(&m.summary())),
        };
        assert_eq!(decode_versions(&encode_versions(7, &page)), Some((7, page)));
    }

    #[test]
    fn rejects_other_formats_and_damage() {
        let encoded = encode_manifest(&manifest());
        assert!(decode_manifest(&encoded[..encoded.len() - 1]).is_none());
        let mut other = codec::decode(&encoded).unwrap();
        other[0] = FORMAT + 1;
        assert!(decode_manifest(&codec::encode(&other)).is_none());
        assert!(decode_module(&encoded).is_none());
    }
}
