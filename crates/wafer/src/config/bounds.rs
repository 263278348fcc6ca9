//! The policy's bounds, in one place. The config file (`resolve`) and the
//! admin API (`admin::policy`) both check through these functions, so a value
//! one of them refuses the other refuses too, with the same words.

use wafer_engine::Policy;

use crate::guard::IpLists;

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

/// Every list in the policy that is longer than its bound, as (key, message).
pub fn lists(p: &Policy, ip: &IpLists) -> Vec<(String, String)> {
    let mut errs = Vec::new();
    let mut check = |key: String, len: usize, max: usize| {
        if len > max {
            errs.push((key, format!("{len} entries, at most {max}")));
        }
    };
    check("routes".into(), p.routes.len(), MAX_ROUTES);
    check("exclusions".into(), p.exclusions.len(), MAX_EXCLUSIONS);
    check(
        "disabled_rules".into(),
        p.disabled_rules.len(),
        MAX_RULE_RANGES,
    );
    for (i, r) in p.routes.iter().enumerate() {
        check(
            format!("routes[{i}].disabled_rules"),
            r.disabled_rules.len(),
            MAX_RULE_RANGES,
        );
    }
    for (i, e) in p.exclusions.iter().enumerate() {
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
    errs
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
        let errs = lists(&Policy::default(), &ip);
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].0, "ip.block");
    }
}
