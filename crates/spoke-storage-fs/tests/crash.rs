#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Crash safety with real process deaths: a child process (this test binary,
//! re-executed to run only `crash_child_writer`) pushes versions in a tight
//! loop and is killed with SIGKILL at an arbitrary moment, several times.
//! Afterwards the store must open and hold only complete versions whose
//! blobs all exist and verify, with their symbols and reverse edges, and no
//! edge of a version that was being written when the writer died.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use spoke_domain::{
    AccessRecords, DependencyPin, ModuleName, NewModule, PageRequest, Symbol, Timestamp,
};
use spoke_storage::conformance::{manifest_with_blobs, sample_symbols};
use spoke_storage::{BlobStore, InsertOutcome, MetadataStore, StorageError};
use spoke_storage_fs::FsStore;

const ROOT_ENV: &str = "SPOKE_FS_CRASH_TEST_ROOT";
const ROUND_ENV: &str = "SPOKE_FS_CRASH_TEST_ROUND";
const MODULE: &str = "crash";
const KILLS: u32 = 5;
const WRITERS: u32 = 2;
/// Every pushed version pins this; it need not exist for the store.
const DEPENDENCY: &str = "base@v1.0.0";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// The child's side: a no-op unless the parent set the environment.
#[test]
#[ignore = "run in a child process by survives_sigkill_during_writes"]
fn crash_child_writer() {
    let Some(root) = std::env::var_os(ROOT_ENV) else {
        return;
    };
    let round: u32 = std::env::var(ROUND_ENV).unwrap().parse().unwrap();
    runtime().block_on(async move {
        let store = FsStore::open(PathBuf::from(root)).unwrap();
        let new = NewModule {
            name: ModuleName::parse(MODULE).unwrap(),
            description: "pushed to until killed".into(),
            compatibility: None,
        };
        match store
            .create_module(&new, Timestamp::now(), &AccessRecords::NONE)
            .await
        {
            Ok(_) | Err(StorageError::ModuleExists(_)) => {}
            Err(e) => panic!("create_module: {e}"),
        }
        // Concurrent writers, so kills also land between interleaved writes.
        let writers: Vec<_> = (0..WRITERS)
            .map(|writer| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0u64.. {
                        push(&store, round, writer, i).await;
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}

/// One version with several files: new blobs each time plus one shared blob.
async fn push(store: &FsStore, round: u32, writer: u32, i: u64) {
    let version = format!("v{round}.{i}.{writer}");
    let contents: Vec<(String, String)> = (0..4)
        .map(|f| {
            (
                format!("pkg/file{f}.proto"),
                format!("syntax = \"proto3\";\n// {version} file {f}\nmessage M{f} {{ string s = 1; }}\n"),
            )
        })
        .chain([("common.proto".to_owned(), "syntax = \"proto3\";\n".to_owned())])
        .collect();
    let files: Vec<(&str, &str)> = contents
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    let manifest = manifest_with_blobs(store, MODULE, &version, &files, &[DEPENDENCY]).await;
    assert_eq!(
        store
            .insert_version(&manifest, &symbols_of(&version), &AccessRecords::NONE)
            .await
            .unwrap(),
        InsertOutcome::Inserted
    );
}

fn symbols_of(version: &str) -> Vec<Symbol> {
    sample_symbols(&format!("crash.{version}"))
}

fn count_manifests(dir: &Path) -> usize {
    match fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
            .count(),
        Err(_) => 0,
    }
}

/// A delay of up to 30 ms that differs from run to run.
fn jitter() -> Duration {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    Duration::from_nanos(u64::from(nanos % 30_000_000))
}

#[test]
fn survives_sigkill_during_writes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    let versions_dir = root.join("modules").join(MODULE).join("versions");
    let exe = std::env::current_exe().unwrap();
    let mut published = 0;

    for round in 0..KILLS {
        let log_path = dir.path().join(format!("child-{round}.log"));
        let mut child = Command::new(&exe)
            .args(["--exact", "crash_child_writer", "--nocapture", "--ignored"])
            .env(ROOT_ENV, &root)
            .env(ROUND_ENV, round.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log_path).unwrap())
            .spawn()
            .unwrap();

        // Wait until this child has published versions of its own, so every
        // kill lands while it is busy writing.
        let deadline = Instant::now() + Duration::from_secs(120);
        while count_manifests(&versions_dir) <= published {
            if let Some(status) = child.try_wait().unwrap() {
                panic!(
                    "round {round}: the writer exited on its own ({status}):\n{}",
                    fs::read_to_string(&log_path).unwrap_or_default()
                );
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("round {round}: the writer published nothing in 120 s");
            }
            sleep(Duration::from_millis(2));
        }
        sleep(jitter());
        child.kill().unwrap(); // SIGKILL on Unix: no destructors, no flushing.
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the writer was not killed"
        );
        published = count_manifests(&versions_dir);
    }

    runtime().block_on(async {
        let store = FsStore::open(&root).expect("the store opens after crashes");
        let leftovers: Vec<_> = fs::read_dir(root.join("tmp")).unwrap().collect();
        assert!(
            leftovers.is_empty(),
            "temp files remain after open: {leftovers:?}"
        );

        let module = ModuleName::parse(MODULE).unwrap();
        let mut request = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut versions = Vec::new();
        loop {
            let page = store.list_versions(&module, &request).await.unwrap();
            versions.extend(page.items);
            match page.next_cursor {
                Some(cursor) => request.cursor = Some(cursor),
                None => break,
            }
        }
        assert!(
            versions.len() >= KILLS as usize,
            "every round published at least one version, listed {}",
            versions.len()
        );
        assert_eq!(versions.len(), count_manifests(&versions_dir));

        let mut blobs = 0;
        for summary in &versions {
            let manifest = store
                .get_version(&module, &summary.version)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("{} is listed but does not read back", summary.version));
            assert_eq!(manifest.summary(), *summary);
            assert_eq!(manifest.files.len(), 5, "{} is incomplete", summary.version);
            assert_eq!(
                store.get_symbols(&module, &summary.version).await.unwrap(),
                Some(symbols_of(summary.version.as_str())),
                "{}: symbols",
                summary.version
            );
            for file in &manifest.files {
                let content = store
                    .get(&file.digest)
                    .await
                    .unwrap_or_else(|e| panic!("{}: blob of {}: {e}", summary.version, file.path))
                    .unwrap_or_else(|| {
                        panic!("{}: blob of {} is missing", summary.version, file.path)
                    });
                assert_eq!(content.len() as u64, file.size);
                blobs += 1;
            }
        }
        assert!(blobs > 0);

        // Exactly the published versions, though killed writers left edges
        // of versions they never published.
        let dependency = DependencyPin::parse(DEPENDENCY).unwrap();
        let mut expected: Vec<_> = versions
            .iter()
            .map(|v| DependencyPin {
                module: module.clone(),
                version: v.version.clone(),
            })
            .collect();
        expected.sort_by(|a, b| a.version.as_str().cmp(b.version.as_str()));
        assert_eq!(
            store
                .list_dependents(&dependency.module, &dependency.version)
                .await
                .unwrap(),
            expected
        );

        let latest = store
            .get_module(&module)
            .await
            .unwrap()
            .unwrap()
            .latest_version;
        assert!(
            latest.is_some(),
            "a module with versions has a latest version"
        );
        MetadataStore::check_health(&store).await.unwrap();
        BlobStore::check_health(&store).await.unwrap();
    });
}
