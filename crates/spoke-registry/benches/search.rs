//! Search latency with about a million symbols indexed, on the filesystem
//! and (with SPOKE_TEST_POSTGRES_URL) PostgreSQL stores: symbol sets are
//! inserted straight through the store (100 versions of a module of 10,000
//! symbols), then the index is built and a mix of queries is timed.
//! Also: the index's resident memory (the process's growth while it is
//! built), a fingerprint of every query's answer (the same on both stores),
//! and, with SPOKE_TEST_GOOGLEAPIS, the time the index takes to take in a
//! push of the googleapis subset (138 files as one module) on top of the
//! million symbols.
//! `SPOKE_TEST_POSTGRES_URL=… SPOKE_TEST_GOOGLEAPIS=… cargo bench -p spoke-registry --bench search`
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use spoke_domain::{
    AccessRecords, Digest, FileEntry, FilePath, ModuleName, NewModule, PageRequest, SearchKind,
    SearchQuery, SourceInfo, Symbol, SymbolKind, Timestamp, VersionId, VersionManifest,
};
use spoke_registry::{PushOutcome, PushRecords, PushRequest, Registry, RegistryOptions};
use spoke_storage::{BlobStore, MetadataStore};
use spoke_storage_fs::FsStore;
use spoke_storage_postgres::PgMetadataStore;
use spoke_test_support::postgres::{TestDb, admin_url};

const VERSIONS: usize = 100;
const FILES: usize = 50;
const MESSAGES_PER_FILE: usize = 40;
/// A message and its four fields, each with a comment.
const WORDS: [&str; 12] = [
    "Account",
    "Order",
    "Payment",
    "Customer",
    "Invoice",
    "Shipment",
    "Money",
    "Address",
    "Subscription",
    "Ledger",
    "Refund",
    "Quota",
];

fn symbols() -> Vec<Symbol> {
    let mut out = Vec::new();
    for f in 0..FILES {
        let path = format!("bench/v1/file{f}.proto");
        for m in 0..MESSAGES_PER_FILE {
            let word = WORDS[(f * MESSAGES_PER_FILE + m) % WORDS.len()];
            let message = format!("bench.v1.{word}{f}x{m}");
            let mut push = |full_name: String, kind, type_refs: Vec<String>| {
                out.push(Symbol {
                    comment: Some(format!(
                        "The {} of file {f}, element {m}.",
                        word.to_lowercase()
                    )),
                    full_name,
                    kind,
                    path: path.clone(),
                    line: u32::try_from(out.len() % 5000).unwrap(),
                    type_refs,
                })
            };
            push(message.clone(), SymbolKind::Message, Vec::new());
            push(format!("{message}.id"), SymbolKind::Field, Vec::new());
            push(
                format!("{message}.display_name"),
                SymbolKind::Field,
                Vec::new(),
            );
            push(
                format!("{message}.created_at"),
                SymbolKind::Field,
                vec!["google.protobuf.Timestamp".to_owned()],
            );
            push(
                format!("{message}.total"),
                SymbolKind::Field,
                vec!["bench.v1.Money0x6".to_owned()],
            );
        }
    }
    out
}

async fn fill(meta: &dyn MetadataStore, blobs: &dyn BlobStore) -> usize {
    let module = ModuleName::parse("bench").unwrap();
    meta.create_module(
        &NewModule {
            name: module.clone(),
            description: String::new(),
            compatibility: None,
        },
        Timestamp::now(),
        &AccessRecords::NONE,
    )
    .await
    .unwrap();
    let symbols = symbols();
    for v in 0..VERSIONS {
        let content = format!("syntax = \"proto3\"; // {v}");
        let digest = Digest::of(content.as_bytes());
        blobs.put(&digest, content.clone().into()).await.unwrap();
        let manifest = VersionManifest {
            module: module.clone(),
            version: VersionId::parse(&format!("v1.{v}.0")).unwrap(),
            files: vec![FileEntry {
                path: FilePath::parse("bench/v1/file0.proto").unwrap(),
                digest,
                size: content.len() as u64,
            }],
            dependencies: Vec::new(),
            source_info: SourceInfo::default(),
            created_at: Timestamp::now(),
            digest,
            image: None,
            documents: Vec::new(),
        };
        meta.insert_version(&manifest, &symbols, &AccessRecords::NONE)
            .await
            .unwrap();
    }
    symbols.len() * VERSIONS
}

fn queries() -> Vec<SearchQuery> {
    let plain =
        |q: &str, all: bool| SearchQuery::new(q, None, None, all, PageRequest::first(50)).unwrap();
    vec![
        plain("Money", false),
        plain("Money", true),
        plain("display_name", true),
        plain("Paymnet", false),
        plain("account id", true),
        plain("type:bench.v1.Money0x6", true),
        plain("Customer12x3.total", true),
        plain("subscription", true),
        SearchQuery::new(
            "created",
            Some(SearchKind::Symbol(SymbolKind::Field)),
            None,
            false,
            PageRequest::first(20),
        )
        .unwrap(),
    ]
}

async fn measure(label: &str, meta: Arc<dyn MetadataStore>, blobs: Arc<dyn BlobStore>) {
    let started = Instant::now();
    let count = fill(meta.as_ref(), blobs.as_ref()).await;
    let filled = started.elapsed();
    let registry = Registry::new(meta, blobs, RegistryOptions::default());
    let resident = resident_bytes();
    let started = Instant::now();
    let indexed = registry.refresh_search_index().await.unwrap();
    let build = started.elapsed();
    let grown = resident_bytes().saturating_sub(resident);
    println!(
        "{label}: {count} symbols stored in {filled:.1?}; index of {indexed} entries built in {build:.1?}, resident memory +{} MiB",
        grown / (1024 * 1024)
    );
    let mut answers = DefaultHasher::new();
    for query in queries() {
        let page = registry.search(query, None).await.unwrap();
        for hit in &page.results {
            (
                &hit.module,
                &hit.version,
                &hit.full_name,
                hit.kind,
                hit.score,
            )
                .hash(&mut answers);
        }
        page.next_cursor.map(|c| c.token()).hash(&mut answers);
    }
    println!("{label}: answers fingerprint {:016x}", answers.finish());
    let mut per_query: Vec<Vec<Duration>> = vec![Vec::new(); queries().len()];
    for round in 0..3 {
        let mut times: Vec<Duration> = Vec::new();
        for _ in 0..25 {
            for (n, query) in queries().into_iter().enumerate() {
                let started = Instant::now();
                registry.search(query, None).await.unwrap();
                let took = started.elapsed();
                times.push(took);
                per_query[n].push(took);
            }
        }
        times.sort();
        let at = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
        println!(
            "{label} round {round}: {} searches, p50 {:.2?}, p99 {:.2?}, max {:.2?}",
            times.len(),
            at(0.50),
            at(0.99),
            times[times.len() - 1]
        );
    }
    for (query, mut times) in queries().into_iter().zip(per_query) {
        times.sort();
        println!(
            "{label}   {:?} all_versions={}: median {:.2?}, max {:.2?}",
            query.text,
            query.all_versions,
            times[times.len() / 2],
            times[times.len() - 1]
        );
    }
    index_googleapis(label, &registry).await;
}

/// The process's resident set, from /proc (0 where there is none).
fn resident_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// Pushes the googleapis subset as one module, a new version each round,
/// and times the index taking it in (the catch-up a search does first).
async fn index_googleapis(label: &str, registry: &Registry) {
    let Some(root) = spoke_test_support::googleapis::root() else {
        println!("{label}: googleapis push skipped, SPOKE_TEST_GOOGLEAPIS is not set");
        return;
    };
    let files: Vec<_> = spoke_test_support::googleapis::load(&root)
        .into_iter()
        .flat_map(|module| module.files)
        .collect();
    let mut times = Vec::new();
    for round in 0..5 {
        let outcome = registry
            .push(
                PushRequest {
                    module: ModuleName::parse("googleapis").unwrap(),
                    version: VersionId::parse(&format!("v1.{round}.0")).unwrap(),
                    files: files.clone(),
                    dependencies: Vec::new(),
                    source_info: SourceInfo::default(),
                    create_module: Some(String::new()),
                    documents: Vec::new(),
                },
                &PushRecords::NONE,
            )
            .await
            .unwrap();
        assert!(matches!(outcome, PushOutcome::Created(_)));
        let started = Instant::now();
        let entries = registry.refresh_search_index().await.unwrap();
        times.push(started.elapsed());
        if round == 0 {
            println!(
                "{label}: {} googleapis files, index now {entries} entries",
                files.len()
            );
        }
    }
    times.sort();
    println!(
        "{label}: indexing a {}-file push: min {:.1?}, median {:.1?}, max {:.1?} (5 pushes)",
        files.len(),
        times[0],
        times[2],
        times[4]
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let root = tempfile::tempdir().unwrap();
        let fs = Arc::new(FsStore::open(root.path()).unwrap());
        measure("filesystem", fs.clone(), fs).await;
        let Some(url) = admin_url() else {
            println!("postgres: skipped, SPOKE_TEST_POSTGRES_URL is not set");
            return;
        };
        let db = TestDb::create(&url).await;
        let meta = Arc::new(PgMetadataStore::connect(db.config()).await.unwrap());
        let fs_blobs = Arc::new(FsStore::open(tempfile::tempdir().unwrap().keep()).unwrap());
        measure("postgres", meta, fs_blobs).await;
    });
}
