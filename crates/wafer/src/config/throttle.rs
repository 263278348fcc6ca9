//! Rate limits and ban settings as the config file (`[[rate_limits]]`,
//! `[bans]`, and the same keys in a `[[sites]]`) and the admin API's policy
//! document write them: one shape, checked by one function each, so a value
//! one refuses the other refuses too, with the same words.

use serde::{Deserialize, Serialize};

use super::Problems;
use crate::guard::bans::{BanPolicy, MAX_WITHIN_SECS};
use crate::guard::limit::{Limit, LimitKey};

/// Most rate limits one site has: each applying one is a check (in Redis, a
/// round trip) on every request.
pub const MAX_RATE_LIMITS: usize = 100;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSpec {
    /// Default: `limit` and its position (`limit0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Prefix or glob, as in routes; every path when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// `ip` (default), `header:NAME` or `cookie:NAME`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `100/s`, `600/m`, `5000/h`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    /// Requests allowed at once (default: the rate's N).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

impl RateLimitSpec {
    /// The spec that gives `l` back (every field spelt out).
    pub fn of(l: &Limit) -> RateLimitSpec {
        RateLimitSpec {
            name: Some(l.name.clone()),
            path: l.path.as_ref().map(|p| p.as_str().to_owned()),
            key: Some(l.key.to_string()),
            rate: Some(l.rate.clone()),
            burst: Some(l.burst),
        }
    }
}

/// `[bans]`: blocked requests that earn a temporary ban. An absent key keeps
/// the value it is written over (the defaults, or the file's for a site).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BansSpec {
    /// Blocked requests that earn a ban (0: no automatic bans).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u64>,
}

impl BansSpec {
    pub fn of(b: &BanPolicy) -> BansSpec {
        BansSpec {
            after: Some(b.after),
            within_secs: Some(b.within_ms / 1000),
            minutes: Some(b.duration_ms / 60_000),
        }
    }
}

/// Rate limits at `at` (`rate_limits`, `sites[0].rate_limits`).
pub fn rate_limits(p: &mut Problems, at: &str, specs: &[RateLimitSpec]) -> Vec<Limit> {
    if specs.len() > MAX_RATE_LIMITS {
        p.fail(
            at,
            format!(
                "{} limits: at most {MAX_RATE_LIMITS} (each is a check on every request)",
                specs.len()
            ),
        );
        return Vec::new();
    }
    let mut out: Vec<Limit> = Vec::new();
    for (i, l) in specs.iter().enumerate() {
        let key = |k: &str| format!("{at}[{i}].{k}");
        let name = l.name.clone().unwrap_or_else(|| format!("limit{i}"));
        if out.iter().any(|o| o.name == name) {
            // One name is one set of counters: two limits would share them.
            p.fail(key("name"), format!("{name:?} names two limits"));
            continue;
        }
        let path = l
            .path
            .as_deref()
            .and_then(|v| p.ok(&key("path"), wafer_engine::PathPattern::parse(v)));
        let by = p.ok(
            &key("key"),
            l.key.as_deref().unwrap_or("ip").parse::<LimitKey>(),
        );
        let Some(rate) = &l.rate else {
            p.fail(key("rate"), "missing (like 100/s, 600/m)");
            continue;
        };
        if let Some(by) = by
            && let Some(limit) = p.ok(&key("rate"), Limit::new(&name, path, by, rate, l.burst))
        {
            out.push(limit);
        }
    }
    out
}

/// Ban settings at `at` (`bans`, `sites[0].bans`), over `base`.
pub fn bans(p: &mut Problems, at: &str, base: BanPolicy, f: &BansSpec) -> BanPolicy {
    let mut b = base;
    if let Some(n) = f.after {
        b.after = n;
    }
    match f.within_secs {
        Some(s) if (1..=MAX_WITHIN_SECS).contains(&s) => b.within_ms = s * 1000,
        Some(_) => p.fail(
            format!("{at}.within_secs"),
            format!("1 to {MAX_WITHIN_SECS}"),
        ),
        None => {}
    }
    match f.minutes {
        Some(m) if (1..=43_200).contains(&m) => b.duration_ms = m * 60_000,
        Some(_) => p.fail(format!("{at}.minutes"), "1 to 43200 (30 days)"),
        None => {}
    }
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_bans_round_trip_through_their_specs() {
        let p = &mut Problems::default();
        let specs = vec![
            RateLimitSpec {
                name: Some("api".into()),
                path: Some("/api/".into()),
                key: Some("header:X-Api-Key".into()),
                rate: Some("600/m".into()),
                burst: Some(20),
            },
            RateLimitSpec {
                rate: Some("5/s".into()),
                ..RateLimitSpec::default()
            },
        ];
        let limits = rate_limits(p, "rate_limits", &specs);
        let again: Vec<RateLimitSpec> = limits.iter().map(RateLimitSpec::of).collect();
        assert_eq!(again[0].key.as_deref(), Some("header:x-api-key"));
        assert_eq!(again[1].name.as_deref(), Some("limit1"));
        assert_eq!(again[1].burst, Some(5));
        let twice = rate_limits(p, "rate_limits", &again);
        assert_eq!(
            twice.iter().map(RateLimitSpec::of).collect::<Vec<_>>(),
            again
        );
        let b = bans(
            p,
            "bans",
            BanPolicy::default(),
            &BansSpec {
                after: Some(4),
                minutes: Some(30),
                ..BansSpec::default()
            },
        );
        assert_eq!(
            (b.after, b.within_ms, b.duration_ms),
            (4, 60_000, 1_800_000)
        );
        assert_eq!(bans(p, "bans", BanPolicy::default(), &BansSpec::of(&b)), b);
        assert!(std::mem::take(p).into_result(()).is_ok());
    }

    #[test]
    fn every_bad_field_is_named_under_its_place() {
        let p = &mut Problems::default();
        let dup = RateLimitSpec {
            name: Some("a".into()),
            rate: Some("1/s".into()),
            ..RateLimitSpec::default()
        };
        let specs = vec![
            dup.clone(),
            dup,
            RateLimitSpec {
                key: Some("query:x".into()),
                ..RateLimitSpec::default()
            },
        ];
        rate_limits(p, "sites[1].rate_limits", &specs);
        bans(
            p,
            "sites[1].bans",
            BanPolicy::default(),
            &BansSpec {
                within_secs: Some(0),
                minutes: Some(50_000),
                ..BansSpec::default()
            },
        );
        let many = vec![specs[0].clone(); MAX_RATE_LIMITS + 1];
        rate_limits(p, "rate_limits", &many);
        let errs = std::mem::take(p).into_result(()).unwrap_err();
        let keys: Vec<&str> = errs.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "sites[1].rate_limits[1].name",
                "sites[1].rate_limits[2].key",
                "sites[1].rate_limits[2].rate",
                "sites[1].bans.within_secs",
                "sites[1].bans.minutes",
                "rate_limits",
            ]
        );
    }
}
