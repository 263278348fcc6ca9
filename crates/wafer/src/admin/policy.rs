//! The policy as the admin API shows and takes it: mode, paranoia, threshold,
//! route overrides, rule exclusions and IP lists in one JSON document. A PUT
//! is validated whole (every bad field named), then applied by swapping in an
//! engine that shares the compiled rules, and saved to the data directory so
//! that a restart keeps it.

use std::path::{Path, PathBuf};

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wafer_engine::{ArgPattern, Engine, Exclusion, Mode, PathPattern, Policy, Route, RuleRange};

use crate::config::bounds;
use crate::guard::IpLists;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    pub mode: String,
    pub paranoia: u8,
    pub threshold: u32,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteDoc>,
    #[serde(default)]
    pub exclusions: Vec<ExclusionDoc>,
    #[serde(default)]
    pub ip: IpDoc,
    #[serde(default)]
    pub anomaly: AnomalyDoc,
    /// Inspect the client's WebSocket messages (routes may override).
    #[serde(default = "yes")]
    pub inspect_websocket: bool,
    /// Application profiles in force (`GET /api/apps` lists them). Absent:
    /// keep the ones in force (those of `[inspection] apps`), so a document
    /// written before profiles existed, or by a client that does not know
    /// them, never drops them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apps: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

/// The anomaly model's part in decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnomalyDoc {
    /// detect (flag only), block or off.
    pub mode: String,
    /// 0 to 1; absent: the active model's own threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl Default for AnomalyDoc {
    fn default() -> Self {
        AnomalyDoc {
            mode: Mode::Detect.to_string(),
            threshold: None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteDoc {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paranoia: Option<u8>,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect_websocket: Option<bool>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExclusionDoc {
    pub path: String,
    pub rules: Vec<String>,
    /// Where in the request the rules do not count: argument names or JSON
    /// paths (`*` for any run), `cookie:NAME`, `header:NAME`. Empty: anywhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpDoc {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub block: Vec<String>,
}

fn ranges(r: &[RuleRange]) -> Vec<String> {
    r.iter().map(|r| String::from(*r)).collect()
}

impl PolicyDoc {
    pub fn of(engine: &Engine, ip: &IpLists) -> PolicyDoc {
        let p = engine.policy();
        PolicyDoc {
            mode: p.mode.to_string(),
            paranoia: p.paranoia,
            threshold: p.threshold,
            disabled_rules: ranges(&p.disabled_rules),
            routes: p
                .routes
                .iter()
                .map(|r| RouteDoc {
                    path: r.path.as_str().to_owned(),
                    mode: r.mode.map(|m| m.to_string()),
                    threshold: r.threshold,
                    paranoia: r.paranoia,
                    disabled_rules: ranges(&r.disabled_rules),
                    anomaly_mode: r.anomaly_mode.map(|m| m.to_string()),
                    anomaly_threshold: r.anomaly_threshold,
                    inspect_websocket: r.inspect_websocket,
                })
                .collect(),
            exclusions: p
                .exclusions
                .iter()
                .map(|e| ExclusionDoc {
                    path: e.path.as_str().to_owned(),
                    rules: ranges(&e.rules),
                    args: e.args.iter().map(|a| a.as_str().to_owned()).collect(),
                })
                .collect(),
            ip: IpDoc {
                allow: ip.allow.iter().map(ToString::to_string).collect(),
                block: ip.block.iter().map(ToString::to_string).collect(),
            },
            anomaly: AnomalyDoc {
                mode: p.anomaly.mode.to_string(),
                threshold: p.anomaly.threshold,
            },
            inspect_websocket: p.inspect_websocket,
            apps: Some(p.apps.clone()),
        }
    }

    /// The engine policy and IP lists this document describes, keeping what the
    /// document does not cover (allowed methods) from `base`; or every problem.
    pub fn build(&self, base: &Policy) -> Result<(Policy, IpLists), Vec<String>> {
        let mut errs = Vec::new();
        let mode = |key: &str, v: &str, errs: &mut Vec<String>| {
            v.parse::<Mode>()
                .map_err(|e| errs.push(format!("{key}: {e}")))
                .ok()
        };
        let rules = |key: &str, v: &[String], errs: &mut Vec<String>| -> Vec<RuleRange> {
            v.iter()
                .filter_map(|r| {
                    r.parse::<RuleRange>()
                        .map_err(|e| errs.push(format!("{key}: {e}")))
                        .ok()
                })
                .collect()
        };
        let pattern = |key: &str, v: &str, errs: &mut Vec<String>| {
            PathPattern::parse(v)
                .map_err(|e| errs.push(format!("{key}: {e}")))
                .ok()
        };
        // The same bounds as the config file's (`config::bounds`).
        let check = |key: &str, r: Result<(), String>, errs: &mut Vec<String>| {
            r.map_err(|e| errs.push(format!("{key}: {e}"))).is_ok()
        };
        let mut policy = base.clone();
        if let Some(m) = mode("mode", &self.mode, &mut errs) {
            policy.mode = m;
        }
        if let Ok(p) = bounds::paranoia(i64::from(self.paranoia))
            .map_err(|e| errs.push(format!("paranoia: {e}")))
        {
            policy.paranoia = p;
        }
        if let Ok(t) = bounds::threshold(i64::from(self.threshold))
            .map_err(|e| errs.push(format!("threshold: {e}")))
        {
            policy.threshold = t;
        }
        policy.disabled_rules = rules("disabled_rules", &self.disabled_rules, &mut errs);
        policy.inspect_websocket = self.inspect_websocket;
        policy.routes = Vec::new();
        for (i, r) in self.routes.iter().enumerate() {
            let key = format!("routes[{i}]");
            let path = pattern(&format!("{key}.path"), &r.path, &mut errs);
            let m = r
                .mode
                .as_deref()
                .and_then(|m| mode(&format!("{key}.mode"), m, &mut errs));
            if let Some(p) = r.paranoia {
                check(
                    &format!("{key}.paranoia"),
                    bounds::paranoia(i64::from(p)).map(drop),
                    &mut errs,
                );
            }
            if let Some(t) = r.threshold {
                check(
                    &format!("{key}.threshold"),
                    bounds::threshold(i64::from(t)).map(drop),
                    &mut errs,
                );
            }
            let disabled = rules(
                &format!("{key}.disabled_rules"),
                &r.disabled_rules,
                &mut errs,
            );
            let anomaly_mode = r
                .anomaly_mode
                .as_deref()
                .and_then(|m| mode(&format!("{key}.anomaly_mode"), m, &mut errs));
            let anomaly_threshold = r.anomaly_threshold.and_then(|t| {
                bounds::anomaly_threshold(t)
                    .map_err(|e| errs.push(format!("{key}.anomaly_threshold: {e}")))
                    .ok()
            });
            if let Some(path) = path {
                policy.routes.push(Route {
                    path,
                    mode: m,
                    threshold: r.threshold,
                    paranoia: r.paranoia,
                    disabled_rules: disabled,
                    anomaly_mode,
                    anomaly_threshold,
                    inspect_websocket: r.inspect_websocket,
                });
            }
        }
        if let Some(m) = mode("anomaly.mode", &self.anomaly.mode, &mut errs) {
            policy.anomaly.mode = m;
        }
        policy.anomaly.threshold = self.anomaly.threshold.and_then(|t| {
            bounds::anomaly_threshold(t)
                .map_err(|e| errs.push(format!("anomaly.threshold: {e}")))
                .ok()
        });
        if let Some(apps) = &self.apps {
            policy.apps = Vec::new();
            for a in apps {
                match wafer_engine::apps::find(a) {
                    Ok(_) if !policy.apps.contains(a) => policy.apps.push(a.clone()),
                    Ok(_) => {}
                    Err(e) => errs.push(format!("apps: {e}")),
                }
            }
        }
        policy.exclusions = Vec::new();
        for (i, e) in self.exclusions.iter().enumerate() {
            let key = format!("exclusions[{i}]");
            let path = pattern(&format!("{key}.path"), &e.path, &mut errs);
            if e.rules.is_empty() {
                errs.push(format!("{key}.rules: name at least one rule"));
            }
            let rs = rules(&format!("{key}.rules"), &e.rules, &mut errs);
            let args: Vec<ArgPattern> = e
                .args
                .iter()
                .filter_map(|a| {
                    a.parse::<ArgPattern>()
                        .map_err(|err| errs.push(format!("{key}.args: {err}")))
                        .ok()
                })
                .collect();
            if let Some(path) = path {
                let mut ex = Exclusion::new(path, rs);
                ex.args = args;
                policy.exclusions.push(ex);
            }
        }
        let nets = |key: &str, v: &[String], errs: &mut Vec<String>| -> Vec<IpNet> {
            v.iter()
                .filter_map(|n| {
                    crate::config::parse_net(n)
                        .map_err(|e| errs.push(format!("{key}: {e}")))
                        .ok()
                })
                .collect()
        };
        let ip = IpLists {
            allow: nets("ip.allow", &self.ip.allow, &mut errs),
            block: nets("ip.block", &self.ip.block, &mut errs),
        };
        for (key, message) in bounds::lists(&policy, &ip) {
            errs.push(format!("{key}: {message}"));
        }
        if errs.is_empty() {
            Ok((policy, ip))
        } else {
            Err(errs)
        }
    }
}

pub fn saved_path(data_dir: &Path) -> PathBuf {
    data_dir.join("policy.json")
}

/// Writes the document so that a crash or power cut mid-write leaves the old
/// one: a synced temporary file, a rename, a synced directory.
pub fn save(path: &Path, doc: &PolicyDoc) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(doc).map_err(std::io::Error::other)?;
    crate::durable::write_atomic(path, &path.with_extension("json.tmp"), &bytes)
}

pub fn load(path: &Path) -> std::io::Result<Option<PolicyDoc>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_writes_the_whole_document_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = saved_path(dir.path());
        let doc = PolicyDoc::of(&Engine::builtin(), &IpLists::default());
        save(&path, &doc).unwrap();
        save(&path, &doc).unwrap();
        assert_eq!(load(&path).unwrap(), Some(doc));
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn round_trips_and_names_every_bad_field() {
        let engine = Engine::builtin();
        let doc = PolicyDoc::of(&engine, &IpLists::default());
        let (p, _) = doc.build(engine.policy()).unwrap();
        assert_eq!(
            PolicyDoc::of(&engine.with_policy(p), &IpLists::default()),
            doc
        );

        // WebSocket inspection, on by default, round-trips off globally and per route.
        assert!(doc.inspect_websocket);
        let mut ws = doc.clone();
        ws.inspect_websocket = false;
        ws.routes.push(RouteDoc {
            path: "/live/".into(),
            mode: None,
            threshold: None,
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: Some(true),
        });
        let (p, _) = ws.build(engine.policy()).unwrap();
        assert!(p.for_path("/live/x").inspect_websocket);
        assert!(!p.for_path("/x").inspect_websocket);
        assert_eq!(
            PolicyDoc::of(&engine.with_policy(p), &IpLists::default()),
            ws
        );
        // Saved documents from before the option keep inspecting.
        let old: PolicyDoc =
            serde_json::from_str(r#"{"mode":"block","paranoia":1,"threshold":5}"#).unwrap();
        assert!(old.inspect_websocket);

        let mut bad = doc.clone();
        bad.mode = "loud".into();
        bad.paranoia = 9;
        bad.routes.push(RouteDoc {
            path: "nope".into(),
            mode: None,
            threshold: Some(0),
            paranoia: None,
            disabled_rules: vec!["x".into()],
            anomaly_mode: Some("loud".into()),
            anomaly_threshold: Some(2.0),
            inspect_websocket: None,
        });
        bad.anomaly.threshold = Some(0.0);
        bad.exclusions.push(ExclusionDoc {
            path: "/a".into(),
            rules: vec![],
            args: vec![],
        });
        bad.exclusions.push(ExclusionDoc {
            path: "/b".into(),
            rules: vec!["942100".into()],
            args: vec!["header:".into()],
        });
        bad.ip.block.push("300.1.1.1".into());
        let errs = bad.build(engine.policy()).unwrap_err();
        for key in [
            "mode",
            "paranoia",
            "routes[0].path",
            "routes[0].threshold",
            "routes[0].disabled_rules",
            "routes[0].anomaly_mode",
            "routes[0].anomaly_threshold",
            "anomaly.threshold",
            "exclusions[0].rules",
            "exclusions[1].args",
            "ip.block",
        ] {
            assert!(
                errs.iter().any(|e| e.starts_with(key)),
                "{key} not in {errs:?}"
            );
        }
    }

    /// An exclusion narrowed to arguments keeps them through the document, the
    /// saved file and the engine: the rule stops counting in that argument only.
    #[test]
    fn exclusion_arguments_round_trip_and_apply() {
        use wafer_engine::request::{Location, Part};
        let engine = Engine::builtin();
        let mut doc = PolicyDoc::of(&engine, &IpLists::default());
        doc.exclusions.push(ExclusionDoc {
            path: "/notes/*/save".into(),
            rules: vec!["941100".into()],
            args: vec![
                "content".into(),
                "cells.*.source".into(),
                "cookie:draft".into(),
            ],
        });
        let (p, _) = doc.build(engine.policy()).unwrap();
        let engine = engine.with_policy(p);
        assert_eq!(PolicyDoc::of(&engine, &IpLists::default()), doc);

        let dir = tempfile::tempdir().unwrap();
        let path = saved_path(dir.path());
        save(&path, &doc).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("cells.*.source"), "{text}");
        assert_eq!(load(&path).unwrap().as_ref(), Some(&doc));

        let eff = engine.policy().for_path("/notes/42/save");
        let at = |part, name: &str| Location::new(part, Some(name));
        assert!(!eff.rule_active_at(941100, 1, &at(Part::BodyArg, "content")));
        assert!(!eff.rule_active_at(941100, 1, &at(Part::BodyArg, "cells.3.source")));
        assert!(!eff.rule_active_at(941100, 1, &at(Part::Cookie, "draft")));
        // Elsewhere in the request, another rule, another path: still counts.
        assert!(eff.rule_active_at(941100, 1, &at(Part::BodyArg, "title")));
        assert!(eff.rule_active_at(941110, 1, &at(Part::BodyArg, "content")));
        let other = engine.policy().for_path("/notes/42/delete");
        assert!(other.rule_active_at(941100, 1, &at(Part::BodyArg, "content")));

        // Documents saved before `args` existed still load, as "anywhere".
        let old: ExclusionDoc = serde_json::from_str(r#"{"path":"/a","rules":["1"]}"#).unwrap();
        assert!(old.args.is_empty());
    }

    #[test]
    fn profiles_survive_an_edit_and_a_document_that_does_not_name_them() {
        let engine = Engine::build(wafer_engine::EngineConfig {
            policy: Policy {
                apps: vec!["wordpress".into()],
                ..Policy::default()
            },
            ..Default::default()
        })
        .unwrap();
        let compiled = engine.policy().app_exclusions.len();
        assert!(compiled > 0);
        let doc = PolicyDoc::of(&engine, &IpLists::default());
        assert_eq!(doc.apps.as_deref(), Some(&["wordpress".to_owned()][..]));

        // An edit of something else keeps them, compiled.
        let mut edit = doc.clone();
        edit.threshold = 7;
        edit.exclusions.push(ExclusionDoc {
            path: "/search".into(),
            rules: vec!["200001".into()],
            args: vec![],
        });
        let (p, _) = edit.build(engine.policy()).unwrap();
        let next = engine.with_policy(p);
        assert_eq!(next.policy().apps, ["wordpress"]);
        assert_eq!(next.policy().app_exclusions.len(), compiled);
        assert_eq!(
            next.policy().exclusions.len(),
            1,
            "the operator's own, apart"
        );

        // A document without `apps` (saved before profiles, or from an older client) keeps them.
        let old: PolicyDoc =
            serde_json::from_str(r#"{"mode":"detect","paranoia":1,"threshold":5}"#).unwrap();
        let (p, _) = old.build(next.policy()).unwrap();
        assert_eq!(
            engine.with_policy(p).policy().app_exclusions.len(),
            compiled
        );

        // Named, they are replaced; an unknown name is refused with the known ones.
        let mut change = doc.clone();
        change.apps = Some(vec!["jupyterlab".into(), "grafana".into()]);
        let (p, _) = change.build(engine.policy()).unwrap();
        assert_eq!(p.apps, ["jupyterlab", "grafana"]);
        let mut off = doc.clone();
        off.apps = Some(vec![]);
        let (p, _) = off.build(engine.policy()).unwrap();
        assert!(engine.with_policy(p).policy().app_exclusions.is_empty());
        let mut bad = doc;
        bad.apps = Some(vec!["wp".into()]);
        let errs = bad.build(engine.policy()).unwrap_err();
        assert!(
            errs[0].starts_with("apps: ") && errs[0].contains("wordpress, drupal"),
            "{errs:?}"
        );
    }

    /// Issue 15: the same out-of-range value the config file refuses
    /// (`config::tests::the_file_refuses_the_thresholds_the_api_refuses`).
    #[test]
    fn the_api_refuses_the_thresholds_the_file_refuses() {
        let engine = Engine::builtin();
        let doc = PolicyDoc::of(&engine, &IpLists::default());
        for (t, ok) in [
            (u32::MAX, false),
            (10_001, false),
            (0, false),
            (10_000, true),
        ] {
            let mut d = doc.clone();
            d.threshold = t;
            d.routes.push(RouteDoc {
                path: "/a/".into(),
                mode: None,
                threshold: Some(t),
                paranoia: None,
                disabled_rules: vec![],
                anomaly_mode: None,
                anomaly_threshold: None,
                inspect_websocket: None,
            });
            match d.build(engine.policy()) {
                Ok((p, _)) => assert!(ok && p.threshold == t, "{t} accepted"),
                Err(errs) => {
                    assert!(!ok, "{t} refused: {errs:?}");
                    let want = crate::config::bounds::threshold(i64::from(t)).unwrap_err();
                    assert_eq!(
                        errs,
                        [
                            format!("threshold: {want}"),
                            format!("routes[0].threshold: {want}")
                        ]
                    );
                }
            }
        }
        let mut d = doc.clone();
        d.ip.allow = vec!["10.0.0.1".into(); crate::config::bounds::MAX_IP_ENTRIES + 1];
        let errs = d.build(engine.policy()).unwrap_err();
        assert!(
            errs.len() == 1 && errs[0].starts_with("ip.allow:"),
            "{errs:?}"
        );
    }
}
