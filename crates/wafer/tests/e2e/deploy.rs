//! The deployment files in `deploy/`, run as they would be: the systemd unit
//! through `systemd-analyze verify`, and the nginx configuration with real
//! nginx in front of Wafer.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::admin::{Node, SQLI};

fn deploy(file: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../deploy")
        .join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_systemd_unit_verifies_with_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let unit = dir.path().join("wafer.service");
    let text = deploy("wafer.service").replace("/usr/local/bin/wafer", env!("CARGO_BIN_EXE_wafer"));
    std::fs::write(&unit, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&unit)
        .output()
        .expect("systemd-analyze (Debian's systemd package) runs the unit check");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // The unit says what the binary does: notify, reload by SIGHUP.
    let unit = deploy("wafer.service");
    assert!(unit.contains("Type=notify") && unit.contains("ExecReload=/bin/kill -HUP $MAINPID"));
}

/// nginx (the configuration in deploy/, its addresses replaced) in front of a
/// Wafer node that trusts it, on 127.0.0.2; a client on 127.0.0.3.
#[tokio::test]
async fn nginx_in_front_passes_the_clients_address_and_not_what_the_client_claims() {
    let node = Node::start_cfg(|cfg| {
        cfg.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let site = deploy("nginx-in-front.conf")
        .replace(
            "server 127.0.0.1:8080;",
            &format!("server {};", node.running.proxy_addr),
        )
        .replace("listen 80;", &format!("listen 127.0.0.2:{port};"));
    let d = dir.path().display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n access_log off;\n client_body_temp_path {d}/body;\n proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fcgi;\n uwsgi_temp_path {d}/uwsgi;\n scgi_temp_path {d}/scgi;\n{site}\n}}\n"
    );
    let conf_path = dir.path().join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let mut nginx = Command::new("nginx")
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf_path)
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx (apt-get install nginx) runs in front of Wafer");
    let nginx_addr: std::net::SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    // A client on 127.0.0.3 that claims to be 203.0.113.7.
    let ask = |target: &'static str| async move {
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind("127.0.0.3:0".parse().unwrap()).unwrap();
        let mut s = sock.connect(nginx_addr).await.ok()?;
        let req = format!(
            "GET {target} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\n\
             X-Forwarded-For: 203.0.113.7\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).await.ok()?;
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
            .await
            .ok()?
            .ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some(r) = ask("/products?id=7").await {
            break r;
        }
        assert!(Instant::now() < deadline, "nginx did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let blocked = ask(SQLI).await.unwrap();
    assert!(
        blocked.starts_with("HTTP/1.1 403"),
        "Wafer's block passes through nginx: {blocked}"
    );
    node.stored(1).await;
    let (_, v) = node.api("/api/events?limit=10").await;
    let ev = &v["events"][0];
    assert_eq!(
        ev["client_ip"], "127.0.0.3",
        "the client nginx saw, not the one it claimed: {ev}"
    );
    let _ = Command::new("kill")
        .args(["-QUIT", &nginx.id().to_string()])
        .status();
    let _ = nginx.wait();
    node.running.stop().await.unwrap();
}
