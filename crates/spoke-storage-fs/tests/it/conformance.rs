#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use spoke_storage_fs::FsStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filesystem_backend_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FsStore::open(dir.path()).unwrap());
    spoke_storage::conformance::run(store.clone(), store.clone(), store).await;
}
