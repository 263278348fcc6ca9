//! Replays the fuzz corpora: every committed seed (`fuzz/seeds/<target>/`) and
//! every crash found (`fuzz/regressions/<target>/`) goes through the same
//! target function the AFL binaries run, which panics on a crash or on a
//! broken invariant (limits, bounded output, chunking-independent verdicts).

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use wafer_engine::fuzzing::{TARGETS, target};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of `dir/<target>/` for every target directory in `dir`, sorted.
// Tests read their corpus files; the engine itself still never does I/O.
#[allow(clippy::disallowed_methods)]
fn corpus(dir: &Path) -> Vec<(String, PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(targets) = std::fs::read_dir(dir) else {
        return out;
    };
    for t in targets {
        let t = t.unwrap().path();
        let name = t.file_name().unwrap().to_string_lossy().into_owned();
        for f in std::fs::read_dir(&t).unwrap() {
            let f = f.unwrap().path();
            let data = std::fs::read(&f).unwrap();
            out.push((name.clone(), f, data));
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// Runs each file through its target; returns the failures (the panic messages, by file).
fn replay(files: &[(String, PathBuf, Vec<u8>)]) -> Vec<String> {
    let mut failures = Vec::new();
    for (name, path, data) in files {
        let f =
            target(name).unwrap_or_else(|| panic!("{}: no fuzz target {name:?}", path.display()));
        if let Err(e) = catch_unwind(AssertUnwindSafe(|| f(data))) {
            let msg = e
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| e.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            failures.push(format!("{}: {msg}", path.display()));
        }
    }
    failures
}

#[test]
fn every_seed_passes_its_target() {
    let files = corpus(&fuzz_dir().join("seeds"));
    for (name, _) in TARGETS {
        assert!(
            files.iter().any(|(t, _, _)| t == name),
            "fuzz target {name} has no seeds in fuzz/seeds/{name}/"
        );
    }
    let failures = replay(&files);
    assert!(
        failures.is_empty(),
        "seeds failing:\n{}",
        failures.join("\n")
    );
}

#[test]
fn every_crash_found_stays_fixed() {
    let files = corpus(&fuzz_dir().join("regressions"));
    let failures = replay(&files);
    assert!(
        failures.is_empty(),
        "regressions failing:\n{}",
        failures.join("\n")
    );
}
