//! The server's Vectorscan databases (feature `vectorscan`): compiled by a
//! child `wafer compile-rules`, kept in the data directory, loaded by the next
//! start, and compiled afresh when the file is damaged.

#![cfg(feature = "vectorscan")]

use std::path::Path;
use wafer::cli::accelerate::{accelerate, image_path};
use wafer_engine::rules::{RuleSet, builtin_specs};

fn rules() -> RuleSet {
    RuleSet::compile(builtin_specs().unwrap()).unwrap()
}

fn wafer_bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_wafer"))
}

#[test]
fn a_child_compiles_and_the_next_start_loads_its_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = image_path(dir.path());
    let first = rules();
    let said = accelerate(&first, &path, Some(wafer_bin()));
    assert!(said.contains("in a child process"), "{said}");
    assert!(said.contains("saved to"), "{said}");
    let report = first.accelerate(1);
    assert_eq!(report.accelerated, report.groups, "{said}");
    assert_eq!(
        report.compiled, 0,
        "the child compiled, not this process: {said}"
    );
    assert!(std::fs::metadata(&path).unwrap().len() > 1 << 20);

    let second = rules();
    let said = accelerate(&second, &path, Some(wafer_bin()));
    assert!(said.contains("from"), "{said}");
    assert_eq!(second.accelerate(1).accelerated, report.groups);
}

#[test]
fn a_damaged_image_is_compiled_again_and_replaced() {
    let dir = tempfile::tempdir().unwrap();
    let path = image_path(dir.path());
    accelerate(&rules(), &path, Some(wafer_bin()));
    let good = std::fs::read(&path).unwrap();
    let mut bytes = good.clone();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 64] {
        *b ^= 0xA5;
    }
    for damaged in [bytes, good[..1000].to_vec(), b"not an image".to_vec()] {
        std::fs::write(&path, &damaged).unwrap();
        let r = rules();
        let said = accelerate(&r, &path, Some(wafer_bin()));
        assert!(said.contains("not used"), "{said}");
        assert_eq!(
            r.accelerate(1).accelerated,
            r.accelerate(1).groups,
            "{said}"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            good,
            "replaced by a good one"
        );
    }
}

#[test]
fn without_a_child_the_server_compiles_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = image_path(dir.path());
    let r = rules();
    let said = accelerate(&r, &path, Some(Path::new("/nonexistent/wafer")));
    assert!(said.contains("in this process"), "{said}");
    assert_eq!(
        r.accelerate(1).accelerated,
        r.accelerate(1).groups,
        "{said}"
    );
}
