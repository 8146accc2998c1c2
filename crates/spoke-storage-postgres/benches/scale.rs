//! Scale benchmark of the PostgreSQL metadata store: does reading stay flat
//! as the registry grows? Fills a fresh database to 1k, then 10k, then 100k
//! versions (over 100, 1,000 and 10,000 modules; a few modules hold 1,000
//! versions each) and at each size times, through [`PgMetadataStore`]:
//! `get_version`, the first and the fifth page of `list_versions`, and the
//! first and a deep page of `list_modules`. Then prints
//! `EXPLAIN (ANALYZE, BUFFERS)` of the queries behind them.
//!
//! ```text
//! cargo bench -p spoke-storage-postgres --bench scale
//! ```
//!
//! The server is `SPOKE_BENCH_POSTGRES_URL`, else `SPOKE_TEST_POSTGRES_URL`,
//! else `postgres://postgres@127.0.0.1:5432/postgres` (an admin URL: the
//! benchmark creates its own database and drops it afterwards).
//! `SPOKE_BENCH_SCALE_SIZES` (e.g. `1000,10000`) and
//! `SPOKE_BENCH_SCALE_CALLS` (default 2000) override the sizes and the calls
//! per operation. Run without `--bench` (as `cargo test --all-targets`
//! does), it checks itself at a tiny size instead, skipping like the tests
//! when no server is named.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use spoke_domain::{
    AccessRecords, Cursor, DependencyPin, Digest, FileEntry, FilePath, ModuleName, NewModule,
    PageRequest, SourceInfo, Timestamp, VersionId, VersionManifest, version_digest,
};
use spoke_storage::MetadataStore;
use spoke_storage::conformance::sample_symbols;
use spoke_storage_postgres::{PgConfig, PgMetadataStore, queries};
use tokio::task::JoinSet;
use tokio_postgres::types::ToSql;

use spoke_test_support::postgres::{TestDb, admin, admin_url};

/// Versions per big module: enough for a deep page and then some.
const BIG_MODULE_VERSIONS: usize = 1_000;
/// Versions per ordinary module.
const SMALL_MODULE_VERSIONS: usize = 5;
const PAGE: u32 = 50;
/// The deep `list_versions` page: rows 201 to 250 of a big module.
const DEEP_PAGE: usize = 5;
/// Concurrent `insert_version` callers while loading.
const LOADERS: usize = 8;

#[tokio::main]
async fn main() {
    let full_run = std::env::args().any(|arg| arg == "--bench");
    let sizes = match std::env::var("SPOKE_BENCH_SCALE_SIZES") {
        Ok(list) => list
            .split(',')
            .map(|n| n.trim().parse().expect("SPOKE_BENCH_SCALE_SIZES: numbers"))
            .collect(),
        Err(_) if full_run => vec![1_000, 10_000, 100_000],
        Err(_) => vec![600],
    };
    let calls = match std::env::var("SPOKE_BENCH_SCALE_CALLS") {
        Ok(n) => n.parse().expect("SPOKE_BENCH_SCALE_CALLS: a number"),
        Err(_) if full_run => 2_000,
        Err(_) => 20,
    };
    let admin_url = match std::env::var("SPOKE_BENCH_POSTGRES_URL") {
        Ok(url) => url,
        Err(_) if full_run => std::env::var("SPOKE_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned()),
        // The self-check skips as the tests do.
        Err(_) => match admin_url() {
            Some(url) => url,
            None => return,
        },
    };

    let db = TestDb::create(&admin_url).await;
    // Loading speed only: reads are what is measured, and they do not wait
    // for WAL flushes.
    admin(&admin_url)
        .await
        .batch_execute(&format!(
            "ALTER DATABASE {} SET synchronous_commit = off",
            db.name
        ))
        .await
        .unwrap();
    let store = PgMetadataStore::connect(PgConfig {
        max_conns: LOADERS,
        min_conns: LOADERS,
        statement_timeout: Duration::from_secs(60),
        ..db.config()
    })
    .await
    .unwrap();
    let sql = admin(&db.url).await;

    let mut layout = Layout::default();
    let mut results = Vec::new();
    let mut plans = Vec::new();
    for &size in &sizes {
        let started = Instant::now();
        let inserted = layout.grow_to(&store, size).await;
        sql.batch_execute("VACUUM ANALYZE").await.unwrap();
        let total = layout.total_versions();
        let database_size: String = sql
            .query_one(
                "SELECT pg_size_pretty(pg_database_size(current_database()))",
                &[],
            )
            .await
            .unwrap()
            .get(0);
        eprintln!(
            "loaded {inserted} versions in {:.1?}: {total} versions over {} modules, database {database_size}",
            started.elapsed(),
            layout.counts.len()
        );
        let timings = measure(&store, &layout, calls).await;
        results.push((total, layout.counts.len(), timings));
        plans.push((total, explain_hot_queries(&sql, &store, &layout).await));
    }

    println!("\n## Latency per call ({calls} calls each, one caller)\n");
    println!("| versions | modules | operation | p50 | p99 | p50 ÷ baseline p50 |");
    println!("|---:|---:|---|---:|---:|---:|");
    for (total, modules, timings) in &results {
        let baseline = timings
            .iter()
            .find(|(operation, _)| *operation == BASELINE)
            .map(|(_, latencies)| percentile(latencies, 50))
            .expect("the baseline is measured");
        for (operation, latencies) in timings {
            let p50 = percentile(latencies, 50);
            println!(
                "| {total} | {modules} | {operation} | {} | {} | {:.1} |",
                micros(p50),
                micros(percentile(latencies, 99)),
                p50.as_secs_f64() / baseline.as_secs_f64()
            );
        }
    }
    println!("\n## Work per statement (top node of `EXPLAIN (ANALYZE, BUFFERS)`)\n");
    println!("| statement | versions | buffers (hit + read) | execution |");
    println!("|---|---:|---:|---:|");
    let mut by_statement: Vec<(&str, usize, String, String)> = plans
        .iter()
        .flat_map(|(total, plans)| {
            plans.iter().map(move |(query, plan)| {
                let (buffers, execution) = plan_summary(plan);
                (*query, *total, buffers, execution)
            })
        })
        .collect();
    // Grouped by statement, in the order measured.
    let order: Vec<&str> = plans.first().map_or(Vec::new(), |(_, p)| {
        p.iter().map(|(query, _)| *query).collect()
    });
    by_statement.sort_by_key(|(query, total, ..)| (order.iter().position(|q| q == query), *total));
    for (query, total, buffers, execution) in by_statement {
        println!("| {query} | {total} | {buffers} | {execution} |");
    }
    for (total, plans) in plans {
        println!("\n## Plans at {total} versions\n");
        for (query, plan) in plans {
            println!("{query}:\n\n```text\n{plan}\n```\n");
        }
    }
}

/// Every 200th module can be big, so that each page of `list_modules`
/// holds about as many big modules at every size.
const BIG_MODULE_STRIDE: usize = 200;

/// How many versions each module holds (module `i` is `bench-{i:05}`).
/// Growing only ever adds modules and versions, so each size builds on the
/// last.
#[derive(Default)]
struct Layout {
    counts: Vec<usize>,
    /// Big modules: the first `big` multiples of `BIG_MODULE_STRIDE`.
    big: usize,
}

impl Layout {
    /// One module per ten versions, one big module per 2,000 versions (at
    /// least one), the rest ordinary.
    async fn grow_to(&mut self, store: &PgMetadataStore, size: usize) -> usize {
        let modules = (size / 10).max(2);
        let big = (size / 2_000).max(1);
        let mut created = self.counts.len();
        while created < modules {
            store
                .create_module(
                    &NewModule {
                        name: module_name(created),
                        description: format!("benchmark module {created}"),
                        compatibility: None,
                    },
                    Timestamp::now(),
                    &AccessRecords::NONE,
                )
                .await
                .unwrap();
            self.counts.push(0);
            created += 1;
        }
        self.big = big;
        // Versions to add, interleaved across modules as pushes would be.
        let mut work: Vec<(usize, usize)> = Vec::new();
        for (index, count) in self.counts.iter_mut().enumerate() {
            let wanted = if index % BIG_MODULE_STRIDE == 0 && index / BIG_MODULE_STRIDE < big {
                BIG_MODULE_VERSIONS.min(size / 2)
            } else {
                SMALL_MODULE_VERSIONS
            };
            work.extend((*count..wanted).map(|n| (index, n)));
            *count = (*count).max(wanted);
        }
        work.sort_by_key(|&(index, n)| (n, index));
        let inserted = work.len();
        let mut loaders = JoinSet::new();
        let chunk = inserted.div_ceil(LOADERS).max(1);
        for part in work.chunks(chunk) {
            let (store, part) = (store.clone(), part.to_vec());
            loaders.spawn(async move {
                for (index, n) in part {
                    let manifest = manifest(index, n);
                    let symbols = sample_symbols(manifest.module.as_str());
                    store
                        .insert_version(&manifest, &symbols, &AccessRecords::NONE)
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = loaders.join_next().await {
            done.unwrap();
        }
        inserted
    }

    fn big_modules(&self) -> impl Iterator<Item = usize> {
        (0..self.big).map(|n| n * BIG_MODULE_STRIDE)
    }

    fn total_versions(&self) -> usize {
        self.counts.iter().sum()
    }
}

fn module_name(index: usize) -> ModuleName {
    ModuleName::parse(&format!("bench-{index:05}")).unwrap()
}

/// The `n`th version of a module: SemVer, every tenth a pre-release.
fn version_id(n: usize) -> VersionId {
    let pre = if n % 10 == 9 { "-rc.1" } else { "" };
    VersionId::parse(&format!("v{}.{}.{}{pre}", n / 100, (n / 10) % 10, n % 10)).unwrap()
}

/// A version as a push stores it: two files, a pin on the first version of
/// module 0 (so reverse edges pile up there), source info.
fn manifest(index: usize, n: usize) -> VersionManifest {
    let module = module_name(index);
    let version = version_id(n);
    let files: Vec<FileEntry> = ["api/v1/service.proto", "api/v1/types.proto"]
        .iter()
        .map(|path| {
            let content = format!("// {module}@{version} {path}");
            FileEntry {
                path: FilePath::parse(path).unwrap(),
                digest: Digest::of(content.as_bytes()),
                size: content.len() as u64,
            }
        })
        .collect();
    let dependencies = if index == 0 {
        Vec::new()
    } else {
        vec![DependencyPin {
            module: module_name(0),
            version: version_id(0),
        }]
    };
    VersionManifest {
        digest: version_digest(&files, &dependencies),
        image: Some(Digest::of(format!("image {module}@{version}").as_bytes())),
        documents: Vec::new(),
        source_info: SourceInfo {
            repository: Some(format!("https://git.example.com/{module}.git")),
            commit_sha: Some(format!("{n:040x}")),
            branch: Some("main".to_owned()),
        },
        created_at: Timestamp::now(),
        module,
        version,
        files,
        dependencies,
    }
}

/// A fixed-seed xorshift generator: the same picks on every run.
struct Picks(u64);

impl Picks {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

type Timings = Vec<(&'static str, Vec<Duration>)>;

const BASELINE: &str = "baseline: one round trip (check_health)";

async fn measure(store: &PgMetadataStore, layout: &Layout, calls: usize) -> Timings {
    let mut picks = Picks(0x5350_4f4b_4542_4e43);
    let modules = layout.counts.len();
    let deep_cursors = deep_version_cursors(store, layout).await;
    let mut timings: Timings = Vec::new();

    // One pooled round trip with no work: what the machine and the client
    // cost at this moment, to compare the others against.
    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        store.check_health().await.unwrap();
        latencies.push(started.elapsed());
    }
    timings.push((BASELINE, latencies));

    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let index = picks.below(modules);
        let n = picks.below(layout.counts[index]);
        let (module, version) = (module_name(index), version_id(n));
        let started = Instant::now();
        let found = store.get_version(&module, &version).await.unwrap();
        latencies.push(started.elapsed());
        assert!(found.is_some(), "{module}@{version} is missing");
    }
    timings.push(("get_version", latencies));

    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let module = module_name(picks.below(modules));
        let started = Instant::now();
        let page = store
            .list_versions(&module, &PageRequest::first(PAGE))
            .await
            .unwrap();
        latencies.push(started.elapsed());
        assert!(!page.items.is_empty());
    }
    timings.push(("list_versions, first page", latencies));

    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let (module, cursor) = &deep_cursors[picks.below(deep_cursors.len())];
        let request = PageRequest {
            limit: PAGE,
            cursor: Some(cursor.clone()),
        };
        let started = Instant::now();
        let page = store.list_versions(module, &request).await.unwrap();
        latencies.push(started.elapsed());
        assert_eq!(page.items.len(), PAGE as usize);
    }
    timings.push(("list_versions, page 5 (cursor)", latencies));

    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let page = store.list_modules(&PageRequest::first(PAGE)).await.unwrap();
        latencies.push(started.elapsed());
        assert_eq!(page.items.len(), PAGE as usize);
    }
    timings.push(("list_modules, first page", latencies));

    let mut latencies = Vec::with_capacity(calls);
    for _ in 0..calls {
        // Anywhere in the second half of the listing.
        let after = modules / 2 + picks.below((modules / 2).saturating_sub(PAGE as usize).max(1));
        let request = PageRequest {
            limit: PAGE,
            cursor: Some(Cursor::after_module(&module_name(after))),
        };
        let started = Instant::now();
        let page = store.list_modules(&request).await.unwrap();
        latencies.push(started.elapsed());
        assert!(!page.items.is_empty());
    }
    timings.push(("list_modules, deep page (cursor)", latencies));
    timings
}

/// For each big module, the cursor a client holds after reading four pages.
async fn deep_version_cursors(
    store: &PgMetadataStore,
    layout: &Layout,
) -> Vec<(ModuleName, Cursor)> {
    let mut cursors = Vec::new();
    for index in layout.big_modules() {
        let module = module_name(index);
        let mut request = PageRequest::first(PAGE);
        for _ in 1..DEEP_PAGE {
            let page = store.list_versions(&module, &request).await.unwrap();
            request.cursor = Some(page.next_cursor.expect("a big module has five pages"));
        }
        cursors.push((module, request.cursor.expect("four pages were read")));
    }
    cursors
}

/// The store's own statements behind the timed calls (`queries`), with `EXPLAIN (ANALYZE, BUFFERS)` on real parameters.
async fn explain_hot_queries(
    sql: &tokio_postgres::Client,
    store: &PgMetadataStore,
    layout: &Layout,
) -> Vec<(&'static str, String)> {
    let big = module_name(0);
    let big_name = big.as_str();
    // An ordinary module's version, which pins one dependency.
    let small = module_name(1);
    let small_name = small.as_str();
    let version = version_id(SMALL_MODULE_VERSIONS / 2);
    let version = version.as_str();
    // Where a client's cursor after four pages of the big module points.
    let cursor = &deep_version_cursors(store, layout).await[0].1;
    let (cursor_version, _) = cursor.version_position().unwrap();
    let cursor_key: Vec<u8> = sql
        .query_one(
            "SELECT order_key FROM versions WHERE module = $1 AND version = $2",
            &[&big_name, &cursor_version.as_str()],
        )
        .await
        .unwrap()
        .get(0);
    let first_key: &[u8] = &[2];
    let limit = i64::from(PAGE) + 1;
    let deep_module = module_name(layout.counts.len() * 3 / 4);
    let deep_module = deep_module.as_str();

    let queries: Vec<(&'static str, &str, Vec<&(dyn ToSql + Sync)>)> = vec![
        (
            "get_version: the version row",
            queries::GET_VERSION,
            vec![&small_name, &version],
        ),
        (
            "get_version: its files",
            queries::GET_VERSION_FILES,
            vec![&small_name, &version],
        ),
        (
            "get_version: its dependency pins",
            queries::GET_VERSION_DEPENDENCIES,
            vec![&small_name, &version],
        ),
        (
            "list_versions, first page (of the largest module)",
            queries::LIST_VERSIONS_BEFORE,
            vec![&big_name, &first_key, &limit],
        ),
        (
            "list_versions, page 5 (cursor)",
            queries::LIST_VERSIONS_BEFORE,
            vec![&big_name, &cursor_key, &limit],
        ),
        (
            "list_modules, first page",
            queries::LIST_MODULES_AFTER,
            vec![&"", &limit],
        ),
        (
            "list_modules, deep page (cursor)",
            queries::LIST_MODULES_AFTER,
            vec![&deep_module, &limit],
        ),
    ];
    let mut plans = Vec::new();
    for (name, query, params) in queries {
        let rows = sql
            .query(&format!("EXPLAIN (ANALYZE, BUFFERS) {query}"), &params)
            .await
            .unwrap();
        let plan: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        plans.push((name, plan.join("\n")));
    }
    plans
}

/// The pages the whole statement touched and its execution time, from the
/// first `Buffers:` line (the top node's, which includes its children) and
/// the `Execution Time:` line.
fn plan_summary(plan: &str) -> (String, String) {
    let buffers = plan
        .lines()
        .find_map(|line| line.trim().strip_prefix("Buffers: shared "))
        .map_or(0, |counts| {
            counts
                .split(' ')
                .filter_map(|count| match count.split_once('=')? {
                    ("hit" | "read", n) => n.parse::<u64>().ok(),
                    _ => None,
                })
                .sum()
        });
    let execution = plan
        .lines()
        .find_map(|line| line.strip_prefix("Execution Time: "))
        .unwrap_or("?");
    (buffers.to_string(), execution.to_owned())
}

fn percentile(latencies: &[Duration], percent: usize) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    sorted[(sorted.len() * percent / 100).min(sorted.len() - 1)]
}

fn micros(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}
