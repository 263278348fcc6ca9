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
    ] {
        assert!(rules.iter().any(|r| r["class"] == class), "no {class} rule");
    }
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
    let addr = format!("127.0.0.1:{}", free_port());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wafer"))
        .args(["demo", "--listen", &addr, "--admin-listen", "127.0.0.1:0"])
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
