//! Our own labelled regression cases: `tests/cases/*.toml`, one file per attack
//! class (plus `benign.toml`), each case asserting a verdict both ways.
//!
//! ```toml
//! [[case]]
//! name = "union select in a query arg"
//! uri = "/item?id=1%20UNION%20SELECT%20password%20FROM%20users"
//! expect = "block"          # or "allow"
//! class = "sqli"            # optional: a finding of this class must be among the reasons
//! # optional: method (GET), headers ([["Name", "value"]], added to browser-like defaults),
//! # body, content_type, paranoia (1)
//! ```

use serde::Deserialize;
use std::path::Path;
use wafer_engine::{Action, Engine, EngineConfig, Policy, Request};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    #[serde(default)]
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default = "get")]
    method: String,
    uri: String,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body: Option<String>,
    content_type: Option<String>,
    #[serde(default = "one")]
    paranoia: u8,
    expect: Expect,
    class: Option<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Expect {
    Block,
    Allow,
}

fn get() -> String {
    "GET".into()
}

fn one() -> u8 {
    1
}

impl Case {
    fn request(&self) -> Request {
        let mut r = Request::new(&self.method, &self.uri);
        for (n, v) in [
            ("Host", "shop.example"),
            (
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
            ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
            ("Accept-Language", "en-US,en;q=0.5"),
        ] {
            if !self.headers.iter().any(|(h, _)| h.eq_ignore_ascii_case(n)) {
                r = r.header(n, v);
            }
        }
        for (n, v) in &self.headers {
            r = r.header(n, v);
        }
        if let Some(body) = &self.body {
            let ct = self
                .content_type
                .as_deref()
                .unwrap_or("application/x-www-form-urlencoded");
            r = r
                .header("Content-Type", ct)
                .header("Content-Length", &body.len().to_string())
                .body(body.as_bytes().to_vec());
        }
        r
    }

    fn check(&self, engines: &[Engine]) -> Result<(), String> {
        let engine = &engines[usize::from(self.paranoia.clamp(1, 4)) - 1];
        let v = engine.inspect(&self.request());
        let reasons = || {
            v.findings
                .iter()
                .map(|f| {
                    format!(
                        "{} {} at {}: {:?}",
                        f.rule_id, f.class, f.location, f.matched
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let blocked = v.action == Action::Block;
        match self.expect {
            Expect::Block if !blocked => {
                return Err(format!("not blocked (score {}): {}", v.score, reasons()));
            }
            Expect::Allow if blocked => {
                return Err(format!("blocked (score {}): {}", v.score, reasons()));
            }
            _ => {}
        }
        if let Some(class) = &self.class
            && self.expect == Expect::Block
            && !v.findings.iter().any(|f| f.class.as_str() == class)
        {
            return Err(format!("blocked, but no {class} finding: {}", reasons()));
        }
        Ok(())
    }
}

// Tests read their case files; the engine itself still never does I/O.
#[allow(clippy::disallowed_methods)]
#[test]
fn regression_cases() {
    let engines: Vec<Engine> = (1..=4)
        .map(|paranoia| {
            Engine::build(EngineConfig {
                policy: Policy {
                    paranoia,
                    ..Policy::default()
                },
                ..EngineConfig::default()
            })
            .expect("built-in rules compile")
        })
        .collect();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/cases exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let cases: CaseFile =
            toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for c in &cases.case {
            total += 1;
            if let Err(e) = c.check(&engines) {
                let name = file.file_name().unwrap().to_string_lossy();
                failures.push(format!("{name} :: {}: {e}", c.name));
            }
        }
    }
    assert!(total >= 20, "only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} cases failing:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
