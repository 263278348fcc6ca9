//! Vectorscan against the regex sets, on the built-in rule groups: which
//! patterns it compiles, how large and how fast the databases are, and what
//! a first (cold) and a later (warm) scan of a body cost each way.
//!
//! Needs `libvectorscan-dev` (or `libhyperscan-dev`). Run from this directory:
//! `cargo run --release -- [BODY_FILE...]` (built-in texts when none).

use hyperscan::Block;
use hyperscan::prelude::*;
use std::time::{Duration, Instant};

const LIMIT: usize = 256 << 20;

/// A set's pattern (`(?i-u:...)`, as the rule sets wrap them) as Vectorscan
/// takes it: the wrapper's flags become compile flags.
fn for_vectorscan(p: &str) -> (String, CompileFlags) {
    for (prefix, caseless) in [
        ("(?i-u:", true),
        ("(?-u:", false),
        ("(?iu:", true),
        ("(?u:", false),
    ] {
        if let Some(inner) = p.strip_prefix(prefix).and_then(|r| r.strip_suffix(')')) {
            let flags = if caseless {
                CompileFlags::CASELESS
            } else {
                CompileFlags::empty()
            };
            return (inner.to_owned(), flags | CompileFlags::SINGLEMATCH);
        }
    }
    (p.to_owned(), CompileFlags::SINGLEMATCH)
}

struct Group {
    sets: regex::bytes::RegexSet,
    vs: Option<BlockDatabase>,
    scratch: Option<Scratch>,
}

fn main() {
    let specs = wafer_engine::rules::builtin_specs().expect("built-in rules parse");
    let set = wafer_engine::rules::RuleSet::compile(specs).expect("built-in rules compile");
    let mut groups = Vec::new();
    let (mut total, mut failed, mut db_bytes, mut compile) = (0, 0, 0usize, Duration::ZERO);
    println!("| group | patterns | Vectorscan refuses | database | compile |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    for (chain, paranoia, patterns) in set.groups() {
        let name = format!("{chain:?} pl{paranoia}");
        total += patterns.len();
        let mut ok = Vec::new();
        let mut refused = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            let (expr, flags) = for_vectorscan(p);
            match Pattern::with_flags(expr.clone(), flags)
                .and_then(|pat| pat.build::<Block>().map(|_| pat))
            {
                Ok(mut pat) => {
                    pat.id = Some(i);
                    ok.push(pat);
                }
                Err(e) => refused.push(format!("{e}")),
            }
        }
        failed += refused.len();
        let started = Instant::now();
        let vs: Option<BlockDatabase> =
            (!ok.is_empty()).then(|| Patterns(ok).build().expect("each compiled alone"));
        let took = started.elapsed();
        compile += took;
        let size = vs.as_ref().map_or(0, |d| d.size().unwrap_or(0));
        db_bytes += size;
        println!(
            "| {name} | {} | {} | {:.1} KiB | {:.2} s |",
            patterns.len(),
            refused.len(),
            size as f64 / 1024.0,
            took.as_secs_f64()
        );
        for r in refused.iter().take(2) {
            eprintln!("  {name}: {}", r.chars().take(120).collect::<String>());
        }
        let sets = regex::bytes::RegexSetBuilder::new(&patterns)
            .size_limit(LIMIT)
            .dfa_size_limit(LIMIT)
            .build()
            .expect("the sets compile");
        let scratch = vs.as_ref().map(|d| d.alloc_scratch().expect("scratch"));
        groups.push(Group { sets, vs, scratch });
    }
    println!(
        "\n{} patterns; Vectorscan refuses {failed}; databases {:.1} MiB together, compiled in {:.1} s\n",
        total,
        db_bytes as f64 / (1 << 20) as f64,
        compile.as_secs_f64()
    );
    let mut texts: Vec<(String, Vec<u8>)> = std::env::args()
        .skip(1)
        .map(|p| (p.clone(), std::fs::read(&p).expect("a readable body file")))
        .collect();
    if texts.is_empty() {
        let prose =
            "The quick brown fox jumps over the lazy dog while the shop restocks blue shoes. ";
        texts.push((
            "prose, 64 KiB".into(),
            prose.repeat(64 * 1024 / prose.len()).into_bytes(),
        ));
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..64 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                b' ' + (x % 95) as u8
            })
            .collect();
        texts.push(("random printable, 64 KiB".into(), noise));
    }
    println!(
        "| body | bytes | regex sets, first scan | regex sets, later | Vectorscan, first | Vectorscan, later |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (label, body) in &texts {
        let regex_pass = || {
            let t = Instant::now();
            let mut hits = 0;
            for g in &groups {
                hits += usize::from(g.sets.is_match(body));
            }
            (t.elapsed(), hits)
        };
        let vs_pass = || {
            let t = Instant::now();
            let mut hits = 0;
            for g in &groups {
                if let (Some(db), Some(s)) = (&g.vs, &g.scratch) {
                    let mut hit = false;
                    db.scan(body, s, |_, _, _, _| {
                        hit = true;
                        Matching::Terminate
                    })
                    .ok();
                    hits += usize::from(hit);
                }
            }
            (t.elapsed(), hits)
        };
        let (r_first, r_hits) = regex_pass();
        let r_later = (0..5).map(|_| regex_pass().0).min().unwrap_or_default();
        let (v_first, v_hits) = vs_pass();
        let v_later = (0..5).map(|_| vs_pass().0).min().unwrap_or_default();
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "| {label} | {} | {:.1} ms | {:.2} ms | {:.2} ms | {:.2} ms |",
            body.len(),
            ms(r_first),
            ms(r_later),
            ms(v_first),
            ms(v_later)
        );
        eprintln!("  {label}: groups matching: regex {r_hits}, Vectorscan {v_hits}");
    }
}
