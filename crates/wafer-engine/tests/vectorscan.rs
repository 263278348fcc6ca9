//! The rule groups on Vectorscan (feature `vectorscan`) must find exactly what
//! the regex sets find. Texts are drawn from each rule's own grammar (its
//! parsed pattern walked at random), set in random surroundings and mangled,
//! so most of them sit right at the edge of what some rule matches.

#![cfg(feature = "vectorscan")]

mod common;

use common::XorShift as Rng;
use regex_syntax::hir::{Class, Hir, HirKind};
use wafer_engine::request::{Location, Part};
use wafer_engine::rules::{RuleSet, builtin_specs};

/// A random string of `hir`'s language (assertions are ignored, so some
/// samples miss: those are useful too).
fn sample(hir: &Hir, rng: &mut Rng, out: &mut Vec<u8>) {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(lit) => out.extend_from_slice(&lit.0),
        HirKind::Class(Class::Bytes(c)) => {
            let ranges: Vec<_> = c.iter().collect();
            let r = ranges[rng.below(ranges.len())];
            let span = usize::from(r.end() - r.start()) + 1;
            out.push(r.start() + rng.below(span) as u8);
        }
        HirKind::Class(Class::Unicode(c)) => {
            let ranges: Vec<_> = c.iter().collect();
            let r = ranges[rng.below(ranges.len())];
            let span = (r.end() as u32 - r.start() as u32) as usize + 1;
            let ch = char::from_u32(r.start() as u32 + rng.below(span.min(256)) as u32)
                .unwrap_or(r.start());
            let mut buf = [0; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        }
        HirKind::Repetition(rep) => {
            let max = rep.max.unwrap_or(rep.min + 3).min(rep.min + 3);
            let n = rep.min + rng.below((max - rep.min) as usize + 1) as u32;
            for _ in 0..n {
                sample(&rep.sub, rng, out);
            }
        }
        HirKind::Capture(c) => sample(&c.sub, rng, out),
        HirKind::Concat(parts) => parts.iter().for_each(|p| sample(p, rng, out)),
        HirKind::Alternation(alts) => sample(&alts[rng.below(alts.len())], rng, out),
    }
}

const SURROUNDINGS: &[&str] = &[
    "", " ", "x", "1", "'", "\"", "\n", "a b", "=", "/", ";", "%", "\u{e9}", "\u{ff}",
];

fn texts(rules: &RuleSet, per_rule: usize) -> Vec<String> {
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut out = Vec::new();
    for pattern in rules.groups().into_iter().flat_map(|(_, _, ps)| ps) {
        let hir = regex_syntax::ParserBuilder::new()
            .utf8(false)
            .build()
            .parse(pattern)
            .expect("a compiled rule's pattern parses");
        for _ in 0..per_rule {
            let mut bytes = SURROUNDINGS[rng.below(SURROUNDINGS.len())]
                .as_bytes()
                .to_vec();
            sample(&hir, &mut rng, &mut bytes);
            // Mangle some: drop, double or flip one byte.
            if !bytes.is_empty() && rng.below(3) == 0 {
                let at = rng.below(bytes.len());
                match rng.below(3) {
                    0 => {
                        bytes.remove(at);
                    }
                    1 => bytes.insert(at, bytes[at]),
                    _ => bytes[at] ^= 0x20,
                }
            }
            bytes.extend_from_slice(SURROUNDINGS[rng.below(SURROUNDINGS.len())].as_bytes());
            out.push(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    // Noise: printable and binary.
    for len in [1, 7, 64, 700, 5000] {
        let printable: Vec<u8> = (0..len).map(|_| b' ' + rng.below(95) as u8).collect();
        out.push(String::from_utf8(printable).expect("ASCII"));
        let raw: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        out.push(String::from_utf8_lossy(&raw).into_owned());
    }
    out
}

fn locations() -> Vec<Location> {
    vec![
        Location::new(Part::QueryArg, Some("q")),
        Location::new(Part::BodyArg, Some("comment")),
        Location::new(Part::Header, Some("user-agent")),
        Location::new(Part::Header, Some("content-type")),
        Location::new(Part::Cookie, Some("session")),
        Location::new(Part::Path, None),
        Location::new(Part::Filename, None),
    ]
}

fn found(rules: &RuleSet, loc: &Location, text: &str) -> Vec<(u32, usize, usize)> {
    rules
        .matches(loc, text, &|_| true)
        .into_iter()
        .map(|m| (m.rule.id, m.start, m.end))
        .collect()
}

#[test]
fn vectorscan_finds_what_the_regex_sets_find() {
    let plain = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let fast = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let report = fast.accelerate(2);
    // Every length on Vectorscan, the shortest texts included.
    fast.scan_on_vectorscan_from(0);
    assert_eq!(report.engine, "vectorscan");
    // Every built-in group compiles; a refusal would leave a group on its
    // regex set (still correct, but slow and growing on novel input).
    assert_eq!(report.accelerated, report.groups, "{report}");
    // One rule, Unicode-aware, spells out to more than Vectorscan takes: it
    // keeps a regex set of its own.
    assert!(report.refused.len() <= 1, "{report}");

    // And as a server runs: short texts on the regex sets, the rest on Vectorscan.
    let mixed = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    mixed.accelerate(2);

    let texts = texts(&plain, 40);
    assert!(texts.len() > 5_000);
    let mut hits = 0;
    for loc in locations() {
        for text in &texts {
            let want = found(&plain, &loc, text);
            hits += want.len();
            assert_eq!(found(&fast, &loc, text), want, "{loc:?} {text:?}");
            assert_eq!(found(&mixed, &loc, text), want, "{loc:?} {text:?}");
        }
    }
    // The samples must reach the rules, or the comparison says little.
    assert!(hits > texts.len(), "only {hits} matches");
}

#[test]
fn a_second_rule_set_reuses_the_databases() {
    let first = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let a = first.accelerate(2);
    let second = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let b = second.accelerate(2);
    assert_eq!(b.accelerated, a.accelerated);
    assert_eq!(b.compiled, 0, "{b}");
    // And asking again does nothing more.
    assert_eq!(second.accelerate(2).to_string(), b.to_string());
}

#[test]
fn scans_from_many_threads_at_once_agree() {
    let plain = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let fast = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    fast.accelerate(2);
    fast.scan_on_vectorscan_from(0);
    let texts = texts(&plain, 3);
    let loc = Location::new(Part::QueryArg, Some("q"));
    let want: Vec<_> = texts.iter().map(|t| found(&plain, &loc, t)).collect();
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for (t, w) in texts.iter().zip(&want) {
                    assert_eq!(&found(&fast, &loc, t), w);
                }
            });
        }
    });
}

#[test]
fn an_image_brings_the_same_databases_to_another_rule_set() {
    let plain = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let made = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    assert!(made.acceleration_image().is_none(), "nothing to save yet");
    made.accelerate(2);
    let image = made.acceleration_image().unwrap().unwrap();

    // Dropping the compiled ones first, so that the loaded ones are the image's.
    drop(made);
    let loaded = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    let report = loaded.accelerate_from_image(&image).unwrap();
    // Loaded, or shared with a rule set another test holds: none compiled.
    assert_eq!(report.compiled, 0, "{report}");
    assert_eq!(report.accelerated, report.groups, "{report}");
    loaded.scan_on_vectorscan_from(0);
    let loc = Location::new(Part::BodyArg, Some("comment"));
    for text in texts(&plain, 5) {
        assert_eq!(
            found(&loaded, &loc, &text),
            found(&plain, &loc, &text),
            "{text:?}"
        );
    }
}

#[test]
fn an_image_of_other_rules_or_damaged_is_refused() {
    let made = RuleSet::compile(builtin_specs().unwrap()).unwrap();
    made.accelerate(2);
    let image = made.acceleration_image().unwrap().unwrap();

    let mut specs = builtin_specs().unwrap();
    specs.pop();
    let other = RuleSet::compile(specs).unwrap();
    let err = other.accelerate_from_image(&image).unwrap_err();
    assert!(err.contains("other rules"), "{err}");

    let fresh = || RuleSet::compile(builtin_specs().unwrap()).unwrap();
    for (what, bytes) in [
        ("cut", image[..image.len() / 3].to_vec()),
        ("empty", Vec::new()),
        ("flipped", {
            let mut b = image.clone();
            let mid = b.len() / 2;
            b[mid] ^= 1;
            b
        }),
    ] {
        let rules = fresh();
        assert!(rules.accelerate_from_image(&bytes).is_err(), "{what}");
        // Refused changes nothing: the rule set can still be compiled.
        assert!(rules.acceleration_image().is_none(), "{what}");
    }
}
