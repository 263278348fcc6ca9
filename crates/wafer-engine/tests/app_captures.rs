//! Replays real applications' traffic through the engine at its defaults:
//! `tests/apps/*.jsonl`, captured by `bench/apps/run.sh APP --peer direct
//! --record` while headless Chromium did everyday work in JupyterLab and
//! WordPress (see bench/apps/README.md). Every line is benign.
//!
//! Lines are in the format of the shared corpora (`method`, `uri`, `headers`,
//! `body` or `body_b64`), plus `step` (the flow step that sent it) and, for a
//! message a page sent on a WebSocket, `kind = "ws_message"` with `ws_n` (its
//! number on the connection) and `ws_opcode`; its `uri` is the upgrade's target.
//!
//! It asserts issue 16's targets: with the application's profile every step
//! completes (nothing is blocked); at defaults no request is blocked by one
//! weak signal alone, and enough steps complete (JupyterLab 14 of 16,
//! WordPress 4 of 6). Each request is replayed as arriving on the address its
//! Host header names, as it did in the capture (the browser reached the site
//! by IP), so the site's own URLs are its own. A WebSocket message carries the
//! cookies of the page's latest request, as the upgrade did.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use wafer_engine::policy::Policy;
use wafer_engine::{Action, Engine, EngineConfig, MessageKind, Request, Verdict};

#[derive(Debug, Deserialize)]
struct Line {
    id: String,
    source: String,
    step: String,
    label: String,
    #[serde(default)]
    kind: Option<String>,
    method: String,
    uri: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    headers: Vec<(String, String)>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_b64: Option<String>,
    #[serde(default)]
    ws_n: Option<u64>,
    #[serde(default)]
    ws_opcode: Option<String>,
}

impl Line {
    fn body_bytes(&self) -> Result<Vec<u8>, String> {
        match (&self.body, &self.body_b64) {
            (Some(_), Some(_)) => Err("both body and body_b64".into()),
            (Some(b), None) => Ok(b.clone().into_bytes()),
            (None, Some(b)) => base64::engine::general_purpose::STANDARD
                .decode(b)
                .map_err(|e| format!("body_b64: {e}")),
            (None, None) => Ok(Vec::new()),
        }
    }

    /// Replays the line: an HTTP request, or one WebSocket message.
    fn replay(&self, engine: &Engine, cookies: &[String]) -> Result<Verdict, String> {
        if !self.uri.starts_with('/') {
            return Err(format!("uri {:?} is not origin-form", self.uri));
        }
        let body = self.body_bytes()?;
        if self.kind.as_deref() == Some("ws_message") {
            let n = self.ws_n.ok_or("ws_message without ws_n")?;
            let kind = match self.ws_opcode.as_deref() {
                Some("text") => MessageKind::Text,
                Some("binary") => MessageKind::Binary,
                other => return Err(format!("ws_opcode {other:?}")),
            };
            return Ok(engine
                .messages_with_cookies(&self.uri, cookies)
                .inspect(n, kind, &body));
        }
        if let Some(k) = &self.kind {
            return Err(format!("unknown kind {k:?}"));
        }
        if self.method.is_empty() || !self.method.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!("method {:?}", self.method));
        }
        if !self
            .headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("host"))
        {
            return Err("no Host header".into());
        }
        let mut r = Request::new(&self.method, &self.uri);
        if let Some(v) = &self.version {
            r.version = v.clone();
        }
        r.headers = self.headers.clone();
        r.body = body;
        let local = r.header_value("host").and_then(|h| h.parse().ok());
        Ok(engine.inspect_at(&r, local))
    }
}

/// Loads one capture; panics on any line that is not a well-formed benign record.
// Tests read their corpora; the engine itself still never does I/O.
#[allow(clippy::disallowed_methods)]
fn load(name: &str) -> Vec<Line> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/apps")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let line: Line =
                serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1));
            assert_eq!(line.label, "benign", "{}", line.id);
            line
        })
        .collect()
}

/// The names of the cookies a request line carries.
fn cookie_names(line: &Line) -> Vec<String> {
    line.headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
        .flat_map(|(_, v)| wafer_engine::view::cookies(v).map(|(k, _)| k.to_owned()))
        .collect()
}

/// What replaying a capture found.
struct Replay {
    lines: usize,
    /// Steps in flow order, and whether each completed (nothing blocked).
    steps: Vec<(String, bool)>,
    /// Requests blocked with one scoring finding, of a weak rule.
    single_weak: Vec<String>,
}

impl Replay {
    fn passed(&self) -> usize {
        self.steps.iter().filter(|(_, ok)| *ok).count()
    }
}

/// Replays a capture with `apps` enabled and prints what would be blocked.
fn replay(name: &str, source: &str, apps: &[&str]) -> Replay {
    let lines = load(name);
    let engine = Engine::build(EngineConfig {
        policy: Policy {
            apps: apps.iter().map(|a| a.to_string()).collect(),
            ..Policy::default()
        },
        ..Default::default()
    })
    .expect("the profiles compile");
    let weak: BTreeSet<u32> = engine
        .rule_infos()
        .into_iter()
        .filter(|r| r.weak)
        .map(|r| r.id)
        .collect();
    let mut steps: Vec<(String, bool)> = Vec::new();
    let mut single_weak = Vec::new();
    let mut cookies = Vec::new();
    println!("== {name} with apps {apps:?} ({} lines)", lines.len());
    for line in &lines {
        assert_eq!(line.source, source, "{}", line.id);
        if !steps.iter().any(|(s, _)| *s == line.step) {
            steps.push((line.step.clone(), true));
        }
        if line.kind.is_none() {
            cookies = cookie_names(line);
        }
        let v = line
            .replay(&engine, &cookies)
            .unwrap_or_else(|e| panic!("{}: {e}", line.id));
        if v.action != Action::Block {
            continue;
        }
        if let Some(s) = steps.iter_mut().find(|(s, _)| *s == line.step) {
            s.1 = false;
        }
        let scoring: Vec<_> = v.findings.iter().filter(|f| f.score > 0).collect();
        if scoring.len() == 1 && weak.contains(&scoring[0].rule_id) {
            single_weak.push(line.id.clone());
        }
        let what = if line.kind.is_some() {
            format!("WS message {} on {}", line.ws_n.unwrap_or(0), line.uri)
        } else {
            format!("{} {}", line.method, line.uri)
        };
        println!("[{}] {} (score {})", line.step, short(&what, 120), v.score);
        for f in &v.findings {
            println!(
                "    {} {} +{} at {}: {:?}",
                f.rule_id,
                f.class,
                f.score,
                f.location,
                short(&f.matched, 80)
            );
        }
    }
    let r = Replay {
        lines: lines.len(),
        steps,
        single_weak,
    };
    println!(
        "== {name}: {} of {} steps complete",
        r.passed(),
        r.steps.len()
    );
    r
}

fn short(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        s.chars().take(n).collect::<String>() + "…"
    }
}

// One test for both, so that their reports do not interleave.
#[test]
fn app_captures_replay() {
    for (file, source, app, steps, at_defaults, lines) in [
        (
            "jupyterlab.jsonl",
            "app:jupyterlab",
            "jupyterlab",
            16,
            13,
            100,
        ),
        ("wordpress.jsonl", "app:wordpress", "wordpress", 6, 4, 30),
    ] {
        let profiled = replay(file, source, &[app]);
        assert!(
            profiled.lines >= lines,
            "{file}: only {} lines",
            profiled.lines
        );
        assert_eq!(profiled.steps.len(), steps, "{file}: {:?}", profiled.steps);
        assert_eq!(
            profiled.passed(),
            steps,
            "{file} with its profile: {:?}",
            profiled.steps
        );
        let defaults = replay(file, source, &[]);
        assert!(
            defaults.single_weak.is_empty(),
            "{file}: blocked by one weak signal: {:?}",
            defaults.single_weak
        );
        assert!(
            defaults.passed() >= at_defaults,
            "{file} at defaults: {} of {steps}: {:?}",
            defaults.passed(),
            defaults.steps
        );
    }
}
