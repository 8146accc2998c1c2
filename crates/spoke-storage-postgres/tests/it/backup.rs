//! `deploy/scripts/backup-postgres.sh` and `restore-postgres.sh`, run with
//! bash against a real PostgreSQL (see `spoke_test_support::postgres`): a backup survives the loss
//! of the database, locally or through the bucket, the restore asks before
//! it touches anything, and retention deletes only old backups. They need
//! `pg_dump`, `psql` and `gzip` on the PATH, and for the bucket
//! `SPOKE_TEST_S3_ENDPOINT` (moto) and the aws CLI (from the
//! `SPOKE_TEST_PYTHON` venv or the PATH); without them the tests skip with a
//! note, unless `SPOKE_TEST_REQUIRE_PROTOC` says test tools must be there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use spoke_domain::{
    AccessRecords, Digest, Module, ModuleName, NewModule, Page, PageRequest, Timestamp,
    VersionManifest,
};
use spoke_storage::conformance::{manifest_with_blobs, sample_symbols};
use spoke_storage::{BlobStore, MetadataStore};
use spoke_storage_postgres::{PgBlobStore, PgMetadataStore};

use spoke_test_support::postgres::{TestDb, admin, admin_url};

/// Variables the scripts read, cleared so the caller's environment cannot
/// leak into a test.
const SCRIPT_VARIABLES: &[&str] = &[
    "SPOKE_POSTGRES_URL",
    "BACKUP_DIR",
    "BACKUP_PREFIX",
    "BACKUP_KEEP",
    "BACKUP_RETENTION_DAYS",
    "SPOKE_BACKUP_S3_BUCKET",
    "SPOKE_BACKUP_S3_PREFIX",
    "SPOKE_S3_ENDPOINT",
    "SPOKE_S3_REGION",
    "SPOKE_S3_ACCESS_KEY",
    "SPOKE_S3_SECRET_KEY",
    "SPOKE_S3_FORCE_PATH_STYLE",
    "SPOKE_S3_USE_PATH_STYLE",
];

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy/scripts")
        .join(name)
}

/// The admin URL when PostgreSQL and the client tools are both there.
fn prerequisites() -> Option<String> {
    let admin_url = admin_url()?;
    let missing: Vec<_> = ["bash", "pg_dump", "psql", "gzip"]
        .into_iter()
        .filter(|tool| Command::new(tool).arg("--version").output().is_err())
        .collect();
    if missing.is_empty() {
        return Some(admin_url);
    }
    assert!(
        std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
        "{missing:?} not found, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there \
         (Debian: apt-get install postgresql-client)"
    );
    eprintln!("note: skipping: {missing:?} not found (Debian: apt-get install postgresql-client)");
    None
}

/// The aws CLI pointed at the test's S3 server (moto, which takes any keys).
struct AwsCli {
    endpoint: String,
    /// A PATH that finds `aws`: the test Python venv's, where `cargo xtask
    /// test` installs it, ahead of the inherited one.
    path: String,
}

impl AwsCli {
    /// `None` (with a note) when there is no S3 server or no aws CLI;
    /// panics instead when `SPOKE_TEST_REQUIRE_PROTOC` says they must be there.
    fn find() -> Option<Self> {
        let required = std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_some();
        let Ok(endpoint) = std::env::var("SPOKE_TEST_S3_ENDPOINT") else {
            assert!(
                !required,
                "SPOKE_TEST_S3_ENDPOINT is not set, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
            );
            eprintln!(
                "note: skipping: SPOKE_TEST_S3_ENDPOINT is not set (`cargo xtask test` starts moto's S3 server)"
            );
            return None;
        };
        let mut dirs: Vec<PathBuf> = std::env::var_os("SPOKE_TEST_PYTHON")
            .and_then(|python| Some(Path::new(&python).parent()?.to_path_buf()))
            .into_iter()
            .collect();
        dirs.extend(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        ));
        let path = std::env::join_paths(dirs).unwrap().into_string().unwrap();
        let aws = Self { endpoint, path };
        if !aws
            .command(&["--version"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            assert!(
                !required,
                "no aws CLI, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
            );
            eprintln!(
                "note: skipping: no aws CLI (`cargo xtask test` installs it in the test Python venv)"
            );
            return None;
        }
        Some(aws)
    }

    /// What the scripts need to reach the bucket.
    fn script_env(&self) -> [(&'static str, &str); 4] {
        [
            ("PATH", &self.path),
            ("SPOKE_S3_ENDPOINT", &self.endpoint),
            ("SPOKE_S3_ACCESS_KEY", "test"),
            ("SPOKE_S3_SECRET_KEY", "test"),
        ]
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("aws");
        command
            .env("PATH", &self.path)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_DEFAULT_REGION", "us-east-1")
            .args(["--endpoint-url", &self.endpoint])
            .args(args);
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).output().unwrap();
        assert_success(&output, &format!("aws {args:?}"));
        String::from_utf8(output.stdout).unwrap()
    }

    /// The keys in `bucket`, sorted.
    fn keys(&self, bucket: &str) -> Vec<String> {
        let listing = self.run(&[
            "s3api",
            "list-objects-v2",
            "--bucket",
            bucket,
            "--query",
            "Contents[].Key",
            "--output",
            "text",
        ]);
        let mut keys: Vec<String> = listing
            .split_whitespace()
            .filter(|key| *key != "None")
            .map(str::to_owned)
            .collect();
        keys.sort();
        keys
    }
}

/// Runs `name` with bash, `args`, the test's variables and `stdin`.
fn run_script(name: &str, args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    let mut command = Command::new("bash");
    command.arg(script(name)).args(args);
    for variable in SCRIPT_VARIABLES {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn stderr_of(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_success(output: &Output, what: &str) {
    assert!(
        output.status.success(),
        "{what} failed: {}",
        stderr_of(output)
    );
}

/// The names in `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

async fn table_count(url: &str) -> i64 {
    admin(url)
        .await
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// Modules, versions with files, pins, symbols and an image, some source
/// info absent; returns every manifest stored.
async fn populate(store: &PgMetadataStore, blobs: &PgBlobStore) -> Vec<VersionManifest> {
    for name in ["base", "app"] {
        store
            .create_module(
                &NewModule {
                    name: ModuleName::parse(name).unwrap(),
                    description: format!("the {name} module, with 'quotes' and\nlines"),
                    compatibility: None,
                },
                Timestamp::now(),
                &AccessRecords::NONE,
            )
            .await
            .unwrap();
    }
    let mut stored = Vec::new();
    for (module, version, dependencies) in [
        ("base", "v1.0.0", &[][..]),
        ("base", "v1.1.0-rc.1", &[][..]),
        ("base", "0123abc", &[][..]),
        ("app", "v0.1.0", &["base@v1.0.0"][..]),
        ("app", "v0.2.0", &["base@v1.0.0", "base@v1.1.0-rc.1"][..]),
    ] {
        let content = format!("syntax = \"proto3\";\npackage {module}; // {version}\n");
        let mut manifest = manifest_with_blobs(
            blobs,
            module,
            version,
            &[
                ("a/first.proto", &content),
                ("b/second.proto", "syntax = \"proto3\";\n"),
            ],
            dependencies,
        )
        .await;
        if version.starts_with('v') {
            manifest.image = Some(Digest::of(
                format!("image of {module}@{version}").as_bytes(),
            ));
        } else {
            manifest.source_info.branch = None;
        }
        store
            .insert_version(&manifest, &sample_symbols(module), &AccessRecords::NONE)
            .await
            .unwrap();
        stored.push(manifest);
    }
    stored
}

/// Reopens the store on the restored database and checks that it holds
/// exactly what was stored before the backup.
async fn assert_restored(db: &TestDb, manifests: &[VersionManifest], modules: &Page<Module>) {
    // Reopening applies no migration twice: the restored schema is current.
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let blobs = store.blob_store();
    for manifest in manifests {
        let (module, version) = (&manifest.module, &manifest.version);
        let restored = store.get_version(module, version).await.unwrap();
        assert_eq!(restored.as_deref(), Some(manifest), "{module}@{version}");
        assert_eq!(
            store.get_symbols(module, version).await.unwrap(),
            Some(sample_symbols(module.as_str())),
            "symbols of {module}@{version}"
        );
        for file in &manifest.files {
            let content = blobs.get(&file.digest).await.unwrap();
            assert!(
                content.is_some_and(|c| Digest::of(&c) == file.digest),
                "content of {module}@{version} {}",
                file.path
            );
        }
    }
    let base = ModuleName::parse("base").unwrap();
    let dependents = store
        .list_dependents(&base, &manifests[0].version)
        .await
        .unwrap();
    assert_eq!(
        dependents.len(),
        2,
        "reverse edges restored: {dependents:?}"
    );
    assert_eq!(
        &store.list_modules(&PageRequest::first(100)).await.unwrap(),
        modules
    );
}

#[tokio::test]
async fn a_backup_restores_every_version_after_the_database_is_lost() {
    let Some(admin_url) = prerequisites() else {
        return;
    };
    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    // File content in PostgreSQL too, as with no object store configured.
    let manifests = populate(&store, &store.blob_store()).await;
    let modules_before = store.list_modules(&PageRequest::first(100)).await.unwrap();

    let backups = tempfile::tempdir().unwrap();
    let backup_dir = backups.path().to_str().unwrap();
    let backup = run_script(
        "backup-postgres.sh",
        &[],
        &[("SPOKE_POSTGRES_URL", &db.url), ("BACKUP_DIR", backup_dir)],
        "",
    );
    assert_success(&backup, "backup");
    let file = String::from_utf8(backup.stdout).unwrap().trim().to_owned();
    assert!(
        Path::new(&file).is_file(),
        "the backup prints the path of the file it wrote, got {file:?}"
    );

    drop(store);
    db.recreate_empty().await;
    assert_eq!(table_count(&db.url).await, 0);

    let declined = run_script(
        "restore-postgres.sh",
        &["--url", &db.url, &file],
        &[],
        "no\n",
    );
    assert!(!declined.status.success(), "a restore answered \"no\" ran");
    assert!(
        stderr_of(&declined).contains("not confirmed"),
        "{}",
        stderr_of(&declined)
    );
    assert_eq!(
        table_count(&db.url).await,
        0,
        "a declined restore touched the database"
    );

    let restore = run_script(
        "restore-postgres.sh",
        &["--yes", &file],
        &[("SPOKE_POSTGRES_URL", &db.url)],
        "",
    );
    assert_success(&restore, "restore");

    assert_restored(&db, &manifests, &modules_before).await;
}

#[tokio::test]
async fn a_backup_in_the_bucket_restores_and_old_ones_expire() {
    let Some(admin_url) = prerequisites() else {
        return;
    };
    let Some(aws) = AwsCli::find() else {
        return;
    };
    let bucket = format!(
        "spoke-backup-{}-{}",
        std::process::id(),
        Timestamp::now().unix_nanos() % 1_000_000_000
    );
    aws.run(&["s3api", "create-bucket", "--bucket", &bucket]);
    // An expired backup, and an object that is not a backup at all.
    let old = "postgres/spoke-postgres-20200101T000000Z.sql.gz";
    let unrelated = "postgres/notes.txt";
    for key in [old, unrelated] {
        aws.run(&["s3api", "put-object", "--bucket", &bucket, "--key", key]);
    }

    let db = TestDb::create(&admin_url).await;
    let store = PgMetadataStore::connect(db.config()).await.unwrap();
    let manifests = populate(&store, &store.blob_store()).await;
    let modules_before = store.list_modules(&PageRequest::first(100)).await.unwrap();
    let backups = tempfile::tempdir().unwrap();
    let mut env = vec![
        ("SPOKE_POSTGRES_URL", db.url.as_str()),
        ("BACKUP_DIR", backups.path().to_str().unwrap()),
        ("SPOKE_BACKUP_S3_BUCKET", &bucket),
        ("BACKUP_KEEP", "1"),
    ];
    env.extend(aws.script_env());
    let backup = run_script("backup-postgres.sh", &[], &env, "");
    assert_success(&backup, "backup to the bucket");
    let file = String::from_utf8(backup.stdout).unwrap();
    let name = Path::new(file.trim())
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let uploaded = format!("postgres/{name}");
    let mut expected = vec![unrelated.to_owned(), uploaded.clone()];
    expected.sort();
    assert_eq!(
        aws.keys(&bucket),
        expected,
        "uploaded, and the old backup expired"
    );

    // The local disk is lost along with the database.
    drop(store);
    drop(backups);
    db.recreate_empty().await;
    let mut env = vec![("SPOKE_POSTGRES_URL", db.url.as_str())];
    env.extend(aws.script_env());
    let restore = run_script(
        "restore-postgres.sh",
        &["--yes", &format!("s3://{bucket}/{uploaded}")],
        &env,
        "",
    );
    assert_success(&restore, "restore from the bucket");
    assert_restored(&db, &manifests, &modules_before).await;
}

#[tokio::test]
async fn retention_deletes_only_old_backups() {
    let Some(admin_url) = prerequisites() else {
        return;
    };
    let db = TestDb::create(&admin_url).await;
    let backups = tempfile::tempdir().unwrap();
    let dir = backups.path();
    // Backup names carry their UTC time as YYYYMMDDTHHMMSSZ.
    let stamp = |t: Timestamp| -> String {
        let rfc3339 = t.to_rfc3339();
        let seconds: String = rfc3339[..19]
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .collect();
        format!("{seconds}Z")
    };
    let yesterday = Timestamp::from_unix_seconds(
        i64::try_from(Timestamp::now().unix_nanos() / 1_000_000_000).unwrap() - 86_400,
    )
    .unwrap();
    let old = [
        "spoke-postgres-20200101T000000Z.sql.gz".to_owned(),
        "spoke-postgres-20200102T000000Z.sql.gz".to_owned(),
    ];
    let recent = format!("spoke-postgres-{}.sql.gz", stamp(yesterday));
    // Not of the backup shape: never counted, never deleted.
    let unrelated = [
        "notes.txt",
        "spoke-postgres-latest.sql.gz",
        "other-20200101T000000Z.sql.gz",
    ];
    for name in old
        .iter()
        .chain([&recent])
        .map(String::as_str)
        .chain(unrelated)
    {
        std::fs::write(dir.join(name), b"").unwrap();
    }

    let by_age = run_script(
        "backup-postgres.sh",
        &["--url", &db.url, "--dir", dir.to_str().unwrap()],
        &[("BACKUP_RETENTION_DAYS", "7")],
        "",
    );
    assert_success(&by_age, "backup with BACKUP_RETENTION_DAYS");
    let new = Path::new(String::from_utf8(by_age.stdout).unwrap().trim())
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let mut expected: Vec<String> = unrelated.iter().map(|s| s.to_string()).collect();
    expected.extend([recent.clone(), new.clone()]);
    expected.sort();
    assert_eq!(names_in(dir), expected, "older than 7 days are deleted");

    // Restore the old ones; --keep 2 keeps the newest two of the shape.
    for name in &old {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    std::fs::remove_file(dir.join(&new)).unwrap();
    let by_count = run_script(
        "backup-postgres.sh",
        &["--keep", "2"],
        &[
            ("SPOKE_POSTGRES_URL", &db.url),
            ("BACKUP_DIR", dir.to_str().unwrap()),
        ],
        "",
    );
    assert_success(&by_count, "backup with --keep 2");
    let newest = Path::new(String::from_utf8(by_count.stdout).unwrap().trim())
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    let mut expected: Vec<String> = unrelated.iter().map(|s| s.to_string()).collect();
    expected.extend([recent, newest]);
    expected.sort();
    assert_eq!(
        names_in(dir),
        expected,
        "all but the newest two are deleted"
    );
}

/// Runs `name` and checks it fails with `message` and shows no password.
fn assert_refused(name: &str, args: &[&str], env: &[(&str, &str)], message: &str) {
    let output = run_script(name, args, env, "");
    let stderr = stderr_of(&output);
    assert!(!output.status.success(), "{name} {args:?} succeeded");
    assert!(
        stderr.contains(message),
        "{name} {args:?}: expected {message:?} in {stderr:?}"
    );
    assert!(!stderr.contains("hunter2"), "a password reached a message");
}

#[test]
fn the_scripts_refuse_bad_invocations_with_a_message() {
    if prerequisites().is_none() {
        return;
    }
    let url = [("SPOKE_POSTGRES_URL", "postgres://u:hunter2@127.0.0.1:1/db")];
    assert_refused(
        "restore-postgres.sh",
        &["--yes"],
        &url,
        "no backup file given",
    );
    assert_refused(
        "restore-postgres.sh",
        &["--yes", "/nonexistent/backup.sql.gz"],
        &url,
        "no such backup file",
    );
    assert_refused(
        "restore-postgres.sh",
        &["a.sql", "b.sql"],
        &url,
        "exactly one",
    );
    assert_refused("backup-postgres.sh", &[], &[], "no database");
    assert_refused("backup-postgres.sh", &["--keep", "0"], &url, "--keep");
    assert_refused("backup-postgres.sh", &["--bogus"], &url, "unknown argument");
    assert_refused(
        "backup-postgres.sh",
        &["--url", "mysql://u:hunter2@127.0.0.1/db"],
        &[],
        "must start with postgres://",
    );
    // Nothing listens on port 1: pg_dump fails, and so does the script.
    let dir = tempfile::tempdir().unwrap();
    assert_refused(
        "backup-postgres.sh",
        &["--dir", dir.path().to_str().unwrap()],
        &url,
        "no backup was written",
    );
    assert!(names_in(dir.path()).is_empty(), "a failed dump left a file");
    for name in ["backup-postgres.sh", "restore-postgres.sh"] {
        let help = run_script(name, &["--help"], &[], "");
        assert_success(&help, name);
        assert!(String::from_utf8_lossy(&help.stdout).starts_with("Usage: "));
    }
}
