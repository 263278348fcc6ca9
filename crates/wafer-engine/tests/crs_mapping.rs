//! The CRS mapping checked against CRS itself: every CRS id a built-in rule
//! or detector check names is a rule of CRS v4 (read at test time from where
//! it is installed; nothing of it is in the repository).

use wafer_engine::Engine;

/// Where the CRS v4 rule files are at hand (`WAFER_CRS_DIR`, or the
/// workspace's `../shared/crs-v4/rules`), every mapped id is one of theirs.
#[test]
#[allow(clippy::disallowed_methods)] // reading the CRS files is the test
fn every_mapped_id_is_a_crs_v4_rule() {
    let dir = std::env::var_os("WAFER_CRS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-v4/rules")
        });
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "no CRS rules at {}: the ids are not checked against them",
            dir.display()
        );
        return;
    };
    let mut known = std::collections::HashSet::new();
    for e in entries.flatten() {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        for part in text.split("id:").skip(1) {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(id) = digits.parse::<u32>() {
                known.insert(id);
            }
        }
    }
    assert!(
        known.len() > 500,
        "{} ids read from {}",
        known.len(),
        dir.display()
    );
    let engine = Engine::builtin();
    for r in engine.rule_infos() {
        for id in &r.crs {
            assert!(
                known.contains(id),
                "rule {}: {id} is not a CRS v4 rule",
                r.id
            );
        }
    }
}
