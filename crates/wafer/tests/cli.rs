//! The `wafer` binary as a user runs it: exit codes, messages, output.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn wafer(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(args)
        .env_remove("WAFER_UPSTREAM")
        .env_remove("PYWAF_UPSTREAM")
        .env_remove("WAFER_CONFIG")
        .output()
        .expect("wafer runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_blocks_an_attack_with_exit_1_and_explains_it() {
    let o = wafer(&[
        "check",
        "--uri",
        "/item?id=1%27%20UNION%20SELECT%20username,password%20FROM%20users--",
    ]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON verdict");
    assert_eq!(v["action"], "block");
    let findings = v["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["class"] == "sqli" && f["location"]["part"] == "query_arg"),
        "{v}"
    );
}

#[test]
fn check_allows_a_normal_request_with_exit_0() {
    let o = wafer(&[
        "check",
        "--uri",
        "/products?category=shoes&page=2",
        "-H",
        "Accept-Language: en",
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["action"], "allow");
}

#[test]
fn check_reads_a_raw_request_from_stdin() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(["check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let body = "comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";
    let raw = format!(
        "POST /comment HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(raw.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("\"xss\""), "{}", stdout(&o));
}

#[test]
fn check_rejects_garbage_on_stdin_with_a_message() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(["check"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"\x00\x01\x02 not http")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not an HTTP request"), "{}", stderr(&o));
}

#[test]
fn run_without_upstream_says_what_to_do() {
    let o = wafer(&["run", "--listen", "127.0.0.1:0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--upstream"), "{}", stderr(&o));
}

#[test]
fn bad_config_lists_every_bad_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wafer.toml");
    std::fs::write(
        &path,
        "upstream = \"gopher://x\"\n[inspection]\nparanoia = 9\nmode = \"shout\"\n",
    )
    .unwrap();
    let o = wafer(&["run", "--config", path.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    for key in ["upstream", "inspection.paranoia", "inspection.mode"] {
        assert!(err.contains(key), "{key} not named in: {err}");
    }
}

#[test]
fn rules_list_shows_every_class() {
    let o = wafer(&["rules", "list", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    for class in [
        "sqli", "xss", "rce", "lfi", "rfi", "ssrf", "php", "java", "ssti", "scanner", "protocol",
        "nosqli", "ssi", "mail", "ldapi",
    ] {
        assert!(rules.iter().any(|r| r["class"] == class), "no {class} rule");
    }
}

#[test]
fn rules_list_marks_weak_rules_and_stops_quietly_when_its_reader_does() {
    let o = wafer(&["rules", "list", "--json"]);
    let rules: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    let weak = |id: u64| rules.iter().find(|r| r["id"] == id).unwrap()["weak"].clone();
    assert_eq!(weak(300045), true, "print( and alert( calls need company");
    assert_eq!(weak(300001), false, "a script tag does not");

    // `wafer rules list | head -1`: the reader is gone. It is closed before
    // Wafer has built its engine, so every write meets a closed pipe (the
    // whole list would fit in a pipe's buffer otherwise).
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(["rules", "list"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn eval_reports_rates_per_class() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cases.jsonl");
    let lines = [
        r#"{"id":"a1","source":"t","method":"GET","uri":"/?q=%3Cscript%3Ealert(1)%3C/script%3E","headers":[],"label":"attack","class":"xss"}"#,
        r#"{"id":"a2","source":"t","method":"GET","uri":"/?id=1%20UNION%20SELECT%20pass%20FROM%20users","headers":[],"label":"attack","class":"sqli"}"#,
        r#"{"id":"b1","source":"t","method":"GET","uri":"/?q=blue+shoes","headers":[["Accept","*/*"]],"label":"benign","class":null}"#,
        r#"{"id":"x","label":"ambiguous"}"#,
        "not json",
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let json = dir.path().join("out.json");
    let o = wafer(&[
        "eval",
        path.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["cases"], 3);
    assert_eq!(report["skipped_lines"], 1);
    let all = report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["source"] == "ALL")
        .unwrap();
    assert_eq!(all["tpr"], 1.0);
    assert_eq!(all["fpr"], 0.0);
    assert!(stdout(&o).contains("class=xss"));
}

#[test]
fn sigterm_exits_while_live_clients_are_connected() {
    // An open dashboard (SSE and WebSocket on the admin listener) kept the
    // event bus alive, so the event file's writer never saw its end and
    // `wafer run` hung after SIGTERM until it was killed.
    use std::io::Read;
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let addr = format!("127.0.0.1:{}", free_port());
    let admin = format!("127.0.0.1:{}", free_port());
    let token = "live-clients-test-token-0123";
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args([
            "demo",
            "--quiet",
            "--listen",
            &addr,
            "--admin-listen",
            &admin,
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("WAFER_EVENTS", &events)
        .env("WAFER_ADMIN_TOKEN", token)
        .env_remove("WAFER_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if http_status(&addr, "/").is_some() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "wafer demo did not start on {addr}");
    // Both live views, each left open and never read again.
    let open = |req: String, want: &str| {
        let mut s = std::net::TcpStream::connect(&admin).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut head = [0u8; 12];
        s.read_exact(&mut head).unwrap();
        let head = String::from_utf8_lossy(&head).into_owned();
        assert!(head.ends_with(want), "{req:?} answered {head:?}");
        s
    };
    let _sse = open(
        format!("GET /events HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\n\r\n"),
        " 200",
    );
    let _ws = open(
        format!(
            "GET /ws HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {token}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ),
        " 101",
    );
    assert_eq!(
        http_status(
            &addr,
            "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--"
        ),
        Some(403)
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // A bound on the wait, so that a hang fails the test instead of stalling it.
    let mut status = None;
    for _ in 0..600 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    if status.is_none() {
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(
        status.and_then(|s| s.code()),
        Some(0),
        "wafer did not exit on SIGTERM with live clients connected:\n{err}"
    );
    assert!(err.contains("stopped published=1"), "{err}");
    assert_eq!(std::fs::read_to_string(&events).unwrap().lines().count(), 1);
}

/// One HTTP/1.1 request over a fresh connection; the status, or `None` if the connection failed.
fn http_status(addr: &str, target: &str) -> Option<u16> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    let req = format!(
        "GET {target} HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: cli-test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let head = String::from_utf8_lossy(&out);
    head.split(' ').nth(1)?.parse().ok()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn demo_blocks_attacks_and_sigterm_flushes_every_event() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    // Every event, not a per-client sample: one event per blocked request is what is counted.
    let config = dir.path().join("wafer.toml");
    std::fs::write(&config, "[events]\nsample_per_sec = 0\n").unwrap();
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .arg("--config")
        .arg(&config)
        .args([
            "demo",
            "--quiet",
            "--listen",
            &addr,
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("WAFER_EVENTS", &events)
        .env_remove("WAFER_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut up = false;
    for _ in 0..100 {
        if http_status(&addr, "/").is_some() {
            up = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(up, "wafer demo did not start on {addr}");
    assert_eq!(http_status(&addr, "/search?q=blue+shoes"), Some(200));

    // Attacks from several clients at once; SIGTERM arrives while they are still running.
    let workers: Vec<_> = (0..4)
        .map(|w| {
            let addr = addr.clone();
            std::thread::spawn(move || {
                let mut blocked = 0;
                for i in 0..200 {
                    let t = format!(
                        "/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--&w={w}&i={i}"
                    );
                    match http_status(&addr, &t) {
                        Some(403) => blocked += 1,
                        Some(other) => panic!("attack answered {other}"),
                        None => break, // the listener closed: shutting down
                    }
                }
                blocked
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let blocked: usize = workers.into_iter().map(|w| w.join().unwrap()).sum();
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(blocked > 0, "no attack was answered before shutdown");

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("each event is one JSON line"))
        .collect();
    assert!(
        lines.len() >= blocked,
        "{} events for {blocked} blocked requests",
        lines.len()
    );
    assert!(lines.iter().all(|e| e["action"] == "block"));
    let published: usize = err
        .split("published=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no published count in: {err}"));
    assert_eq!(lines.len(), published, "events lost at shutdown");
    // The same events are in the SQLite store, every one.
    let db = rusqlite::Connection::open(dir.path().join("events.db")).unwrap();
    let stored: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM events WHERE action = 'block'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        stored as usize, published,
        "stored rows != events published"
    );
}

/// A small site's normal traffic as a JSON-lines corpus and as a combined access log.
fn training_files(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let mut jsonl = String::new();
    let mut log = String::new();
    for i in 0..300 {
        let target = if i % 2 == 0 {
            format!("/product/{}?ref=home", 1000 + i)
        } else {
            format!("/search?q=wool+socks&page={}", i % 5)
        };
        jsonl.push_str(&format!(
            "{{\"method\":\"GET\",\"uri\":\"{target}\",\"headers\":[[\"User-Agent\",\"Mozilla/5.0\"]],\"label\":\"benign\"}}\n"
        ));
        log.push_str(&format!(
            "203.0.113.{} - - [01/Dec/2026:10:00:00 +0000] \"GET {target} HTTP/1.1\" 200 512 \"-\" \"Mozilla/5.0\"\n",
            i % 250
        ));
    }
    jsonl.push_str("{\"method\":\"GET\",\"uri\":\"/search?q=1'--\",\"label\":\"attack\"}\n");
    log.push_str("198.51.100.1 - - [01/Dec/2026:10:00:01 +0000] \"GET /wp-login.php HTTP/1.1\" 404 0 \"-\" \"curl\"\n");
    let (a, b) = (dir.join("site.jsonl"), dir.join("access.log"));
    std::fs::write(&a, jsonl).unwrap();
    std::fs::write(&b, log).unwrap();
    (a, b)
}

#[test]
fn train_reports_saves_and_the_model_commands_manage_versions() {
    let dir = tempfile::tempdir().unwrap();
    let (jsonl, log) = training_files(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let train = |extra: &[&str]| {
        let mut args = vec![
            "train",
            jsonl.to_str().unwrap(),
            log.to_str().unwrap(),
            "--data-dir",
            data,
        ];
        args.extend_from_slice(extra);
        wafer(&args)
    };
    let o = train(&["--seed", "1", "--created-ms", "1796000000000"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    // Attacks and error statuses are left out; the report names samples, features, scores, threshold.
    assert!(out.contains("300 used, 1 left out"), "{out}");
    assert!(out.contains("samples: 600"), "{out}");
    assert!(
        out.contains("log_arg_value_len_max") && out.contains("training scores: p50"),
        "{out}"
    );
    assert!(out.contains("threshold "), "{out}");
    let first = out
        .lines()
        .find_map(|l| l.split("(version ").nth(1))
        .map(|v| v.trim_end_matches(')').to_owned())
        .expect("version printed");
    assert!(first.starts_with("20261130-005320-"), "{first}");

    let o = train(&["--seed", "2", "--created-ms", "1796100000000", "--activate"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("activated 20261201-044000-"),
        "{}",
        stdout(&o)
    );

    let list = stdout(&wafer(&["model", "list", "--data-dir", data]));
    let active: Vec<&str> = list.lines().filter(|l| l.starts_with('*')).collect();
    assert_eq!(active.len(), 1, "{list}");
    assert!(active[0].contains("20261201-044000-"), "{list}");

    let o = wafer(&["model", "activate", &first, "--data-dir", data]);
    assert!(o.status.success(), "{}", stderr(&o));
    let show: serde_json::Value = serde_json::from_str(&stdout(&wafer(&[
        "model",
        "show",
        &first,
        "--data-dir",
        data,
    ])))
    .unwrap();
    assert_eq!(show["active"], true);
    assert_eq!(show["samples"], 600);
    assert_eq!(show["params"]["seed"], 1);

    let o = wafer(&["model", "rollback", "--data-dir", data]);
    assert!(
        stdout(&o).contains("rolled back to 20261201-044000-"),
        "{}",
        stdout(&o)
    );
    let o = wafer(&["model", "rollback", "--data-dir", data]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("nothing to roll back to"),
        "{}",
        stderr(&o)
    );

    // A model of another feature schema is refused, by name and version.
    let path = std::path::Path::new(data)
        .join("models")
        .join(format!("{first}.json"));
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["schema_version"] = 7.into();
    std::fs::write(
        std::path::Path::new(data).join("models/old.json"),
        doc.to_string(),
    )
    .unwrap();
    let o = wafer(&["model", "activate", "old", "--data-dir", data]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("feature schema version 7"),
        "{}",
        stderr(&o)
    );
    let o = wafer(&["model", "activate", "../x", "--data-dir", data]);
    assert!(stderr(&o).contains("not a model version"), "{}", stderr(&o));

    // Same data, seed and time: the same file.
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    for out in [&a, &b] {
        let o = train(&[
            "--seed",
            "5",
            "--created-ms",
            "1",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());

    let o = wafer(&["train", "--data-dir", data]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("no training traffic"), "{}", stderr(&o));
}

/// A server on loopback that answers every request with `body` and closes.
fn tiny_upstream(body: &'static str) -> String {
    use std::io::Read;
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    addr
}

/// The body of `GET /` through `addr`, or `None` if the request failed.
fn http_body(addr: &str) -> Option<String> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .ok()?;
    s.write_all(b"GET / HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: cli-test\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut out = Vec::new();
    s.read_to_end(&mut out).ok()?;
    let text = String::from_utf8_lossy(&out).into_owned();
    text.split("\r\n\r\n").nth(1).map(str::to_owned)
}

#[test]
fn sighup_and_wafer_reload_apply_a_new_config_and_refuse_a_bad_one() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (tiny_upstream("from A"), tiny_upstream("from B"));
    let addr = format!("127.0.0.1:{}", free_port());
    let config = dir.path().join("wafer.toml");
    let data = dir.path().join("data");
    let write = |upstream: &str, extra: &str| {
        std::fs::write(
            &config,
            format!(
                "listen = \"{addr}\"\nupstream = \"http://{upstream}\"\ndata_dir = \"{}\"\n{extra}\n[admin]\nlisten = \"off\"\n[events]\noutput = \"none\"\n",
                data.display()
            ),
        )
        .unwrap();
    };
    write(&a, "");
    // systemd's side of `Type=notify`: the states arrive on this socket.
    let notify_path = dir.path().join("notify.sock");
    let notify = std::os::unix::net::UnixDatagram::bind(&notify_path).unwrap();
    notify
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let next_state = || {
        let mut buf = [0u8; 512];
        let n = notify.recv(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env_remove("WAFER_CONFIG")
        .env_remove("WAFER_UPSTREAM")
        .env("NOTIFY_SOCKET", &notify_path)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = |want: &str| {
        for _ in 0..100 {
            if http_body(&addr).as_deref() == Some(want) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    assert!(until("from A"), "wafer run did not start on {addr}");
    assert!(next_state().starts_with("READY=1"));
    // A new upstream, by `wafer reload` (it finds the process by the data directory).
    write(&b, "");
    let o = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .arg("--config")
        .arg(&config)
        .arg("reload")
        .env_remove("WAFER_CONFIG")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(until("from B"), "the reload did not move traffic to B");
    assert!(next_state().contains("configuration reloaded"));
    // A bad file, by SIGHUP: nothing changes, and the process keeps serving.
    write(&a, "[inspection]\nparanoia = 9");
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(http_body(&addr).as_deref(), Some("from B"));
    assert!(
        child.try_wait().unwrap().is_none(),
        "wafer exited on a bad reload"
    );
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(next_state().starts_with("STOPPING=1"));
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
    assert!(err.contains("configuration reloaded"), "{err}");
    assert!(
        err.contains("paranoia") && err.contains("nothing changed"),
        "{err}"
    );
    assert!(
        !data.join("wafer.pid").exists(),
        "the process id file outlived the process"
    );
}

#[test]
fn demo_sends_traffic_of_its_own_from_several_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let events = dir.path().join("events.jsonl");
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(["demo", "--listen", &addr, "--admin-listen", "off"])
        .arg("--data-dir")
        .arg(dir.path())
        .env("WAFER_EVENTS", &events)
        .env_remove("WAFER_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // An attack every 2.4 s, of another class each time: three of them.
    let mut lines = Vec::new();
    for _ in 0..300 {
        lines = std::fs::read_to_string(&events)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect();
        if lines.len() >= 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    assert!(
        lines.len() >= 3,
        "only {} events from the demo's own traffic",
        lines.len()
    );
    let evs: Vec<serde_json::Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // Only the attacks are events, all from the one attacking visitor...
    assert!(
        evs.iter().all(|e| e["client_ip"] == "127.0.0.14"),
        "{evs:?}"
    );
    assert!(evs.iter().all(|e| e["action"] == "block"), "{evs:?}");
    // ...and each of another class.
    let classes: std::collections::BTreeSet<String> = evs
        .iter()
        .filter_map(|e| e["findings"][0]["class"].as_str().map(str::to_owned))
        .collect();
    assert!(classes.len() >= 3, "{classes:?}");
}

/// `wafer rules test` over a directory of go-ftw YAML: a line per test, the
/// summary, and exit 1 when a test fails (0 when all pass).
#[test]
fn rules_test_runs_go_ftw_yaml_and_says_what_failed() {
    let dir = tempfile::tempdir().unwrap();
    let test = |id: u32, uri: &str, expect: &str| {
        format!(
            "  - test_id: {id}\n    stages:\n      - input:\n          uri: \"{uri}\"\n          headers:\n            Host: localhost\n        output:\n          log:\n            {expect}\n"
        )
    };
    let union = "/get?q=1%20union%20select%20password%20from%20users";
    let good = format!(
        "rule_id: 942190\ntests:\n{}{}",
        test(1, union, "expect_ids: [942190]"),
        test(2, "/get?q=shoes", "no_expect_ids: [942190]")
    );
    std::fs::write(dir.path().join("942190.yaml"), &good).unwrap();
    let ok = wafer(&["rules", "test", dir.path().to_str().unwrap()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    let out = stdout(&ok);
    assert!(
        out.contains("PASS 942190-1") && out.contains("PASS 942190-2"),
        "{out}"
    );
    assert!(out.contains("2 passed, 0 failed"), "{out}");

    std::fs::write(
        dir.path().join("942191.yaml"),
        format!(
            "rule_id: 942191\ntests:\n{}",
            test(1, "/get?q=shoes", "expect_ids: [942190]")
        ),
    )
    .unwrap();
    let bad = wafer(&[
        "rules",
        "test",
        "--failures-only",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    let out = stdout(&bad);
    assert!(
        out.contains("FAIL 942191-1: expected [942190] to fire"),
        "{out}"
    );
    assert!(!out.contains("PASS"), "--failures-only: {out}");
    assert!(out.contains("2 passed, 1 failed"), "{out}");
}
