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
