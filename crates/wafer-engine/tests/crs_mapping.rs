//! The CRS mapping checked against CRS itself: every CRS id a built-in rule
//! or detector check names is a rule of CRS v4 (read at test time from where
//! it is installed; nothing of it is in the repository).

use wafer_engine::Engine;

/// Where CRS v4's rule files are: `WAFER_CRS_DIR`, or the workspace's `../shared/crs-v4/rules`.
fn crs_dir() -> std::path::PathBuf {
    std::env::var_os("WAFER_CRS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs-v4/rules")
        })
}

/// Where the CRS v4 rule files are at hand (`WAFER_CRS_DIR`, or the
/// workspace's `../shared/crs-v4/rules`), every mapped id is one of theirs.
#[test]
#[allow(clippy::disallowed_methods)] // reading the CRS files is the test
fn every_mapped_id_is_a_crs_v4_rule() {
    let dir = crs_dir();
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

/// The SecLang parser reads every CRS v4 file (its rules and the setup
/// example) with no error, every rule with its id.
#[test]
#[allow(clippy::disallowed_methods)] // reading the CRS files is the test
fn every_crs_v4_file_parses() {
    let dir = crs_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no CRS rules at {}: not parsed", dir.display());
        return;
    };
    let mut files: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    files.push(dir.join("../crs-setup.conf.example"));
    let (mut rules, mut chained, mut total) = (0, 0, 0);
    for f in files.iter().filter(|f| {
        let n = f.to_string_lossy();
        n.ends_with(".conf") || n.ends_with(".conf.example")
    }) {
        let text = std::fs::read_to_string(f).unwrap();
        let (directives, errors) = wafer_engine::seclang::parse(&text);
        assert!(errors.is_empty(), "{}: {errors:?}", f.display());
        total += directives.len();
        let mut in_chain = false;
        for d in &directives {
            if let wafer_engine::seclang::DirectiveKind::Rule(r) = &d.kind {
                if in_chain {
                    chained += 1;
                } else {
                    rules += 1;
                    assert!(
                        r.action("id").is_some(),
                        "{}:{}: a rule without an id",
                        f.display(),
                        d.line
                    );
                }
                in_chain = r.has_action("chain");
            }
        }
    }
    assert!(
        rules > 500 && chained > 50,
        "{rules} rules, {chained} chained, {total} directives"
    );
    eprintln!("{rules} rules, {chained} chained rules, {total} directives");
}

/// What running CRS v4 will need, counted (printed for docs/CRS.md): the
/// operators, variables, transformations and actions its rules use, and the
/// `@rx` patterns the `regex` crate cannot compile.
#[test]
#[allow(clippy::disallowed_methods)] // reading the CRS files is the test
fn what_crs_v4_uses_is_counted() {
    use std::collections::BTreeMap;
    let dir = crs_dir();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!("no CRS rules at {}: not counted", dir.display());
        return;
    };
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    let mut vars: BTreeMap<String, usize> = BTreeMap::new();
    let mut transforms: BTreeMap<String, usize> = BTreeMap::new();
    let mut actions: BTreeMap<String, usize> = BTreeMap::new();
    let (mut rx, mut rx_refused) = (0, Vec::new());
    for e in entries.flatten() {
        if !e.path().to_string_lossy().ends_with(".conf") {
            continue;
        }
        let text = std::fs::read_to_string(e.path()).unwrap();
        for d in wafer_engine::seclang::parse(&text).0 {
            let wafer_engine::seclang::DirectiveKind::Rule(r) = d.kind else {
                continue;
            };
            *ops.entry(r.operator.name.clone()).or_default() += 1;
            for v in &r.variables {
                *vars.entry(v.name.clone()).or_default() += 1;
            }
            for a in &r.actions {
                match (a.name.as_str(), &a.value) {
                    ("t", Some(t)) => *transforms.entry(t.clone()).or_default() += 1,
                    (n, _) => *actions.entry(n.to_owned()).or_default() += 1,
                }
            }
            if r.operator.name == "rx" {
                rx += 1;
                if regex::Regex::new(&r.operator.argument).is_err() {
                    rx_refused.push(r.action("id").unwrap_or("?").to_owned());
                }
            }
        }
    }
    assert!(rx > 300, "{rx} @rx rules");
    eprintln!(
        "operators {ops:?}\nvariables {vars:?}\ntransformations {transforms:?}\nactions {actions:?}"
    );
    eprintln!(
        "@rx: {rx}, refused by the regex crate: {} {rx_refused:?}",
        rx_refused.len()
    );
}
