//! The deployment files in `deploy/`, run as they would be: the systemd unit
//! through `systemd-analyze verify`, and the nginx configuration with real
//! nginx in front of Wafer, and the container image built and run by podman.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::admin::{Node, SQLI};
use crate::harness::free_port;

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

/// The image's base: Debian bookworm from Debian's mirror (mmdebstrap), as
/// no registry is reachable here; made once per machine.
fn base_image() -> &'static str {
    const BASE: &str = "localhost/wafer-e2e-bookworm:base";
    let have = Command::new("podman")
        .args(["image", "exists", BASE])
        .status()
        .expect("podman (Debian's package; .ci/run installs it)");
    if !have.success() {
        let dir = tempfile::tempdir().unwrap();
        let tar = dir.path().join("rootfs.tar");
        let made = Command::new("mmdebstrap")
            .args(["--variant=apt", "--include=ca-certificates", "bookworm"])
            .arg(&tar)
            .output()
            .expect("mmdebstrap (Debian's package; .ci/run installs it)");
        assert!(
            made.status.success(),
            "mmdebstrap: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        let imported = Command::new("podman")
            .arg("import")
            .arg(&tar)
            .arg(BASE)
            .output()
            .unwrap();
        assert!(
            imported.status.success(),
            "podman import: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
    }
    BASE
}

/// One GET over a new connection; the response's first line, if any.
async fn status_line(addr: &str, target: &str) -> Option<String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.ok()?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .ok()?
        .ok()?;
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .map(str::to_owned)
}

/// deploy/Containerfile's runtime stage, built by podman on the binary
/// under test (its build stage needs registry images this machine cannot
/// pull), then run: it proxies, blocks, and stops on SIGTERM without being
/// killed. Running needs runc and no default ulimits in this sandbox
/// (crun may not set RLIMIT_NPROC here).
#[tokio::test]
async fn the_container_image_builds_serves_and_stops_on_sigterm() {
    let origin = crate::harness::Origin::start().await;
    let base = base_image();
    let ctx = tempfile::tempdir().unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_wafer"), ctx.path().join("wafer")).unwrap();
    let recipe = deploy("Containerfile");
    let runtime = recipe
        .split("\nFROM ")
        .nth(2)
        .expect("a second stage, the runtime");
    let (_, steps) = runtime.split_once('\n').unwrap();
    let copy = "COPY --from=build /src/target/release/wafer /usr/local/bin/wafer";
    assert!(steps.contains(copy), "the runtime stage copies the binary");
    let file = format!(
        "FROM {base}\n{}",
        steps.replace(copy, "COPY wafer /usr/local/bin/wafer")
    );
    std::fs::write(ctx.path().join("Containerfile"), file).unwrap();
    let id = std::process::id();
    let image = format!("localhost/wafer-e2e:{id}");
    let built = Command::new("podman")
        .args(["build", "--isolation", "chroot", "-q", "-t", &image])
        .arg(ctx.path())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(built.success(), "podman build of the runtime stage failed");

    let conf = ctx.path().join("containers.conf");
    std::fs::write(&conf, "[containers]\ndefault_ulimits = []\n").unwrap();
    let (port, admin) = (free_port(), free_port());
    let name = format!("wafer-e2e-{id}");
    let started = Command::new("podman")
        .env("CONTAINERS_CONF", &conf)
        .args([
            "--runtime",
            "runc",
            "run",
            "-d",
            "--rm",
            "--network",
            "host",
        ])
        .args(["--name", &name, &image, "run"])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--upstream", &format!("http://{}", origin.addr)])
        .args(["--admin-listen", &format!("127.0.0.1:{admin}")])
        .args(["--data-dir", "/var/lib/wafer"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(started.success(), "podman run failed");
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    let first = loop {
        if let Some(line) = status_line(&addr, "/products?id=7").await {
            break line;
        }
        assert!(
            Instant::now() < deadline,
            "Wafer in the container did not come up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    let blocked = status_line(&addr, SQLI).await.unwrap_or_default();
    assert!(blocked.starts_with("HTTP/1.1 403"), "{blocked}");
    let seen: Vec<String> = origin.requests().into_iter().map(|s| s.uri).collect();
    assert_eq!(seen, ["/products?id=7"], "the attack reached the upstream");

    // SIGTERM (the image's STOPSIGNAL) ends it well before podman's 20 s kill.
    let asked = Instant::now();
    let stopped = Command::new("podman")
        .env("CONTAINERS_CONF", &conf)
        .args(["--runtime", "runc", "stop", "-t", "20", &name])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(stopped.success());
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "stopping took {:?}: SIGTERM was not enough",
        asked.elapsed()
    );
    let _ = Command::new("podman")
        .args(["rmi", "-f", &image])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
