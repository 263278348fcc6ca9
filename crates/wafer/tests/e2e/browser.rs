//! The dashboard in a real browser: Debian's Chromium driven by
//! `playwright-core` (the script is `ui/e2e/dashboard.mjs`), against a whole
//! Wafer node in front of a real origin. Screenshots land in
//! `target/tmp/dashboard/`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::admin::Node;
use wafer::config::sites::{HostPattern, SiteConfig, Sites};

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

    // Two sites: the default one (every name the script sends) and `shop`,
    // whose policy the script edits apart.
    let node = Node::start_cfg(|c| {
        let upstream = c.upstream.clone().unwrap();
        let site = |name: &str, hosts: &[&str]| {
            let hosts = hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect();
            SiteConfig::new(name, hosts, upstream.clone(), c.engine.policy.clone())
        };
        c.sites = Sites {
            sites: vec![site("default", &[]), site("shop", &["shop.example"])],
            default: Some("default".into()),
        };
    })
    .await;
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

/// Issue 15, CSRF: after logging in, pages on another port of 127.0.0.1 try
/// every admin write with the session cookie (no-cors and cors fetches, HTML
/// forms of each encoding); nothing changes, the session survives, and the
/// same writes from the dashboard's own origin work (`ui/e2e/csrf.mjs`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_origin_pages_change_nothing_in_a_real_browser() {
    let chromium = chromium();
    let ui = ui_dir();
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "run `npm ci` in {} (the build does it unless WAFER_UI_DIST is set)",
        ui.display()
    );
    let node = Node::start(None).await;
    let mut cmd = std::process::Command::new("node");
    cmd.arg(ui.join("e2e/csrf.mjs"))
        .current_dir(&ui)
        .env("WAFER_ADMIN_URL", node.admin("").trim_end_matches('/'))
        .env("WAFER_TOKEN", "test-admin-token-0123456789")
        .env("CHROMIUM", &chromium);
    // The script has its own 90 s watchdog.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("node (Node.js 20+) must be installed");
    let log = String::from_utf8_lossy(&out.stdout);
    println!("{log}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "CSRF browser test failed");
    // Checked here too, through the API with the bearer token: the attacker's
    // values are absent, the dashboard's own changes are present.
    let (_, policy) = node.api("/api/policy").await;
    let text = policy.to_string();
    assert!(!text.contains("0.0.0.0/0"), "{text}");
    assert!(!text.contains("csrf-probe"), "{text}");
    assert_ne!(policy["mode"], "off", "{text}");
    assert_eq!(policy["threshold"], 7, "{text}");
    assert!(text.contains("/csrf-own"), "{text}");
    let (_, bans) = node.api("/api/bans").await;
    let bans = bans.to_string();
    assert!(
        bans.contains("198.51.100.66") && !bans.contains("198.51.100.77"),
        "{bans}"
    );
    // Every cross-origin attempt was refused by the browser or with 401/403/405.
    for line in log.lines().filter(|l| l.starts_with("try ")) {
        assert!(
            !line.contains(" 200")
                && !line.contains(" 201")
                && !line.contains(" 204")
                && !line.contains(" 303"),
            "{line}"
        );
    }
    node.running.stop().await.unwrap();
}

/// Suggested exclusions in the dashboard: the proposal for six editors'
/// embeds is shown with its evidence and preview, accepted in one click, and
/// listed in the Policy view (`ui/e2e/suggestions.mjs`); then the editors'
/// request passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suggestion_is_accepted_in_one_click_in_a_real_browser() {
    let chromium = chromium();
    let ui = ui_dir();
    assert!(
        ui.join("node_modules/playwright-core").exists(),
        "run `npm ci` in {} (the build does it unless WAFER_UI_DIST is set)",
        ui.display()
    );
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard");
    std::fs::create_dir_all(&shots).unwrap();
    let node = Node::start_cfg(|c| {
        c.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    crate::suggestions::seed(&node).await;
    let mut cmd = std::process::Command::new("node");
    cmd.arg(ui.join("e2e/suggestions.mjs"))
        .current_dir(&ui)
        .env("WAFER_ADMIN_URL", node.admin("").trim_end_matches('/'))
        .env("WAFER_TOKEN", "test-admin-token-0123456789")
        .env("WAFER_SCREENSHOT_DIR", &shots)
        .env("CHROMIUM", &chromium);
    // The script has its own 90 s watchdog.
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("node (Node.js 20+) must be installed");
    println!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "suggestions browser test failed");
    let status = crate::suggestions::save(
        &node,
        "203.0.113.10",
        "/notes/77/save",
        &format!("title=Trip&content={}", crate::suggestions::EMBED),
    )
    .await;
    assert_eq!(status, http::StatusCode::OK);
    node.running.stop().await.unwrap();
}
