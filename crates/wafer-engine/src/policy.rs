//! Decision policy: mode, paranoia, anomaly threshold, per-route overrides and
//! rule exclusions. Turns findings into a [`Verdict`](crate::Verdict).

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::request::{Location, Part};

/// What Wafer does with a request whose score reaches the threshold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Answer 403; the upstream never sees the request.
    #[default]
    Block,
    /// Forward it, and record that it would have been blocked.
    Detect,
    /// Do not inspect at all.
    Off,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "block" => Ok(Mode::Block),
            "detect" => Ok(Mode::Detect),
            "off" => Ok(Mode::Off),
            _ => Err(format!("expected block, detect or off, not {s:?}")),
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mode::Block => "block",
            Mode::Detect => "detect",
            Mode::Off => "off",
        })
    }
}

/// An inclusive range of rule ids (`942100` or `942100-942199`), or a CRS
/// tag (`attack-sqli`, `paranoia-level/2`): the rules a disabled list or an
/// exclusion names. A range also reaches the Wafer rules mapped to CRS ids
/// in it, a tag the rules that carry it (see `crs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RuleRange {
    pub lo: u32,
    pub hi: u32,
    /// Set: the range is this tag (and `lo`, `hi` are unused).
    pub tag: Option<crate::crs::CrsTag>,
}

impl RuleRange {
    /// The ids from `lo` to `hi`.
    pub fn ids(lo: u32, hi: u32) -> RuleRange {
        RuleRange { lo, hi, tag: None }
    }

    /// Whether the range holds the id itself (a tag holds no id).
    pub fn contains(&self, id: u32) -> bool {
        self.tag.is_none() && (self.lo..=self.hi).contains(&id)
    }

    /// Whether it names `rule`: by its id, one of the CRS ids it is mapped
    /// to, or a tag it carries (a rule of no known class carries none).
    pub fn covers(&self, rule: &RuleKey<'_>) -> bool {
        match self.tag {
            Some(tag) => rule.class.is_some_and(|c| tag.matches(c, rule.paranoia)),
            None => self.contains(rule.id) || rule.crs.iter().any(|c| self.contains(*c)),
        }
    }
}

impl FromStr for RuleRange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "expected a rule id, a range like 1000-1999, or a CRS tag such as attack-sqli, not {s:?}"
            )
        };
        if s.trim().starts_with(|c: char| c.is_ascii_alphabetic()) {
            let tag = crate::crs::CrsTag::parse(s).ok_or_else(bad)?;
            return Ok(RuleRange {
                lo: 0,
                hi: 0,
                tag: Some(tag),
            });
        }
        let (lo, hi) = match s.split_once('-') {
            Some((a, b)) => (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            ),
            None => {
                let v = s.trim().parse().map_err(|_| bad())?;
                (v, v)
            }
        };
        if lo > hi {
            return Err(bad());
        }
        Ok(RuleRange::ids(lo, hi))
    }
}

impl TryFrom<String> for RuleRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<RuleRange> for String {
    fn from(r: RuleRange) -> String {
        if let Some(tag) = r.tag {
            tag.name().to_owned()
        } else if r.lo == r.hi {
            r.lo.to_string()
        } else {
            format!("{}-{}", r.lo, r.hi)
        }
    }
}

/// Which paths a route override applies to: a prefix (`/api/`) or, when the
/// pattern has `*` or `?`, a glob over the whole path (`/api/*/upload`, `*.php`).
#[derive(Clone, Debug)]
pub struct PathPattern {
    source: String,
    glob: Option<Regex>,
}

impl PathPattern {
    pub fn parse(s: &str) -> Result<Self, String> {
        if !s.starts_with('/') && !s.starts_with('*') {
            return Err(format!("route path must start with / or *, not {s:?}"));
        }
        let glob = if s.contains(['*', '?']) {
            // A leading `*` may cross `/`: `*.php` means any path ending in `.php`.
            let mut re = String::from(if s.starts_with('*') { "^.*" } else { "^" });
            let mut chars = s.trim_start_matches('*').chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '*' if chars.peek() == Some(&'*') => {
                        chars.next();
                        re.push_str(".*");
                    }
                    '*' => re.push_str("[^/]*"),
                    '?' => re.push_str("[^/]"),
                    c => re.push_str(&regex::escape(&c.to_string())),
                }
            }
            re.push('$');
            Some(Regex::new(&re).map_err(|e| format!("route path {s:?}: {e}"))?)
        } else {
            None
        };
        Ok(PathPattern {
            source: s.to_owned(),
            glob,
        })
    }

    pub fn matches(&self, path: &str) -> bool {
        match &self.glob {
            Some(re) => re.is_match(path),
            None => path.starts_with(&self.source),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

/// Settings for the requests whose path matches `path`. Unset fields inherit.
#[derive(Clone, Debug)]
pub struct Route {
    pub path: PathPattern,
    pub mode: Option<Mode>,
    pub threshold: Option<u32>,
    pub paranoia: Option<u8>,
    pub disabled_rules: Vec<RuleRange>,
    /// What the anomaly model's verdict does on this route.
    pub anomaly_mode: Option<Mode>,
    /// Anomaly score (0 to 1) over which a request counts as anomalous here.
    pub anomaly_threshold: Option<f64>,
    /// Whether the messages of WebSocket connections opened here are inspected.
    pub inspect_websocket: Option<bool>,
}

/// The anomaly model's part in the decision: its own contribution, with its
/// own threshold, next to the signatures' points.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AnomalyPolicy {
    /// `detect` (the default: flag, never block), `block`, or `off` (not scored).
    pub mode: Mode,
    /// Overrides the model's own threshold (chosen at training for a target false-positive rate).
    pub threshold: Option<f64>,
}

impl Default for AnomalyPolicy {
    fn default() -> Self {
        AnomalyPolicy {
            mode: Mode::Detect,
            threshold: None,
        }
    }
}

/// The rule id anomaly findings carry, so that exclusions and rule filters treat them like any rule.
pub const ANOMALY_RULE: u32 = 1900;

/// The whole decision policy.
#[derive(Clone, Debug)]
pub struct Policy {
    pub mode: Mode,
    /// 1 (default, quiet on real traffic) to 4 (strict).
    pub paranoia: u8,
    /// Anomaly score at which a request is blocked (CRS default: 5, one critical finding).
    pub threshold: u32,
    pub disabled_rules: Vec<RuleRange>,
    /// Checked in order; the first matching route applies.
    pub routes: Vec<Route>,
    /// Methods that are not a protocol finding (uppercase).
    pub allowed_methods: Vec<String>,
    /// Rules switched off on some paths: every matching exclusion applies, whichever route does.
    pub exclusions: Vec<Exclusion>,
    /// Application profiles in force (names of `apps/*.toml`, see [`crate::apps`]).
    pub apps: Vec<String>,
    /// The exclusions compiled from `apps` against the engine's rule table: filled
    /// by [`Engine::build`](crate::Engine::build) and
    /// [`Engine::with_policy`](crate::Engine::with_policy), not by hand. Kept
    /// apart from `exclusions` so that the admin API's document lists only the
    /// operator's own, and a policy edit cannot drop or duplicate a profile's.
    pub app_exclusions: Vec<Exclusion>,
    pub anomaly: AnomalyPolicy,
    /// Whether the client's WebSocket messages are inspected (default true;
    /// routes may say otherwise). The upgrade request itself always is.
    pub inspect_websocket: bool,
}

/// "Rule R does not count on path P" (optionally: in argument A, for requests
/// carrying cookie C): how a false positive is tuned away without touching
/// the rest of the site.
#[derive(Clone, Debug)]
pub struct Exclusion {
    pub path: PathPattern,
    pub rules: Vec<RuleRange>,
    /// Where in the request the rules do not count; empty: anywhere.
    pub args: Vec<ArgPattern>,
    /// Name prefixes of cookies the request must all carry for the exclusion
    /// to apply (an application's session cookie); empty: every request. A
    /// pattern with `*` is a glob over the whole name instead (`*UserID`, for
    /// applications whose cookie names start with a per-site prefix).
    pub when_cookies: Vec<String>,
    /// Header names (lowercase) the request must all carry, with a non-empty
    /// value, for the exclusion to apply: the CSRF or nonce header an
    /// application itself demands on the endpoint (`x-wp-nonce`). A WebSocket
    /// message has no headers of its own: such an exclusion never applies to one.
    pub when_headers: Vec<String>,
}

impl Exclusion {
    /// Rules off on a path, everywhere in the request, for every request.
    pub fn new(path: PathPattern, rules: Vec<RuleRange>) -> Self {
        Exclusion {
            path,
            rules,
            args: Vec::new(),
            when_cookies: Vec::new(),
            when_headers: Vec::new(),
        }
    }

    fn applies_to(&self, path: &str, facts: &Facts<'_>) -> bool {
        self.path.matches(path)
            && self.when_cookies.iter().all(|c| (facts.has_cookie)(c))
            && self.when_headers.iter().all(|h| (facts.has_header)(h))
    }
}

/// What an exclusion's conditions ask of a request besides its path.
struct Facts<'a> {
    /// Whether a cookie matches this `when_cookies` pattern.
    has_cookie: &'a dyn Fn(&str) -> bool,
    /// Whether a header of this (lowercase) name is present and non-empty.
    has_header: &'a dyn Fn(&str) -> bool,
}

/// Whether a cookie named `name` satisfies a `when_cookies` pattern: a name
/// prefix, or with `*` a glob over the whole name.
pub fn cookie_matches(pattern: &str, name: &str) -> bool {
    if pattern.contains('*') {
        glob_matches(pattern.as_bytes(), name.as_bytes())
    } else {
        name.starts_with(pattern)
    }
}

/// A rule as the policy judges it: its id, class and paranoia level, and
/// the CRS rules it is mapped to.
#[derive(Clone, Copy, Debug)]
pub struct RuleKey<'a> {
    pub id: u32,
    /// `None`: a rule no tag names (tests, and callers that know only the id).
    pub class: Option<crate::finding::Class>,
    pub paranoia: u8,
    pub crs: &'a [u32],
}

impl RuleKey<'_> {
    pub fn bare(id: u32, paranoia: u8) -> RuleKey<'static> {
        RuleKey {
            id,
            class: None,
            paranoia,
            crs: &[],
        }
    }
}

/// Whether `rules` name `rule` (see [`RuleRange::covers`]).
fn covers(rules: &[RuleRange], rule: &RuleKey<'_>) -> bool {
    rules.iter().any(|r| r.covers(rule))
}

/// Which values an exclusion covers: an argument name (`content`, a JSON path
/// such as `cells.*.source`, where `*` stands for any run of characters), or
/// `cookie:NAME` / `header:NAME` (header names lowercase).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ArgPattern {
    source: String,
}

impl ArgPattern {
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether a finding at `loc` is in the values this pattern names.
    pub fn matches(&self, loc: &Location) -> bool {
        let Some(name) = loc.name.as_deref() else {
            return false;
        };
        let (parts, pattern): (&[Part], &str) = if let Some(n) = self.source.strip_prefix("cookie:")
        {
            (&[Part::Cookie, Part::CookieName], n)
        } else if let Some(n) = self.source.strip_prefix("header:") {
            (&[Part::Header], n)
        } else {
            (
                &[
                    Part::QueryArg,
                    Part::QueryArgName,
                    Part::BodyArg,
                    Part::BodyArgName,
                    Part::Filename,
                ],
                &self.source,
            )
        };
        parts.contains(&loc.part) && glob_matches(pattern.as_bytes(), name.as_bytes())
    }
}

impl FromStr for ArgPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let name = s
            .strip_prefix("cookie:")
            .or_else(|| s.strip_prefix("header:"))
            .unwrap_or(s);
        if name.is_empty() || name.len() > 256 {
            return Err(format!(
                "an argument pattern is a name of 1 to 256 characters, not {s:?}"
            ));
        }
        Ok(ArgPattern {
            source: s.to_owned(),
        })
    }
}

impl TryFrom<String> for ArgPattern {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<ArgPattern> for String {
    fn from(a: ArgPattern) -> String {
        a.source
    }
}

/// `*` matches any run of bytes (dots included); everything else matches
/// itself. Iterative with one backtrack point, so linear-ish and never
/// exponential however many stars a pattern has.
fn glob_matches(pattern: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, n));
            p += 1;
        } else if p < pattern.len() && pattern[p] == name[n] {
            p += 1;
            n += 1;
        } else if let Some((sp, sn)) = star {
            p = sp + 1;
            n = sn + 1;
            star = Some((sp, sn + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Block,
            paranoia: 1,
            threshold: 5,
            disabled_rules: Vec::new(),
            routes: Vec::new(),
            allowed_methods: ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
                .into_iter()
                .map(String::from)
                .collect(),
            exclusions: Vec::new(),
            apps: Vec::new(),
            app_exclusions: Vec::new(),
            anomaly: AnomalyPolicy::default(),
            inspect_websocket: true,
        }
    }
}

/// The settings in force for one request, after route overrides.
#[derive(Clone, Debug, PartialEq)]
pub struct Effective<'p> {
    pub mode: Mode,
    pub paranoia: u8,
    pub threshold: u32,
    /// Never stronger than `mode`: a route in detect never blocks on the model either.
    pub anomaly_mode: Mode,
    pub anomaly_threshold: Option<f64>,
    /// The route that matched, if any (its path pattern).
    pub route: Option<&'p str>,
    /// Whether WebSocket messages are inspected (always false when `mode` is off).
    pub inspect_websocket: bool,
    route_disabled: &'p [RuleRange],
    global_disabled: &'p [RuleRange],
    /// The exclusions whose path (and cookie condition) matched.
    /// Each as (rules, arguments).
    excluded: Vec<(&'p [RuleRange], &'p [ArgPattern])>,
}

impl Effective<'_> {
    pub fn score_over(&self, score: u32) -> bool {
        score >= self.threshold
    }

    /// Whether a rule at this paranoia level and id counts for this request
    /// (exclusions limited to some arguments aside: see [`Self::rule_active_at`]).
    pub fn rule_active(&self, id: u32, paranoia: u8) -> bool {
        self.mapped_rule_active(RuleKey::bare(id, paranoia))
    }

    /// As [`Self::rule_active`], for a rule with its class and CRS mapping: a
    /// disabled range or an exclusion that names one of its CRS ids, or one
    /// of its CRS tags, reaches it too.
    pub fn mapped_rule_active(&self, rule: RuleKey<'_>) -> bool {
        rule.paranoia <= self.paranoia
            && !covers(self.global_disabled, &rule)
            && !covers(self.route_disabled, &rule)
            && !self
                .excluded
                .iter()
                .any(|(rules, args)| args.is_empty() && covers(rules, &rule))
    }

    /// Whether a rule's finding at `loc` counts: [`Self::rule_active`], and
    /// no exclusion for that rule names the argument.
    pub fn rule_active_at(&self, id: u32, paranoia: u8, loc: &Location) -> bool {
        self.mapped_rule_active_at(RuleKey::bare(id, paranoia), loc)
    }

    /// As [`Self::rule_active_at`], for a rule with its class and CRS mapping.
    pub fn mapped_rule_active_at(&self, rule: RuleKey<'_>, loc: &Location) -> bool {
        self.mapped_rule_active(rule)
            && !self
                .excluded
                .iter()
                .any(|(rules, args)| covers(rules, &rule) && args.iter().any(|a| a.matches(loc)))
    }
}

impl Policy {
    /// The settings for a request to `path` that carries no cookies.
    pub fn for_path(&self, path: &str) -> Effective<'_> {
        self.for_request(path, &|_| false)
    }

    /// The settings for a request to `path` whose head is `head` (cookies and
    /// headers decide which conditional exclusions apply).
    pub fn for_head(&self, path: &str, head: &crate::request::Request) -> Effective<'_> {
        let cookies: Vec<&str> = head
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("cookie"))
            .flat_map(|(_, v)| crate::view::cookies(v).map(|(k, _)| k))
            .collect();
        let has_cookie = |p: &str| cookies.iter().any(|c| cookie_matches(p, c));
        let has_header = |h: &str| {
            head.headers
                .iter()
                .any(|(n, v)| n.eq_ignore_ascii_case(h) && !v.trim().is_empty())
        };
        self.settle(
            path,
            &Facts {
                has_cookie: &has_cookie,
                has_header: &has_header,
            },
        )
    }

    /// The settings for a request to `path` that carries no headers but
    /// cookies (a WebSocket message: its upgrade request's); `has_cookie(p)`
    /// says whether it carries a cookie matching `when_cookies` pattern `p`
    /// (see [`cookie_matches`]). Exclusions that ask for a header never apply.
    pub fn for_request(&self, path: &str, has_cookie: &dyn Fn(&str) -> bool) -> Effective<'_> {
        self.settle(
            path,
            &Facts {
                has_cookie,
                has_header: &|_| false,
            },
        )
    }

    fn settle(&self, path: &str, facts: &Facts<'_>) -> Effective<'_> {
        let route = self.routes.iter().find(|r| r.path.matches(path));
        let mode = route.and_then(|r| r.mode).unwrap_or(self.mode);
        let anomaly_mode = route
            .and_then(|r| r.anomaly_mode)
            .unwrap_or(self.anomaly.mode);
        Effective {
            mode,
            anomaly_mode: weaker(mode, anomaly_mode),
            anomaly_threshold: route
                .and_then(|r| r.anomaly_threshold)
                .or(self.anomaly.threshold),
            paranoia: route.and_then(|r| r.paranoia).unwrap_or(self.paranoia),
            threshold: route.and_then(|r| r.threshold).unwrap_or(self.threshold),
            route: route.map(|r| r.path.as_str()),
            inspect_websocket: mode != Mode::Off
                && route
                    .and_then(|r| r.inspect_websocket)
                    .unwrap_or(self.inspect_websocket),
            route_disabled: route.map_or(&[][..], |r| &r.disabled_rules),
            global_disabled: &self.disabled_rules,
            excluded: self
                .exclusions
                .iter()
                .chain(&self.app_exclusions)
                .filter(|e| e.applies_to(path, facts))
                .map(|e| (e.rules.as_slice(), e.args.as_slice()))
                .collect(),
        }
    }
}

/// Off < detect < block.
fn weaker(a: Mode, b: Mode) -> Mode {
    let rank = |m| match m {
        Mode::Off => 0,
        Mode::Detect => 1,
        Mode::Block => 2,
    };
    if rank(a) <= rank(b) { a } else { b }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_anomaly_mode_never_outranks_the_route_mode() {
        let mut p = Policy::default();
        p.anomaly.mode = Mode::Block;
        p.routes.push(Route {
            path: PathPattern::parse("/quiet").unwrap(),
            mode: Some(Mode::Detect),
            threshold: None,
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: Some(0.9),
            inspect_websocket: None,
        });
        assert_eq!(p.for_path("/x").anomaly_mode, Mode::Block);
        assert_eq!(p.for_path("/x").anomaly_threshold, None);
        let q = p.for_path("/quiet/a");
        assert_eq!(
            (q.anomaly_mode, q.anomaly_threshold),
            (Mode::Detect, Some(0.9))
        );
        p.mode = Mode::Off;
        assert_eq!(p.for_path("/x").anomaly_mode, Mode::Off);
    }

    #[test]
    fn rule_ranges_parse_and_reject_nonsense() {
        assert_eq!("5".parse::<RuleRange>().unwrap(), RuleRange::ids(5, 5));
        assert!("100-200".parse::<RuleRange>().unwrap().contains(150));
        assert!("200-100".parse::<RuleRange>().is_err());
        assert!("abc".parse::<RuleRange>().is_err());
    }

    #[test]
    fn globs_and_prefixes() {
        let g = PathPattern::parse("/api/*/upload").unwrap();
        assert!(g.matches("/api/v1/upload"));
        assert!(!g.matches("/api/v1/x/upload"));
        assert!(
            PathPattern::parse("/static/**")
                .unwrap()
                .matches("/static/a/b.css")
        );
        assert!(PathPattern::parse("*.php").unwrap().matches("/x/index.php"));
        assert!(
            PathPattern::parse("/admin")
                .unwrap()
                .matches("/admin/users")
        );
        assert!(PathPattern::parse("admin").is_err());
    }

    #[test]
    fn first_matching_route_overrides() {
        let mut p = Policy::default();
        p.disabled_rules.push("9".parse().unwrap());
        p.routes.push(Route {
            path: PathPattern::parse("/upload").unwrap(),
            mode: Some(Mode::Detect),
            threshold: Some(20),
            paranoia: None,
            disabled_rules: vec!["100-199".parse().unwrap()],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: None,
        });
        let e = p.for_path("/upload/file");
        assert_eq!(
            (e.mode, e.threshold, e.route),
            (Mode::Detect, 20, Some("/upload"))
        );
        assert!(!e.rule_active(150, 1));
        assert!(!e.rule_active(9, 1));
        assert!(e.rule_active(200, 1));
        assert!(!e.rule_active(200, 2), "paranoia 2 rule at level 1");
        let d = p.for_path("/other");
        assert_eq!((d.mode, d.threshold, d.route), (Mode::Block, 5, None));
        assert!(d.rule_active(150, 1));
    }

    #[test]
    fn exclusions_apply_on_their_paths_whatever_the_route() {
        let mut p = Policy::default();
        p.routes.push(Route {
            path: PathPattern::parse("/").unwrap(),
            mode: None,
            threshold: Some(7),
            paranoia: None,
            disabled_rules: vec![],
            anomaly_mode: None,
            anomaly_threshold: None,
            inspect_websocket: None,
        });
        p.exclusions.push(Exclusion::new(
            PathPattern::parse("/search").unwrap(),
            vec!["942100".parse().unwrap()],
        ));
        let e = p.for_path("/search");
        assert_eq!(e.threshold, 7, "the route still applies");
        assert!(!e.rule_active(942100, 1));
        assert!(e.rule_active(942101, 1));
        assert!(p.for_path("/other").rule_active(942100, 1));
    }

    #[test]
    fn an_exclusion_may_name_arguments_and_a_session_cookie() {
        let mut p = Policy::default();
        let mut e = Exclusion::new(
            PathPattern::parse("/wp-json/").unwrap(),
            vec!["300000-399999".parse().unwrap()],
        );
        e.args = vec![
            "content".parse().unwrap(),
            "cells.*.source".parse().unwrap(),
        ];
        e.when_cookies = vec!["wordpress_logged_in_".into()];
        p.exclusions.push(e);
        let body = |n: &str| Location::new(Part::BodyArg, Some(n));
        let editor = p.for_request("/wp-json/wp/v2/posts", &|c| c == "wordpress_logged_in_");
        assert!(editor.rule_active(300041, 1), "not excluded request-wide");
        assert!(!editor.rule_active_at(300041, 1, &body("content")));
        assert!(!editor.rule_active_at(300041, 1, &body("cells.3.source")));
        assert!(editor.rule_active_at(300041, 1, &body("title")));
        assert!(editor.rule_active_at(200001, 1, &body("content")));
        assert!(
            editor.rule_active_at(300041, 1, &Location::new(Part::Header, Some("content"))),
            "a bare name means arguments, not headers"
        );
        let visitor = p.for_path("/wp-json/wp/v2/posts");
        assert!(visitor.rule_active_at(300041, 1, &body("content")));
    }

    #[test]
    fn an_exclusion_may_require_headers_and_cookie_globs() {
        use crate::request::Request;
        let mut p = Policy::default();
        let mut e = Exclusion::new(
            PathPattern::parse("/wp-json/").unwrap(),
            vec!["300000-399999".parse().unwrap()],
        );
        e.args = vec!["content".parse().unwrap()];
        e.when_cookies = vec!["wordpress_logged_in_".into()];
        e.when_headers = vec!["x-wp-nonce".into()];
        p.app_exclusions.push(e);
        let body = Location::new(Part::BodyArg, Some("content"));
        let req = |cookie: Option<&str>, nonce: Option<&str>| {
            let mut r = Request::new("POST", "/wp-json/wp/v2/posts");
            if let Some(c) = cookie {
                r = r.header("Cookie", c);
            }
            if let Some(n) = nonce {
                r = r.header("X-WP-Nonce", n);
            }
            r
        };
        let relaxed = |r: &Request| {
            !p.for_head("/wp-json/wp/v2/posts", r)
                .rule_active_at(300041, 1, &body)
        };
        let editor = "wp-settings-1=x; wordpress_logged_in_0f3a=admin%7C1";
        assert!(relaxed(&req(Some(editor), Some("5a1b2c3d4e"))));
        assert!(
            !relaxed(&req(Some(editor), None)),
            "cookie without the nonce"
        );
        assert!(
            !relaxed(&req(Some(editor), Some("  "))),
            "an empty nonce is no nonce"
        );
        assert!(
            !relaxed(&req(None, Some("5a1b2c3d4e"))),
            "nonce without the session"
        );
        assert!(
            !relaxed(&req(Some("xwordpress_logged_in_=1"), Some("n"))),
            "a prefix, not a substring"
        );
        // Cookie-only callers (WebSocket messages) never satisfy a header condition.
        assert!(
            p.for_request("/wp-json/x", &|_| true)
                .rule_active_at(300041, 1, &body)
        );

        assert!(cookie_matches("*UserID", "enwikiUserID"));
        assert!(!cookie_matches("*UserID", "enwikiUserName"));
        assert!(cookie_matches("SESS", "SESS1f2e") && !cookie_matches("SESS", "SSESS1f2e"));
    }

    #[test]
    fn argument_globs_match_whole_names() {
        let g = |p: &str, n: &str| glob_matches(p.as_bytes(), n.as_bytes());
        assert!(g("a.*.b", "a.1.b") && g("a.*.b", "a.1.2.b") && g("*", ""));
        assert!(!g("a.*.b", "a.1.bc") && !g("content", "contents") && !g("x*", "yx"));
        assert!(!g(&"*a".repeat(50), &"a".repeat(40)), "no blow-up");
        let a: ArgPattern = "cookie:sid".parse().unwrap();
        assert!(a.matches(&Location::new(Part::Cookie, Some("sid"))));
        assert!(!a.matches(&Location::new(Part::BodyArg, Some("sid"))));
        assert!("".parse::<ArgPattern>().is_err() && "header:".parse::<ArgPattern>().is_err());
    }
}
