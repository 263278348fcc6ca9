//! `wafer eval`: runs the engine offline over labelled corpora and reports
//! detection quality (TPR, FPR, balanced accuracy) per source, class and
//! paranoia level, with the worst misses and false positives.
//!
//! The cases and their requests are [`crate::corpus`]'s, built as
//! `../shared/bench/wafeval.py` sends them, so offline and over-the-wire
//! numbers are comparable.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::PathBuf;
use wafer_engine::{Action, Engine, Verdict};

use crate::corpus::{Case, build_request};

#[derive(Debug, clap::Args)]
pub struct EvalCommand {
    #[command(flatten)]
    pub eval: EvalArgs,
    #[command(flatten)]
    pub engine: super::EngineFlags,
}

#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Corpus files (JSON Lines: id, source, method, uri, headers, body|body_b64|raw_b64, label, class, pl).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Print this many of the worst misses and false positives.
    #[arg(long, default_value_t = 10)]
    pub misses: usize,
    /// Also write the results as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Take every Nth case only.
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// At most N cases per file (0: all).
    #[arg(long, default_value_t = 0)]
    pub limit: usize,
    /// Also score every case with an anomaly model (`default`, or a model file)
    /// and report how often it calls benign and attack cases anomalous.
    #[arg(long)]
    pub model: Option<String>,
    /// Also write every case's outcome here, one JSON line each (id, label,
    /// class, pl, blocked, score, and each finding's rule, points, location
    /// and matched text): what tuning severities against the corpora reads.
    #[arg(long)]
    pub cases: Option<PathBuf>,
}

/// What the engine made of one case.
struct Outcome {
    attack: bool,
    blocked: bool,
    source: String,
    class: String,
    pl: Option<u8>,
    id: String,
    summary: String,
    score: u32,
    rules: Vec<u32>,
    /// The model's verdict, when one was given.
    anomalous: Option<bool>,
    findings: Vec<CaseFinding>,
    /// How long `Engine::inspect` took (zero for a request that did not parse).
    inspect_time: std::time::Duration,
}

/// One finding of one case, as `--cases` writes it.
#[derive(Serialize)]
struct CaseFinding {
    rule: u32,
    score: u32,
    location: String,
    matched: String,
}

/// One line of `--cases`.
#[derive(Serialize)]
struct CaseLine<'a> {
    id: &'a str,
    source: &'a str,
    attack: bool,
    class: &'a str,
    pl: Option<u8>,
    blocked: bool,
    score: u32,
    findings: &'a [CaseFinding],
}

#[derive(Default, Debug, Clone, Copy, Serialize)]
struct Tally {
    tp: u64,
    fn_: u64,
    tn: u64,
    fp: u64,
}

impl Tally {
    fn add(&mut self, attack: bool, blocked: bool) {
        match (attack, blocked) {
            (true, true) => self.tp += 1,
            (true, false) => self.fn_ += 1,
            (false, true) => self.fp += 1,
            (false, false) => self.tn += 1,
        }
    }
    fn tpr(&self) -> Option<f64> {
        let n = self.tp + self.fn_;
        (n > 0).then(|| self.tp as f64 / n as f64)
    }
    fn fpr(&self) -> Option<f64> {
        let n = self.tn + self.fp;
        (n > 0).then(|| self.fp as f64 / n as f64)
    }
    fn balanced(&self) -> Option<f64> {
        Some((self.tpr()? + 1.0 - self.fpr()?) / 2.0)
    }
}

#[derive(Serialize)]
struct Row {
    source: String,
    group: String,
    attacks: u64,
    benign: u64,
    tpr: Option<f64>,
    fpr: Option<f64>,
    balanced_accuracy: Option<f64>,
}

#[derive(Serialize)]
struct Example {
    id: String,
    source: String,
    class: String,
    score: u32,
    rules: Vec<u32>,
    request: String,
}

#[derive(Serialize)]
struct Report {
    cases: usize,
    skipped_lines: usize,
    rows: Vec<Row>,
    false_positives_by_rule: Vec<(u32, u64)>,
    misses: Vec<Example>,
    false_positives: Vec<Example>,
}

pub fn run(engine: &Engine, args: &EvalArgs) -> Result<()> {
    let mut cases = Vec::new();
    let mut skipped = 0;
    for path in &args.files {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut taken = 0;
        for (n, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.with_context(|| format!("reading {}", path.display()))?;
            if line.trim().is_empty() || n % args.every.max(1) != 0 {
                continue;
            }
            match serde_json::from_str::<Case>(&line) {
                Ok(c) if matches!(c.label.as_deref(), Some("attack" | "benign")) => {
                    cases.push((path.display().to_string(), c));
                    taken += 1;
                }
                Ok(_) => {}
                Err(e) => {
                    skipped += 1;
                    if skipped <= 5 {
                        eprintln!("{}:{}: skipped, not a case: {e}", path.display(), n + 1);
                    }
                }
            }
            if args.limit > 0 && taken >= args.limit {
                break;
            }
        }
    }
    let model = match args.model.as_deref() {
        None => None,
        Some("default") => Some(crate::anomaly::builtin()?.model.clone()),
        Some(path) => Some(
            wafer_engine::anomaly::Model::from_json(
                &std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?,
            )
            .with_context(|| format!("model {path}"))?,
        ),
    };
    // Compiled before the clock starts, as a server compiles them in its first seconds.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let scan = engine.rule_set().accelerate(threads);
    let outcomes = evaluate(engine, model.as_ref(), cases);
    let report = summarize(&outcomes, skipped, args.misses);
    print_report(&report);
    println!("\nsignature scan: {scan}");
    for r in &scan.refused {
        println!("  regex set for {r}");
    }
    print_inspect_times(&outcomes);
    if model.is_some() {
        print_anomaly(&outcomes);
    }
    if let Some(p) = &args.cases {
        let mut out = String::new();
        for o in &outcomes {
            out.push_str(&serde_json::to_string(&CaseLine {
                id: &o.id,
                source: &o.source,
                attack: o.attack,
                class: &o.class,
                pl: o.pl,
                blocked: o.blocked,
                score: o.score,
                findings: &o.findings,
            })?);
            out.push('\n');
        }
        std::fs::write(p, out).with_context(|| format!("writing {}", p.display()))?;
    }
    if let Some(p) = &args.json {
        std::fs::write(p, serde_json::to_vec_pretty(&report)?)
            .with_context(|| format!("writing {}", p.display()))?;
    }
    Ok(())
}

/// Percentiles of the engine's time per request. Every case is a different
/// request inspected once by an engine that starts cold, as a worker meets
/// novel traffic: the lazy automata build their states as they go, and the
/// tail shows what that costs.
fn print_inspect_times(outcomes: &[Outcome]) {
    let mut times: Vec<std::time::Duration> = outcomes
        .iter()
        .map(|o| o.inspect_time)
        .filter(|t| !t.is_zero())
        .collect();
    if times.is_empty() {
        return;
    }
    times.sort_unstable();
    let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
    let us = |t: std::time::Duration| t.as_secs_f64() * 1e6;
    println!(
        "\ninspection time per request ({} requests, each once, engine started cold): \
         p50 {:.0} µs, p99 {:.0} µs, p99.9 {:.0} µs, max {:.0} µs",
        times.len(),
        us(at(0.5)),
        us(at(0.99)),
        us(at(0.999)),
        us(at(1.0)),
    );
    let mut slowest: Vec<&Outcome> = outcomes.iter().collect();
    slowest.sort_unstable_by_key(|o| std::cmp::Reverse(o.inspect_time));
    for o in slowest.iter().take(5) {
        println!(
            "  {:>8.0} µs  {} {}",
            us(o.inspect_time),
            o.id,
            o.summary.chars().take(100).collect::<String>()
        );
    }
}

/// Runs every case through the engine, on all cores.
fn evaluate(
    engine: &Engine,
    model: Option<&wafer_engine::anomaly::Model>,
    cases: Vec<(String, Case)>,
) -> Vec<Outcome> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = cases.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .map(|(file, c)| judge(engine, model, file, c))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("eval worker panicked"))
            .collect()
    })
}

fn judge(
    engine: &Engine,
    model: Option<&wafer_engine::anomaly::Model>,
    file: &str,
    c: &Case,
) -> Outcome {
    let mut inspect_time = std::time::Duration::ZERO;
    let (blocked, score, rules, anomalous, findings) = match build_request(c) {
        // A request that cannot even be parsed is refused by the proxy with 400.
        Err(_) => (true, 0, Vec::new(), None, Vec::new()),
        Ok(req) => {
            let started = std::time::Instant::now();
            let v: Verdict = engine.inspect(&req);
            inspect_time = started.elapsed();
            let mut rules: Vec<u32> = v.findings.iter().map(|f| f.rule_id).collect();
            rules.dedup();
            let anomalous = model.map(|m| m.score(&req).anomalous);
            let findings = v
                .findings
                .iter()
                .map(|f| CaseFinding {
                    rule: f.rule_id,
                    score: f.score,
                    location: f.location.to_string(),
                    matched: f.matched.clone(),
                })
                .collect();
            (
                v.action == Action::Block,
                v.score,
                rules,
                anomalous,
                findings,
            )
        }
    };
    let source = c.source.clone().unwrap_or_else(|| file.to_owned());
    let body = c.body.as_deref().unwrap_or("");
    let summary = format!(
        "{} {}{}{}",
        c.method.as_deref().unwrap_or("GET"),
        c.uri.as_deref().unwrap_or("(raw)"),
        if body.is_empty() { "" } else { "  body: " },
        body
    );
    Outcome {
        attack: c.label.as_deref() == Some("attack"),
        blocked,
        source,
        class: c.class.clone().unwrap_or_else(|| "-".into()),
        pl: c.pl,
        id: c.id.clone().unwrap_or_default(),
        summary: wafer_engine::finding::excerpt(&summary, 0, 240),
        score,
        rules,
        anomalous,
        findings,
        inspect_time,
    }
}

/// Per source: how often the model calls benign cases anomalous (its false
/// alarms), attacks, and the attacks the signatures let through.
fn print_anomaly(outcomes: &[Outcome]) {
    let mut by: BTreeMap<&str, [u64; 6]> = BTreeMap::new();
    for o in outcomes {
        let Some(a) = o.anomalous else { continue };
        let t = by.entry(o.source.as_str()).or_default();
        let k = if !o.attack {
            0
        } else if o.blocked {
            2
        } else {
            4
        };
        t[k] += 1;
        t[k + 1] += u64::from(a);
    }
    let pct = |n: u64, d: u64| {
        if d == 0 {
            "-".to_owned()
        } else {
            format!("{:.2} %", 100.0 * n as f64 / d as f64)
        }
    };
    println!("\nanomaly model: share called anomalous");
    println!(
        "{:<22} {:>16} {:>22} {:>26}",
        "source", "benign (FPR)", "attacks caught by sigs", "attacks missed by sigs"
    );
    for (src, t) in by {
        println!(
            "{src:<22} {:>16} {:>22} {:>26}",
            format!("{} of {}", pct(t[1], t[0]), t[0]),
            format!("{} of {}", pct(t[3], t[2]), t[2]),
            format!("{} of {}", pct(t[5], t[4]), t[4]),
        );
    }
}

fn summarize(outcomes: &[Outcome], skipped: usize, n_examples: usize) -> Report {
    let mut tally: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut fp_rules: HashMap<u32, u64> = HashMap::new();
    for o in outcomes {
        let mut keys = vec![
            ("ALL".to_owned(), "ALL".to_owned()),
            (o.source.clone(), "ALL".to_owned()),
        ];
        keys.push((o.source.clone(), format!("class={}", o.class)));
        if let Some(pl) = o.pl {
            keys.push((o.source.clone(), format!("pl={pl}")));
        }
        for k in keys {
            tally.entry(k).or_default().add(o.attack, o.blocked);
        }
        if !o.attack && o.blocked {
            for r in &o.rules {
                *fp_rules.entry(*r).or_default() += 1;
            }
        }
    }
    let rows = tally
        .into_iter()
        .map(|((source, group), t)| Row {
            source,
            group,
            attacks: t.tp + t.fn_,
            benign: t.tn + t.fp,
            tpr: t.tpr(),
            fpr: t.fpr(),
            balanced_accuracy: t.balanced(),
        })
        .collect();
    let mut fp_rules: Vec<(u32, u64)> = fp_rules.into_iter().collect();
    fp_rules.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let example = |o: &Outcome| Example {
        id: o.id.clone(),
        source: o.source.clone(),
        class: o.class.clone(),
        score: o.score,
        rules: o.rules.clone(),
        request: o.summary.clone(),
    };
    // Worst misses: attacks the engine saw least of; worst false positives: benign requests it was surest about.
    let mut misses: Vec<&Outcome> = outcomes.iter().filter(|o| o.attack && !o.blocked).collect();
    misses.sort_by_key(|o| o.score);
    let mut fps: Vec<&Outcome> = outcomes.iter().filter(|o| !o.attack && o.blocked).collect();
    fps.sort_by_key(|o| std::cmp::Reverse(o.score));
    Report {
        cases: outcomes.len(),
        skipped_lines: skipped,
        rows,
        false_positives_by_rule: fp_rules,
        misses: misses.into_iter().take(n_examples).map(example).collect(),
        false_positives: fps.into_iter().take(n_examples).map(example).collect(),
    }
}

fn pct(x: Option<f64>) -> String {
    x.map_or_else(|| "     -".to_owned(), |v| format!("{:6.2}", v * 100.0))
}

fn print_report(r: &Report) {
    println!(
        "{:<36} {:<16} {:>7} {:>7} {:>6} {:>6} {:>6}",
        "source", "group", "attacks", "benign", "TPR%", "FPR%", "BA%"
    );
    for row in &r.rows {
        let src = &row.source[row.source.len().saturating_sub(36)..];
        println!(
            "{:<36} {:<16} {:>7} {:>7} {} {} {}",
            src,
            row.group,
            row.attacks,
            row.benign,
            pct(row.tpr),
            pct(row.fpr),
            pct(row.balanced_accuracy)
        );
    }
    println!("cases: {}  skipped lines: {}", r.cases, r.skipped_lines);
    if !r.false_positives_by_rule.is_empty() {
        let top: Vec<String> = r
            .false_positives_by_rule
            .iter()
            .take(15)
            .map(|(id, n)| format!("{id}×{n}"))
            .collect();
        println!("false positives by rule: {}", top.join(" "));
    }
    for m in &r.misses {
        println!(
            "MISS {} {} score={} rules={:?} {}",
            m.id, m.class, m.score, m.rules, m.request
        );
    }
    for f in &r.false_positives {
        println!(
            "FP   {} score={} rules={:?} {}",
            f.id, f.score, f.rules, f.request
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_rates() {
        let mut t = Tally::default();
        for (a, b) in [
            (true, true),
            (true, false),
            (false, false),
            (false, false),
            (false, true),
        ] {
            t.add(a, b);
        }
        assert_eq!(t.tpr(), Some(0.5));
        assert!((t.fpr().unwrap() - 1.0 / 3.0).abs() < 1e-9);
    }
}
