//! Whether each built-in rule group fits in a dense DFA built before the
//! first request (no lazy states, so no cold cost), and at what size and build
//! time: `cargo run --release -p wafer-engine --example dfa_fit [limit MiB = 64]`.
//! Prints Markdown, one row per group, largest first.

// A tool run by hand: it reads its argument and the clock here, not the engine.
#![allow(clippy::disallowed_methods)]

use regex_automata::dfa::dense;
use regex_automata::nfa::thompson;
use regex_automata::{MatchKind, util::syntax};
use std::time::Instant;

fn build(patterns: &[&str], limit: usize) -> Result<dense::DFA<Vec<u32>>, String> {
    dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .dfa_size_limit(Some(limit))
                .determinize_size_limit(Some(limit)),
        )
        .syntax(syntax::Config::new().utf8(false))
        .thompson(thompson::Config::new().utf8(false))
        .build_many(patterns)
        .map_err(|e| e.to_string())
}

fn main() {
    let limit_mib: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let limit = limit_mib << 20;
    let specs = wafer_engine::rules::builtin_specs().expect("built-in rules parse");
    let set = wafer_engine::rules::RuleSet::compile(specs).expect("built-in rules compile");
    let mut rows = Vec::new();
    let (mut fit, mut total_bytes, mut total_secs) = (0, 0usize, 0f64);
    for (chain, paranoia, patterns) in set.groups() {
        let started = Instant::now();
        let built = build(&patterns, limit);
        let secs = started.elapsed().as_secs_f64();
        total_secs += secs;
        let size = match &built {
            Ok(dfa) => {
                fit += 1;
                total_bytes += dfa.memory_usage();
                format!("{:.1} MiB", dfa.memory_usage() as f64 / (1 << 20) as f64)
            }
            Err(_) => {
                // Would the group fit split up? Each pattern alone:
                let (mut alone, mut bytes) = (0, 0usize);
                for p in &patterns {
                    if let Ok(d) = build(&[p], limit) {
                        alone += 1;
                        bytes += d.memory_usage();
                    }
                }
                format!(
                    "over {limit_mib} MiB; alone {alone} of {} fit, {:.1} MiB",
                    patterns.len(),
                    bytes as f64 / (1 << 20) as f64
                )
            }
        };
        let states = built
            .as_ref()
            .map_or(0, |d| d.memory_usage() / (d.stride() * 4).max(1));
        rows.push((
            built.as_ref().map_or(usize::MAX, |d| d.memory_usage()),
            format!(
                "| {chain:?} | {paranoia} | {} | {size} | ~{states} | {secs:.2} s |",
                patterns.len()
            ),
        ));
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.0));
    println!("| chain | paranoia | patterns | dense DFA | states | build |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (_, row) in &rows {
        println!("{row}");
    }
    println!(
        "\n{fit} of {} groups fit in {limit_mib} MiB each; together {:.1} MiB, built in {total_secs:.1} s",
        rows.len(),
        total_bytes as f64 / (1 << 20) as f64
    );
}
