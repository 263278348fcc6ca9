//! Country rules on a running node, from an MMDB file the test writes itself,
//! and the file replaced while the node runs.

use std::time::{Duration, Instant};

use http::StatusCode;
use wafer::guard::geo::{CountryRules, testdb};

use crate::admin::Node;
use crate::harness::{empty, get, send};

async fn status(node: &Node) -> StatusCode {
    send(get(&node.proxy("/search?q=shoes")).body(empty()).unwrap())
        .await
        .0
        .status
}

#[tokio::test]
async fn countries_are_denied_from_the_database_and_a_new_file_applies_while_running() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("country.mmdb");
    // The tests' clients come from 127.0.0.1.
    testdb::write_country_db(&db, &[("127.0.0.0/8", "DE"), ("203.0.113.0/24", "US")]).unwrap();
    let rules = CountryRules::parse(&[], &["de".into()]).unwrap();
    let path = db.clone();
    let node = Node::start_cfg(move |c| c.geoip = Some((path, rules))).await;

    assert_eq!(status(&node).await, StatusCode::FORBIDDEN);
    node.stored(1).await;
    let (_, v) = node.api("/api/events?status=403").await;
    assert_eq!(v["events"][0]["reason"], "country DE is not allowed", "{v}");

    // The same addresses now map to another country: allowed within the 2 s check.
    std::thread::sleep(Duration::from_millis(20)); // a visibly newer mtime
    let tmp = dir.path().join("new.mmdb");
    testdb::write_country_db(&tmp, &[("127.0.0.0/8", "FR")]).unwrap();
    std::fs::rename(&tmp, &db).unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    while status(&node).await != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the new database was not picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // A broken replacement is refused and the last good one stays.
    std::fs::write(&db, b"not a database").unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(status(&node).await, StatusCode::OK);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn an_allow_list_admits_only_its_countries() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("country.mmdb");
    testdb::write_country_db(&db, &[("127.0.0.0/8", "JP")]).unwrap();
    let only_jp = CountryRules::parse(&["jp".into()], &[]).unwrap();
    let path = db.clone();
    let node = Node::start_cfg(move |c| c.geoip = Some((path, only_jp))).await;
    assert_eq!(status(&node).await, StatusCode::OK);
    node.running.stop().await.unwrap();

    let only_de = CountryRules::parse(&["de".into()], &[]).unwrap();
    let node = Node::start_cfg(move |c| c.geoip = Some((db, only_de))).await;
    assert_eq!(status(&node).await, StatusCode::FORBIDDEN);
    node.running.stop().await.unwrap();
}

#[tokio::test]
async fn ip_list_files_apply_and_are_reread_when_they_change() {
    let dir = tempfile::tempdir().unwrap();
    let block = dir.path().join("block.txt");
    std::fs::write(&block, "# a feed\n127.0.0.0/8\n").unwrap();
    let path = block.clone();
    let node = Node::start_cfg(move |c| c.ip_files.block = vec![path]).await;
    assert_eq!(status(&node).await, StatusCode::FORBIDDEN);
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(&block, "203.0.113.0/24\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(6);
    while status(&node).await != StatusCode::OK {
        assert!(Instant::now() < deadline, "the changed file was not reread");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    node.running.stop().await.unwrap();
}
