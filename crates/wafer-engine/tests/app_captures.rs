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
//! What this asserts is that the corpora load and every request and message in
//! them can be replayed; it prints, per step, what the engine would block, as
//! the measure to tune against. The verdicts themselves are asserted once the
//! application profiles exist.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;
use wafer_engine::{Action, Engine, MessageKind, Request, Verdict};

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
    fn replay(&self, engine: &Engine) -> Result<Verdict, String> {
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
            return Ok(engine.messages(&self.uri).inspect(n, kind, &body));
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
        Ok(engine.inspect(&r))
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

/// Replays a capture and prints what would be blocked, step by step. Returns
/// (lines, blocked) after checking the capture's shape.
fn replay(name: &str, source: &str, steps: usize) -> (usize, usize) {
    let lines = load(name);
    let engine = Engine::builtin();
    let mut seen_steps = BTreeSet::new();
    let mut order = Vec::new();
    let mut blocked = 0;
    println!("== {name} at defaults ({} lines)", lines.len());
    for line in &lines {
        assert_eq!(line.source, source, "{}", line.id);
        if seen_steps.insert(line.step.clone()) {
            order.push(line.step.clone());
        }
        let v = line
            .replay(&engine)
            .unwrap_or_else(|e| panic!("{}: {e}", line.id));
        if v.action != Action::Block {
            continue;
        }
        blocked += 1;
        let what = if line.kind.is_some() {
            format!("WS message {} on {}", line.ws_n.unwrap_or(0), line.uri)
        } else {
            format!("{} {}", line.method, line.uri)
        };
        println!("[{}] {} (score {})", line.step, short(&what, 120), v.score);
        for f in &v.findings {
            println!(
                "    {} {} at {}: {:?}",
                f.rule_id,
                f.class,
                f.location,
                short(&f.matched, 80)
            );
        }
    }
    println!("== {name}: {blocked} of {} would be blocked", lines.len());
    // The capture covers the whole flow, in its order.
    assert_eq!(order.len(), steps, "{name}: steps {order:?}");
    (lines.len(), blocked)
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
    let (lines, _) = replay("jupyterlab.jsonl", "app:jupyterlab", 16);
    assert!(lines >= 100, "jupyterlab: only {lines} lines");
    let (lines, _) = replay("wordpress.jsonl", "app:wordpress", 6);
    assert!(lines >= 30, "wordpress: only {lines} lines");
}
