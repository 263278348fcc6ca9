//! `wafer rules test`: runs go-ftw regression tests (the YAML the OWASP CRS
//! project tests its rules with) against the engine, offline: each test's
//! request is built as go-ftw sends it, inspected, and its `expect_ids` /
//! `no_expect_ids` checked against the ids that fired: Wafer's rule ids and
//! the CRS ids they are mapped to (`wafer rules list`). A test whose only
//! expectations are of another kind (log regexes, a server error) is counted
//! as not checked, never as passed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use base64::Engine as _;
use serde::Deserialize;
use wafer_engine::{Engine, Request};

#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// go-ftw YAML files, or directories searched for `*.yaml`.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// Print only the failures (and the summary).
    #[arg(long)]
    pub failures_only: bool,
}

#[derive(Debug, Deserialize)]
struct TestFile {
    rule_id: Option<u32>,
    #[serde(default)]
    tests: Vec<TestCase>,
}

#[derive(Debug, Deserialize)]
struct TestCase {
    test_id: Option<u32>,
    #[serde(default)]
    stages: Vec<Stage>,
}

#[derive(Debug, Deserialize)]
struct Stage {
    #[serde(default)]
    input: Input,
    #[serde(default)]
    output: Output,
}

#[derive(Debug, Default, Deserialize)]
struct Input {
    method: Option<String>,
    uri: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    data: Option<String>,
    /// The whole request, base64: sent as those bytes.
    encoded_request: Option<String>,
    autocomplete_headers: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
struct Output {
    log: Option<Log>,
    status: Option<u16>,
}

#[derive(Debug, Default, Deserialize)]
struct Log {
    #[serde(default)]
    expect_ids: Vec<u32>,
    #[serde(default)]
    no_expect_ids: Vec<u32>,
}

/// What became of one test.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    /// Nothing it expects can be checked offline (say why).
    NotChecked(String),
}

pub(super) fn run(engine: &Engine, args: &TestArgs) -> Result<i32> {
    let mut files = Vec::new();
    for p in &args.paths {
        yaml_files(p, &mut files).with_context(|| format!("reading {}", p.display()))?;
    }
    files.sort();
    let crs = crs_of(engine);
    let (mut pass, mut fail, mut unchecked, mut broken) = (0, 0, 0, 0);
    for file in &files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let (rule, outcomes) = match check_file(engine, &crs, &text) {
            Ok(o) => o,
            Err(e) => {
                broken += 1;
                println!("BROKEN {}: {e}", file.display());
                continue;
            }
        };
        let rule = rule.unwrap_or_else(|| stem(file));
        for (test_id, outcome) in outcomes {
            let name = format!("{rule}-{test_id}");
            match outcome {
                Outcome::Pass => {
                    pass += 1;
                    if !args.failures_only {
                        println!("PASS {name}");
                    }
                }
                Outcome::Fail(why) => {
                    fail += 1;
                    println!("FAIL {name}: {why}");
                }
                Outcome::NotChecked(why) => {
                    unchecked += 1;
                    if !args.failures_only {
                        println!("SKIP {name}: {why}");
                    }
                }
            }
        }
    }
    println!(
        "{} files: {pass} passed, {fail} failed, {unchecked} not checked, {broken} unreadable",
        files.len()
    );
    Ok(if fail > 0 || broken > 0 { 1 } else { 0 })
}

fn stem(p: &Path) -> String {
    p.file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
}

fn yaml_files(p: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if p.is_dir() {
        for e in std::fs::read_dir(p)? {
            yaml_files(&e?.path(), out)?;
        }
    } else if p.is_file()
        && p.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
    {
        out.push(p.to_owned());
    }
    Ok(())
}

/// Every rule's CRS counterparts, by Wafer id.
fn crs_of(engine: &Engine) -> BTreeMap<u32, Vec<u32>> {
    engine
        .rule_infos()
        .into_iter()
        .map(|r| (r.id, r.crs))
        .collect()
}

/// A file's rule id (if it names one), and each test's id and outcome.
type FileOutcome = (Option<String>, Vec<(u32, Outcome)>);

fn check_file(
    engine: &Engine,
    crs: &BTreeMap<u32, Vec<u32>>,
    yaml: &str,
) -> Result<FileOutcome, String> {
    let file: TestFile =
        serde_saphyr::from_str(yaml).map_err(|e| format!("not a go-ftw file: {e}"))?;
    let outcomes = (file.tests.iter().enumerate())
        .map(|(i, t)| {
            let id = t
                .test_id
                .unwrap_or(u32::try_from(i + 1).unwrap_or(u32::MAX));
            (id, check(engine, crs, t))
        })
        .collect();
    Ok((file.rule_id.map(|r| r.to_string()), outcomes))
}

/// Runs each stage and checks what it expects.
fn check(engine: &Engine, crs: &BTreeMap<u32, Vec<u32>>, t: &TestCase) -> Outcome {
    let mut checked = false;
    for stage in &t.stages {
        let req = match build(&stage.input) {
            Ok(r) => r,
            Err(e) => return Outcome::NotChecked(format!("the request: {e}")),
        };
        let verdict = engine.inspect(&req);
        let mut fired: Vec<u32> = Vec::new();
        for f in &verdict.findings {
            fired.push(f.rule_id);
            fired.extend(crs.get(&f.rule_id).into_iter().flatten());
        }
        fired.sort_unstable();
        fired.dedup();
        if let Some(log) = &stage.output.log {
            let missing: Vec<u32> = log
                .expect_ids
                .iter()
                .copied()
                .filter(|id| !fired.contains(id))
                .collect();
            let unwanted: Vec<u32> = log
                .no_expect_ids
                .iter()
                .copied()
                .filter(|id| fired.contains(id))
                .collect();
            checked |= !log.expect_ids.is_empty() || !log.no_expect_ids.is_empty();
            if !missing.is_empty() || !unwanted.is_empty() {
                return Outcome::Fail(format!(
                    "expected {:?} to fire{}; fired {fired:?}",
                    missing,
                    if unwanted.is_empty() {
                        String::new()
                    } else {
                        format!(" and {unwanted:?} not to")
                    }
                ));
            }
        } else if let Some(status) = stage.output.status {
            // Only a verdict's status: 403 blocked, anything else let through.
            let blocked = verdict.action == wafer_engine::Action::Block;
            checked = true;
            if (status == 403) != blocked {
                return Outcome::Fail(format!(
                    "expected status {status}, the request was {}",
                    if blocked { "blocked" } else { "let through" }
                ));
            }
        }
    }
    if checked {
        Outcome::Pass
    } else {
        Outcome::NotChecked("expects nothing checkable offline (log regexes or an error)".into())
    }
}

/// The request as go-ftw sends it: the given bytes, or the method, target,
/// headers and data, with a Content-Length added for data unless
/// `autocomplete_headers: false`.
fn build(input: &Input) -> Result<Request, String> {
    if let Some(b64) = &input.encoded_request {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(b64.trim())
            .map_err(|e| format!("encoded_request is not base64: {e}"))?;
        return Request::parse_raw(&bytes).map_err(|e| e.to_string());
    }
    let method = input.method.as_deref().unwrap_or("GET");
    let uri = input.uri.as_deref().unwrap_or("/");
    let mut req = Request::new(method, uri);
    for (k, v) in &input.headers {
        req.headers.push((k.clone(), v.clone()));
    }
    let body = input.data.clone().unwrap_or_default().into_bytes();
    if input.autocomplete_headers.unwrap_or(true)
        && !body.is_empty()
        && req.header_value("content-length").is_none()
    {
        req.headers
            .push(("Content-Length".into(), body.len().to_string()));
    }
    req.body = body;
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TESTS: &str = r#"
---
meta:
  author: "test"
rule_id: 942100
tests:
  - test_id: 1
    stages:
      - input:
          method: POST
          uri: "/post"
          headers:
            Host: localhost
            User-Agent: "test agent"
          data: "var=1%20union%20select%20password%20from%20users"
        output:
          log:
            expect_ids: [942190]
  - test_id: 2
    stages:
      - input:
          uri: "/get?q=blue%20shoes"
          headers:
            Host: localhost
        output:
          log:
            no_expect_ids: [942190]
  - test_id: 3
    stages:
      - input:
          uri: "/get?q=blue%20shoes"
        output:
          log:
            expect_ids: [942190]
  - test_id: 4
    stages:
      - input:
          encoded_request: "R0VUIC8/eD08c2NyaXB0PmFsZXJ0KDEpPC9zY3JpcHQ+IEhUVFAvMS4xDQpIb3N0OiBsb2NhbGhvc3QNCg0K"
        output:
          status: 403
  - test_id: 5
    stages:
      - input:
          uri: "/"
        output:
          log:
            match_regex: "anything"
"#;

    #[test]
    fn expectations_pass_fail_and_the_uncheckable_is_said() {
        let engine = Engine::builtin();
        let crs = crs_of(&engine);
        let (rule, got) = check_file(&engine, &crs, TESTS).unwrap();
        assert_eq!(rule.as_deref(), Some("942100"));
        let got: Vec<Outcome> = got.into_iter().map(|(_, o)| o).collect();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0], Outcome::Pass, "a UNION SELECT names CRS 942190");
        assert_eq!(got[1], Outcome::Pass, "a plain search fires nothing");
        assert!(
            matches!(&got[2], Outcome::Fail(why) if why.contains("942190")),
            "{:?}",
            got[2]
        );
        assert_eq!(
            got[3],
            Outcome::Pass,
            "the raw bytes, a script tag: blocked"
        );
        assert!(matches!(got[4], Outcome::NotChecked(_)), "{:?}", got[4]);
        assert!(check_file(&engine, &crs, "tests: nope").is_err());
    }
}
