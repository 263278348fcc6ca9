//! The server crate's modules depend on each other one way, top to bottom
//! (docs/ARCHITECTURE.md, "Dependencies point one way"): a module may name
//! modules of lower layers only. Read from the source, so an import that
//! points up or sideways fails here, with the file that made it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Top to bottom. Within a layer, modules do not name each other.
const LAYERS: &[&[&str]] = &[
    &["cli"],
    &["admin", "demo"],
    &["suggest", "acme"],
    &["config"],
    &["proxy"],
    &["anomaly", "protection", "traffic", "sightings"],
    &["store"],
    &[
        "guard", "events", "corpus", "latency", "durable", "periodic",
    ],
    &["clock"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The module's files: `name.rs` and everything under `name/`, test files left out.
fn files_of(module: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let file = src().join(format!("{module}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut dirs = vec![src().join(module)];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs")
                && p.file_name().is_some_and(|n| n != "tests.rs")
            {
                out.push(p);
            }
        }
    }
    out
}

/// The crate modules `text` names (`crate::name`), outside comments and
/// inline test modules.
fn named(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    let mut out = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn modules_depend_on_lower_layers_only() {
    let mut wrong = Vec::new();
    for (depth, modules) in LAYERS.iter().enumerate() {
        for module in *modules {
            let files = files_of(module);
            assert!(!files.is_empty(), "no source for module {module}");
            for file in files {
                let text = std::fs::read_to_string(&file).unwrap();
                for target in named(&text) {
                    if target == *module || target == "testing" {
                        continue;
                    }
                    match layer(&target) {
                        Some(t) if t > depth => {}
                        _ => wrong.push(format!(
                            "{} ({module}) names crate::{target}",
                            file.strip_prefix(src()).unwrap().display()
                        )),
                    }
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports against the layers:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn every_module_has_a_layer() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    for line in lib.lines() {
        let Some(name) = line
            .trim()
            .strip_prefix("pub mod ")
            .or_else(|| line.trim().strip_prefix("pub(crate) mod "))
        else {
            continue;
        };
        let name = name.trim_end_matches(';');
        assert!(
            name == "testing" || layer(name).is_some(),
            "module {name} is in no layer: add it to LAYERS and to docs/ARCHITECTURE.md"
        );
    }
}
