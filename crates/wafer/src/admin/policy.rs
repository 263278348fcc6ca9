//! A site's policy as the admin API shows and takes it: mode, paranoia,
//! threshold, route overrides, rule exclusions, IP lists, rate limits and ban
//! settings in one JSON document. Each site has its own, saved to its own
//! file (`policies/<site>.json` in the data directory). A
//! change is validated whole (every bad field named, by the same functions
//! that check the config file: `config::policy`), then applied by swapping in
//! an engine that shares the compiled rules, and saved to the data directory
//! so that a restart keeps it. Changes come from the HTTP API
//! (`policy_routes`) and from the cluster (`policy_sync`), both through
//! [`apply`].

pub(crate) use crate::config::policy::ExclusionDoc;
use std::hash::{Hash as _, Hasher as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wafer_engine::{Engine, Mode, Policy, RuleRange};

use crate::config::policy::{self, RouteSpec};
use crate::config::throttle::{self, BansSpec, RateLimitSpec};
use crate::config::{ConfigError, Problems};
use crate::guard::{IpLists, Throttle};
use crate::protection::Protection;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PolicyDoc {
    pub mode: String,
    /// Wider than the engine's types, so that any number is refused by the
    /// policy's own bounds, in their words, not by the JSON decoder.
    pub paranoia: i64,
    pub threshold: i64,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RouteSpec>,
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
    /// The site's rate limits. Absent: keep those in force (as for `apps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<Vec<RateLimitSpec>>,
    /// Blocked requests that earn a ban, and its length; an absent key keeps
    /// the value in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bans: Option<BansSpec>,
}

fn yes() -> bool {
    true
}

/// The anomaly model's part in decisions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct AnomalyDoc {
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

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct IpDoc {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub block: Vec<String>,
}

fn ranges(r: &[RuleRange]) -> Vec<String> {
    r.iter().map(|r| String::from(*r)).collect()
}

impl PolicyDoc {
    /// The document of a site's protection in force.
    pub(crate) fn of_site(p: &Protection) -> PolicyDoc {
        PolicyDoc::of(&p.engine, &p.ip_lists, &p.throttle)
    }

    /// `base` with this document over it, its compiled rules shared.
    pub(crate) fn apply_to(&self, base: &Protection) -> Result<Protection, Vec<ConfigError>> {
        let (policy, ip_lists, throttle) = self.build(base.engine.policy(), &base.throttle)?;
        Ok(Protection {
            engine: base.engine.with_policy(policy),
            ip_lists,
            throttle,
        })
    }

    pub(crate) fn of(engine: &Engine, ip: &IpLists, throttle: &Throttle) -> PolicyDoc {
        let p = engine.policy();
        PolicyDoc {
            mode: p.mode.to_string(),
            paranoia: i64::from(p.paranoia),
            threshold: i64::from(p.threshold),
            disabled_rules: ranges(&p.disabled_rules),
            routes: p.routes.iter().map(RouteSpec::of).collect(),
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
            rate_limits: Some(throttle.rate_limits.iter().map(RateLimitSpec::of).collect()),
            bans: Some(BansSpec::of(&throttle.bans)),
        }
    }

    /// The engine policy, IP lists, rate limits and bans this document
    /// describes, keeping what the document does not cover (allowed methods)
    /// or leaves out from `base` and `base_throttle`; or every problem.
    pub(crate) fn build(
        &self,
        base: &Policy,
        base_throttle: &Throttle,
    ) -> Result<(Policy, IpLists, Throttle), Vec<ConfigError>> {
        let p = &mut Problems::default();
        let mut out = base.clone();
        if let Some(m) = policy::mode(p, "mode", &self.mode) {
            out.mode = m;
        }
        if let Some(n) = p.ok("paranoia", policy::paranoia(self.paranoia)) {
            out.paranoia = n;
        }
        if let Some(t) = p.ok("threshold", policy::threshold(self.threshold)) {
            out.threshold = t;
        }
        out.disabled_rules = policy::rule_ranges(p, "disabled_rules", &self.disabled_rules);
        out.inspect_websocket = self.inspect_websocket;
        out.routes = policy::routes(p, &self.routes);
        if let Some(m) = policy::mode(p, "anomaly.mode", &self.anomaly.mode) {
            out.anomaly.mode = m;
        }
        out.anomaly.threshold = self
            .anomaly
            .threshold
            .and_then(|t| p.ok("anomaly.threshold", policy::anomaly_threshold(t)));
        if let Some(apps) = &self.apps {
            out.apps = policy::apps(p, "apps", apps);
        }
        out.exclusions = (self.exclusions.iter().enumerate())
            .filter_map(|(i, e)| {
                policy::exclusion(p, &format!("exclusions[{i}]"), &e.path, &e.rules, &e.args)
            })
            .collect();
        let ip = policy::ip_lists(p, &self.ip.allow, &self.ip.block);
        policy::lengths(p, &out, &ip, "disabled_rules");
        let throttle = Throttle {
            rate_limits: match &self.rate_limits {
                Some(specs) => throttle::rate_limits(p, "rate_limits", specs),
                None => base_throttle.rate_limits.clone(),
            },
            bans: match &self.bans {
                Some(b) => throttle::bans(p, "bans", base_throttle.bans, b),
                None => base_throttle.bans,
            },
        };
        std::mem::take(p).into_result((out, ip, throttle))
    }
}

/// Where `site`'s policy is saved when it is changed through the admin API.
/// (Site names are letters, digits, `-`, `_` and `.`: never a path.)
pub(crate) fn saved_path(data_dir: &Path, site: &str) -> PathBuf {
    data_dir.join("policies").join(format!("{site}.json"))
}

/// Where the one editable policy was saved before each site had its own: it
/// still applies to the primary site (`Sites::primary`) until that site's
/// own file exists.
pub(crate) fn legacy_path(data_dir: &Path) -> PathBuf {
    data_dir.join("policy.json")
}

/// `site`'s saved policy, if any, and the file it came from.
pub(crate) fn load_saved(
    data_dir: &Path,
    site: &str,
    primary: bool,
) -> std::io::Result<Option<(PolicyDoc, PathBuf)>> {
    let own = saved_path(data_dir, site);
    if let Some(doc) = load(&own)? {
        return Ok(Some((doc, own)));
    }
    if !primary {
        return Ok(None);
    }
    let legacy = legacy_path(data_dir);
    Ok(load(&legacy)?.map(|doc| (doc, legacy)))
}

/// Writes the document so that a crash or power cut mid-write leaves the old
/// one: a synced temporary file, a rename, a synced directory.
pub(crate) fn save(path: &Path, doc: &PolicyDoc) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let bytes = serde_json::to_vec_pretty(doc).map_err(std::io::Error::other)?;
    crate::durable::write_atomic(path, &path.with_extension("json.tmp"), &bytes)
}

pub(crate) fn load(path: &Path) -> std::io::Result<Option<PolicyDoc>> {
    match std::fs::read(path) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A tag that changes whenever the document does (the API's `ETag`).
pub(crate) fn etag(doc: &PolicyDoc) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(doc).unwrap_or_default().hash(&mut h);
    format!("\"p-{:016x}\"", h.finish())
}

/// Why a change was not applied.
#[derive(Debug)]
pub(crate) enum ChangeError {
    /// The document is no longer the one `If-Match` named.
    Stale,
    /// The changed document is not a valid policy: every problem.
    Invalid(Vec<ConfigError>),
    /// Valid, but it could not be saved (so it was not applied either).
    Save(String),
    /// No site has the name given.
    NoSite,
}

/// The one way a site's policy changes, from the API or from the cluster:
/// under the keeper's lock, `edit` applied to the site's document in force,
/// validated whole, saved to the site's file, swapped in at once. With
/// `if_match`, refused when the document is no longer that one. Returns the
/// document now in force.
pub(crate) async fn apply(
    keeper: &super::keeper::PolicyKeeper,
    site: Option<&str>,
    if_match: Option<&str>,
    edit: impl FnOnce(&mut PolicyDoc),
) -> Result<(String, PolicyDoc), ChangeError> {
    // One change at a time, so that two writers cannot interleave their swaps.
    let _guard = keeper.lock.lock().await;
    let (name, live) = keeper.site(site).ok_or(ChangeError::NoSite)?;
    let protection = live.snapshot();
    let mut doc = PolicyDoc::of_site(&protection);
    if let Some(tag) = if_match
        && tag != "*"
        && tag != etag(&doc)
    {
        return Err(ChangeError::Stale);
    }
    edit(&mut doc);
    let next = doc.apply_to(&protection).map_err(ChangeError::Invalid)?;
    let saved = PolicyDoc::of_site(&next);
    if let Some(dir) = &keeper.data_dir {
        let path = saved_path(dir, &name);
        let doc = saved.clone();
        tokio::task::spawn_blocking(move || save(&path, &doc))
            .await
            .map_err(|e| ChangeError::Save(e.to_string()))?
            .map_err(|e| ChangeError::Save(format!("saving the policy: {e}")))?;
    }
    live.replace(next);
    Ok((name, saved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_writes_the_whole_document_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = saved_path(dir.path(), "shop");
        let doc = PolicyDoc::of(
            &Engine::builtin(),
            &IpLists::default(),
            &Throttle::default(),
        );
        save(&path, &doc).unwrap();
        save(&path, &doc).unwrap();
        assert_eq!(load(&path).unwrap(), Some(doc));
        assert!(!path.with_extension("json.tmp").exists());
    }

    #[test]
    fn round_trips_and_names_every_bad_field() {
        let engine = Engine::builtin();
        let doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        let (p, _, _) = doc.build(engine.policy(), &Throttle::default()).unwrap();
        assert_eq!(
            PolicyDoc::of(
                &engine.with_policy(p),
                &IpLists::default(),
                &Throttle::default()
            ),
            doc
        );

        // WebSocket inspection, on by default, round-trips off globally and per route.
        assert!(doc.inspect_websocket);
        let mut ws = doc.clone();
        ws.inspect_websocket = false;
        ws.routes.push(RouteSpec {
            path: Some("/live/".into()),
            inspect_websocket: Some(true),
            ..RouteSpec::default()
        });
        let (p, _, _) = ws.build(engine.policy(), &Throttle::default()).unwrap();
        assert!(p.for_path("/live/x").inspect_websocket);
        assert!(!p.for_path("/x").inspect_websocket);
        assert_eq!(
            PolicyDoc::of(
                &engine.with_policy(p),
                &IpLists::default(),
                &Throttle::default()
            ),
            ws
        );
        // Saved documents from before the option keep inspecting.
        let old: PolicyDoc =
            serde_json::from_str(r#"{"mode":"block","paranoia":1,"threshold":5}"#).unwrap();
        assert!(old.inspect_websocket);

        let mut bad = doc.clone();
        bad.mode = "loud".into();
        bad.paranoia = 9;
        bad.routes.push(RouteSpec {
            path: Some("nope".into()),
            threshold: Some(0),
            disabled_rules: vec!["x".into()],
            anomaly_mode: Some("loud".into()),
            anomaly_threshold: Some(2.0),
            ..RouteSpec::default()
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
        let errs = bad
            .build(engine.policy(), &Throttle::default())
            .unwrap_err();
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
            assert!(errs.iter().any(|e| e.key == key), "{key} not in {errs:?}");
        }
    }

    /// An exclusion narrowed to arguments keeps them through the document, the
    /// saved file and the engine: the rule stops counting in that argument only.
    #[test]
    fn exclusion_arguments_round_trip_and_apply() {
        use wafer_engine::request::{Location, Part};
        let engine = Engine::builtin();
        let mut doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        doc.exclusions.push(ExclusionDoc {
            path: "/notes/*/save".into(),
            rules: vec!["941100".into()],
            args: vec![
                "content".into(),
                "cells.*.source".into(),
                "cookie:draft".into(),
            ],
        });
        let (p, _, _) = doc.build(engine.policy(), &Throttle::default()).unwrap();
        let engine = engine.with_policy(p);
        assert_eq!(
            PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default()),
            doc
        );

        let dir = tempfile::tempdir().unwrap();
        let path = saved_path(dir.path(), "shop");
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
        let doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        assert_eq!(doc.apps.as_deref(), Some(&["wordpress".to_owned()][..]));

        // An edit of something else keeps them, compiled.
        let mut edit = doc.clone();
        edit.threshold = 7;
        edit.exclusions.push(ExclusionDoc {
            path: "/search".into(),
            rules: vec!["200001".into()],
            args: vec![],
        });
        let (p, _, _) = edit.build(engine.policy(), &Throttle::default()).unwrap();
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
        let (p, _, _) = old.build(next.policy(), &Throttle::default()).unwrap();
        assert_eq!(
            engine.with_policy(p).policy().app_exclusions.len(),
            compiled
        );

        // Named, they are replaced; an unknown name is refused with the known ones.
        let mut change = doc.clone();
        change.apps = Some(vec!["jupyterlab".into(), "grafana".into()]);
        let (p, _, _) = change.build(engine.policy(), &Throttle::default()).unwrap();
        assert_eq!(p.apps, ["jupyterlab", "grafana"]);
        let mut off = doc.clone();
        off.apps = Some(vec![]);
        let (p, _, _) = off.build(engine.policy(), &Throttle::default()).unwrap();
        assert!(engine.with_policy(p).policy().app_exclusions.is_empty());
        let mut bad = doc;
        bad.apps = Some(vec!["wp".into()]);
        let errs = bad
            .build(engine.policy(), &Throttle::default())
            .unwrap_err();
        assert!(
            errs[0].key == "apps" && errs[0].message.contains("wordpress, drupal"),
            "{errs:?}"
        );
    }

    /// Issue 21: CRS tags stand beside ids in disabled lists and exclusions,
    /// round-trip through the document, and a tag no rule carries is refused.
    #[test]
    fn crs_tags_round_trip_and_an_unknown_one_is_refused() {
        let engine = Engine::builtin();
        let mut doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        doc.disabled_rules = vec!["attack-xss".into(), "942100-942199".into()];
        doc.exclusions.push(ExclusionDoc {
            path: "/search".into(),
            rules: vec!["Attack-SQLi".into()],
            args: vec!["q".into()],
        });
        let (p, _, _) = doc.build(engine.policy(), &Throttle::default()).unwrap();
        let back = PolicyDoc::of(
            &engine.with_policy(p),
            &IpLists::default(),
            &Throttle::default(),
        );
        assert_eq!(back.disabled_rules, ["attack-xss", "942100-942199"]);
        assert_eq!(back.exclusions[0].rules, ["attack-sqli"]);
        let mut bad = doc.clone();
        bad.disabled_rules = vec!["attack-sqlx".into()];
        let errs = bad
            .build(engine.policy(), &Throttle::default())
            .unwrap_err();
        assert!(
            errs.len() == 1
                && errs[0].key == "disabled_rules"
                && errs[0].message.contains("CRS tag"),
            "{errs:?}"
        );
    }

    /// Issue 15: the same out-of-range value the config file refuses
    /// (`config::tests::the_file_refuses_the_thresholds_the_api_refuses`).
    #[test]
    fn the_api_refuses_the_thresholds_the_file_refuses() {
        let engine = Engine::builtin();
        let doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        for (t, ok) in [
            (i64::from(u32::MAX), false),
            (i64::from(u32::MAX) + 1, false),
            (-1, false),
            (10_001, false),
            (0, false),
            (10_000, true),
        ] {
            let mut d = doc.clone();
            d.threshold = t;
            d.routes.push(RouteSpec {
                path: Some("/a/".into()),
                threshold: Some(t),
                ..RouteSpec::default()
            });
            match d.build(engine.policy(), &Throttle::default()) {
                Ok((p, _, _)) => assert!(ok && i64::from(p.threshold) == t, "{t} accepted"),
                Err(errs) => {
                    assert!(!ok, "{t} refused: {errs:?}");
                    let want = policy::threshold(t).unwrap_err();
                    let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
                    assert_eq!(keys, ["threshold", "routes[0].threshold"]);
                    assert!(errs.iter().all(|e| e.message == want), "{errs:?}");
                }
            }
        }
        let mut d = doc.clone();
        d.ip.allow = vec!["10.0.0.1".into(); policy::MAX_IP_ENTRIES + 1];
        let errs = d.build(engine.policy(), &Throttle::default()).unwrap_err();
        assert!(errs.len() == 1 && errs[0].key == "ip.allow", "{errs:?}");
    }

    /// Issue 17: the file's `[[routes]]` and the document's `routes` are one
    /// shape, checked by one function: the same routes get the same problems,
    /// key for key and word for word.
    #[test]
    fn the_file_and_the_api_refuse_the_same_routes_alike() {
        let routes = r#"
            [[routes]]
            path = "nope"
            mode = "loud"
            threshold = 4294967296
            paranoia = 256
            disabled_rules = ["x"]
            anomaly_mode = "sometimes"
            anomaly_threshold = 1.0
            [[routes]]
            paranoia = -1
        "#;
        let file = crate::config::FileConfig::parse(routes).unwrap();
        let from_file =
            crate::config::resolve(file, &std::collections::HashMap::new(), &Default::default())
                .unwrap_err()
                .0;
        let engine = Engine::builtin();
        let mut doc = PolicyDoc::of(&engine, &IpLists::default(), &Throttle::default());
        let toml: toml::Value = toml::from_str(routes).unwrap();
        doc.routes = toml["routes"].clone().try_into().unwrap();
        let from_api = doc
            .build(engine.policy(), &Throttle::default())
            .unwrap_err();
        assert_eq!(from_file, from_api);
        assert_eq!(from_api.len(), 9, "{from_api:?}");
        assert_eq!(from_api[7].key, "routes[1].path");
        // The JSON decoder takes any whole number, so the bounds answer.
        let json = serde_json::json!({"mode": "block", "paranoia": 256, "threshold": -1});
        let doc: PolicyDoc = serde_json::from_value(json).unwrap();
        let errs = doc
            .build(engine.policy(), &Throttle::default())
            .unwrap_err();
        assert_eq!(
            errs,
            [
                ConfigError {
                    key: "paranoia".into(),
                    message: policy::paranoia(256).unwrap_err(),
                },
                ConfigError {
                    key: "threshold".into(),
                    message: policy::threshold(-1).unwrap_err(),
                },
            ]
        );
    }
}
