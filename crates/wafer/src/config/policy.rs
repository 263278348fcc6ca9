//! The policy's vocabulary: mode, paranoia, thresholds, routes, exclusions,
//! rule ranges, profiles and IP lists, each parsed and bounded by one function
//! here. The config file (`resolve`) and the admin API (`admin::policy`) both
//! go through them, so a value one refuses the other refuses too, with the
//! same words, under the same key wherever the two documents name it alike
//! (`routes[0].threshold`; `inspection.threshold` in the file is `threshold`
//! in the API's document).

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use wafer_engine::{ArgPattern, Exclusion, Mode, PathPattern, Policy, Route, RuleRange};

use super::Problems;
use crate::guard::{IpLists, parse_net};

/// Highest anomaly-score threshold: far above any real score (a request that
/// trips every built-in rule scores in the hundreds), low enough that a
/// threshold still means something.
pub const THRESHOLD_MAX: u32 = 10_000;
/// Most route overrides, exclusions, and rule ranges in any one list: the
/// policy is checked per request, and a longer list is a mistake, not a policy.
pub const MAX_ROUTES: usize = 1_000;
pub const MAX_EXCLUSIONS: usize = 1_000;
pub const MAX_RULE_RANGES: usize = 1_000;
/// Most argument patterns one exclusion names (each is matched per finding).
pub const MAX_EXCLUSION_ARGS: usize = 100;
/// Most entries in the policy's own allow or block list (bulk feeds belong in
/// `ip.allow_files` / `ip.block_files`, which are not part of the policy).
pub const MAX_IP_ENTRIES: usize = 10_000;

/// An anomaly-score threshold: a whole number from 1 to [`THRESHOLD_MAX`].
pub fn threshold(v: i64) -> Result<u32, String> {
    match u32::try_from(v) {
        Ok(t) if (1..=THRESHOLD_MAX).contains(&t) => Ok(t),
        _ => Err(format!(
            "threshold must be a whole number from 1 to {THRESHOLD_MAX}, not {v}"
        )),
    }
}

/// A paranoia level: 1 to 4.
pub fn paranoia(v: i64) -> Result<u8, String> {
    match u8::try_from(v) {
        Ok(p @ 1..=4) => Ok(p),
        _ => Err(format!("paranoia must be 1, 2, 3 or 4, not {v}")),
    }
}

/// The anomaly model's threshold: a score strictly between 0 and 1.
pub fn anomaly_threshold(t: f64) -> Result<f64, String> {
    if t > 0.0 && t < 1.0 {
        Ok(t)
    } else {
        Err(format!(
            "an anomaly threshold is a score between 0 and 1, not {t}"
        ))
    }
}

/// A threshold as flags and environment variables give it: text.
pub fn threshold_text(v: &str) -> Result<u32, String> {
    match v.trim().parse::<i64>() {
        Ok(t) => threshold(t),
        Err(_) => threshold(0).map_err(|e| format!("{e} ({v:?})")),
    }
}

/// A paranoia level as flags and environment variables give it: text.
pub fn paranoia_text(v: &str) -> Result<u8, String> {
    match v.trim().parse::<i64>() {
        Ok(p) => paranoia(p),
        Err(_) => Err(format!("paranoia must be 1, 2, 3 or 4, not {v:?}")),
    }
}

pub fn mode(p: &mut Problems, key: &str, v: &str) -> Option<Mode> {
    p.ok(key, v.parse::<Mode>())
}

/// Rule ids and ranges (`942100`, `942000-942999`); each bad one named.
pub fn rule_ranges(p: &mut Problems, key: &str, v: &[String]) -> Vec<RuleRange> {
    v.iter()
        .filter_map(|r| p.ok(key, r.parse::<RuleRange>()))
        .collect()
}

/// Addresses and networks; each bad one named.
pub fn nets(p: &mut Problems, key: &str, v: &[String]) -> Vec<IpNet> {
    v.iter().filter_map(|n| p.ok(key, parse_net(n))).collect()
}

/// The policy's own allow and block lists (`ip.allow`, `ip.block`).
pub fn ip_lists(p: &mut Problems, allow: &[String], block: &[String]) -> IpLists {
    IpLists {
        allow: nets(p, "ip.allow", allow),
        block: nets(p, "ip.block", block),
    }
}

/// Known application profiles, each once, in the order given; an unknown one
/// is an error that lists the known.
pub fn apps(p: &mut Problems, key: &str, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        match wafer_engine::apps::find(n) {
            Ok(_) if !out.contains(n) => out.push(n.clone()),
            Ok(_) => {}
            Err(e) => p.fail(key, e),
        }
    }
    out
}

/// A rule exclusion as the policy document and suggestions write it.
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

/// A route override: `[[routes]]` in the file, `routes` in the admin API's
/// document; one shape, so both take and refuse the same.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSpec {
    /// Required; optional here so that a missing one is named with the rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paranoia: Option<i64>,
    #[serde(default)]
    pub disabled_rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anomaly_threshold: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspect_websocket: Option<bool>,
}

impl RouteSpec {
    pub fn of(r: &Route) -> RouteSpec {
        RouteSpec {
            path: Some(r.path.as_str().to_owned()),
            mode: r.mode.map(|m| m.to_string()),
            threshold: r.threshold.map(i64::from),
            paranoia: r.paranoia.map(i64::from),
            disabled_rules: r.disabled_rules.iter().map(|r| String::from(*r)).collect(),
            anomaly_mode: r.anomaly_mode.map(|m| m.to_string()),
            anomaly_threshold: r.anomaly_threshold,
            inspect_websocket: r.inspect_websocket,
        }
    }
}

/// Every route, keyed `routes[i].FIELD`; a route whose path is bad is left out
/// (and named).
pub fn routes(p: &mut Problems, specs: &[RouteSpec]) -> Vec<Route> {
    routes_at(p, "routes", specs)
}

/// As [`routes`], keyed `AT[i].FIELD` (`sites[0].routes[1].path`).
pub fn routes_at(p: &mut Problems, at: &str, specs: &[RouteSpec]) -> Vec<Route> {
    specs
        .iter()
        .enumerate()
        .filter_map(|(i, r)| route(p, &format!("{at}[{i}]"), r))
        .collect()
}

fn route(p: &mut Problems, at: &str, r: &RouteSpec) -> Option<Route> {
    let key = |k: &str| format!("{at}.{k}");
    let path = match &r.path {
        Some(v) => p.ok(&key("path"), PathPattern::parse(v)),
        None => {
            p.fail(key("path"), "missing");
            None
        }
    };
    let route_mode = r.mode.as_deref().and_then(|m| mode(p, &key("mode"), m));
    let route_threshold = r
        .threshold
        .and_then(|t| p.ok(&key("threshold"), threshold(t)));
    let route_paranoia = r.paranoia.and_then(|v| p.ok(&key("paranoia"), paranoia(v)));
    let disabled_rules = rule_ranges(p, &key("disabled_rules"), &r.disabled_rules);
    let anomaly_mode = r
        .anomaly_mode
        .as_deref()
        .and_then(|m| mode(p, &key("anomaly_mode"), m));
    let route_anomaly_threshold = r
        .anomaly_threshold
        .and_then(|t| p.ok(&key("anomaly_threshold"), anomaly_threshold(t)));
    Some(Route {
        path: path?,
        mode: route_mode,
        threshold: route_threshold,
        paranoia: route_paranoia,
        disabled_rules,
        anomaly_mode,
        anomaly_threshold: route_anomaly_threshold,
        inspect_websocket: r.inspect_websocket,
    })
}

/// A rule exclusion (`exclusions[i]` in the admin API's document): rules `rules`
/// do not count on `path`, or only in `args` when some are named.
pub fn exclusion(
    p: &mut Problems,
    at: &str,
    path: &str,
    rules: &[String],
    args: &[String],
) -> Option<Exclusion> {
    let path = p.ok(&format!("{at}.path"), PathPattern::parse(path));
    if rules.is_empty() {
        p.fail(format!("{at}.rules"), "name at least one rule");
    }
    let rules = rule_ranges(p, &format!("{at}.rules"), rules);
    let args: Vec<ArgPattern> = args
        .iter()
        .filter_map(|a| p.ok(&format!("{at}.args"), a.parse::<ArgPattern>()))
        .collect();
    let mut ex = Exclusion::new(path?, rules);
    ex.args = args;
    Some(ex)
}

/// Every list in the policy that is longer than its bound; the policy's own
/// disabled rules are named `disabled_rules_key` (`inspection.disabled_rules`
/// in the file).
pub fn lengths(p: &mut Problems, policy: &Policy, ip: &IpLists, disabled_rules_key: &str) {
    let mut check = |key: String, len: usize, max: usize| {
        if len > max {
            p.fail(key, format!("{len} entries, at most {max}"));
        }
    };
    check("routes".into(), policy.routes.len(), MAX_ROUTES);
    check("exclusions".into(), policy.exclusions.len(), MAX_EXCLUSIONS);
    check(
        disabled_rules_key.into(),
        policy.disabled_rules.len(),
        MAX_RULE_RANGES,
    );
    for (i, r) in policy.routes.iter().enumerate() {
        check(
            format!("routes[{i}].disabled_rules"),
            r.disabled_rules.len(),
            MAX_RULE_RANGES,
        );
    }
    for (i, e) in policy.exclusions.iter().enumerate() {
        check(
            format!("exclusions[{i}].rules"),
            e.rules.len(),
            MAX_RULE_RANGES,
        );
        check(
            format!("exclusions[{i}].args"),
            e.args.len(),
            MAX_EXCLUSION_ARGS,
        );
    }
    check("ip.allow".into(), ip.allow.len(), MAX_IP_ENTRIES);
    check("ip.block".into(), ip.block.len(), MAX_IP_ENTRIES);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_refuse_what_is_out_of_range() {
        assert_eq!(threshold(1), Ok(1));
        assert_eq!(threshold(10_000), Ok(10_000));
        for bad in [0, -1, 10_001, 4_294_967_295, i64::MAX] {
            assert!(threshold(bad).is_err(), "{bad}");
        }
        assert_eq!(paranoia(4), Ok(4));
        for bad in [0, 5, 256, -4] {
            assert!(paranoia(bad).is_err(), "{bad}");
        }
        for bad in [0.0, 1.0, -0.5, f64::NAN, f64::INFINITY] {
            assert!(anomaly_threshold(bad).is_err(), "{bad}");
        }
        let ip = IpLists {
            block: vec!["10.0.0.1/32".parse().unwrap(); MAX_IP_ENTRIES + 1],
            ..IpLists::default()
        };
        let mut p = Problems::default();
        lengths(&mut p, &Policy::default(), &ip, "disabled_rules");
        let errs = p.into_result(()).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].key, "ip.block");
    }
}
