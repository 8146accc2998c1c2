//! The web UI in headless Chromium: `tests/ui/walk.cjs` (playwright-core,
//! axe-core) walks two seeded servers started here, one open and one with
//! access control on. Needs `SPOKE_TEST_CHROMIUM` (the browser) and
//! `SPOKE_TEST_NODE_MODULES` (playwright-core and axe-core), which
//! `cargo xtask test` provides; without them the test skips with a note,
//! unless `SPOKE_TEST_REQUIRE_PROTOC` is set, when it fails.
//!
//! With `SPOKE_UI_SCREENSHOTS=DIR` the walk also writes a PNG of each page
//! into DIR (how docs/ui.md's screenshots are made).

use std::path::{Path, PathBuf};

use spoke_server::config::Secret;
use spoke_test_support::server::{start, test_settings};

use crate::ui::seed;

const TOKEN: &str = "bootstrap-token-for-the-browser-walk-0123456";

/// The browser and the npm packages, when the environment names them.
fn tools() -> Option<(PathBuf, PathBuf)> {
    let named = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|path| path.exists())
    };
    let found = named("SPOKE_TEST_CHROMIUM").zip(named("SPOKE_TEST_NODE_MODULES"));
    if found.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "SPOKE_TEST_CHROMIUM and SPOKE_TEST_NODE_MODULES must name Chromium and the npm packages"
        );
        eprintln!(
            "SPOKE_TEST_CHROMIUM or SPOKE_TEST_NODE_MODULES is not set; skipping the browser walk"
        );
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_user_walks_the_ui_in_chromium() {
    let Some((chromium, node_modules)) = tools() else {
        return;
    };
    let open_dir = tempfile::tempdir().unwrap();
    let open = start(test_settings(open_dir.path())).await;
    seed(open.api_addr(), None).await;

    let auth_dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(auth_dir.path());
    settings.auth.enabled = true;
    settings.auth.anonymous_read = false;
    settings.auth.bootstrap_token = Some(Secret::new(TOKEN));
    let guarded = start(settings).await;
    seed(guarded.api_addr(), Some(TOKEN)).await;

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ui/walk.cjs");
    let mut node = tokio::process::Command::new("node");
    node.arg(&script)
        .env("NODE_PATH", &node_modules)
        .env("SPOKE_TEST_CHROMIUM", &chromium)
        .env("SPOKE_UI_URL", format!("http://{}", open.api_addr()))
        .env(
            "SPOKE_UI_AUTH_URL",
            format!("http://{}", guarded.api_addr()),
        )
        .env("SPOKE_UI_TOKEN", TOKEN)
        .kill_on_drop(true);
    let output = tokio::time::timeout(std::time::Duration::from_secs(300), node.output())
        .await
        .expect("the walk ends within 5 minutes")
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the walk failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(
        stdout.contains("walked; axe-core clean on modules (light)"),
        "{stdout}"
    );
    eprintln!("{stdout}");
}
