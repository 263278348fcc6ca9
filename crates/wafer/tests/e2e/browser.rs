//! The dashboard in a real browser: Debian's Chromium driven by
//! `playwright-core` (the script is `ui/e2e/dashboard.mjs`), against a whole
//! Wafer node in front of a real origin. Screenshots land in
//! `target/tmp/dashboard/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::admin::Node;

fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var("CHROMIUM").unwrap_or("/usr/bin/chromium".into()));
    if !path.exists() {
        // As with PostgreSQL: bring up what the test needs when we may.
        let installed = std::process::Command::new("apt-get")
            .args(["install", "-y", "-q", "chromium"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed && path.exists(),
            "the dashboard test needs Chromium at {} (apt-get install chromium, or set CHROMIUM)",
            path.display()
        );
    }
    path
}

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_works_in_a_real_browser() {
    let chromium = chromium();
    let ui = ui_dir();
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "run `npm ci` in {} (the build does it unless WAFER_UI_DIST is set)",
        ui.display()
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&shots).unwrap();

    let node = Node::start(None).await;
    let admin = node.admin("");
    let proxy = node.proxy("");
    let mut child = std::process::Command::new("node")
        .arg(ui.join("e2e/dashboard.mjs"))
        .current_dir(&ui)
        .env("WAFER_ADMIN_URL", admin.trim_end_matches('/'))
        .env("WAFER_PROXY_URL", proxy.trim_end_matches('/'))
        .env("WAFER_TOKEN", "test-admin-token-0123456789")
        .env("WAFER_SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium)
        .spawn()
        .expect("node (Node.js 20+) must be installed");
    let deadline = std::time::Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser test did not finish in 180 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    node.running.stop().await.unwrap();
    assert!(status.success(), "dashboard browser test failed: {status}");
    println!("screenshots in {}", shots.display());
}
