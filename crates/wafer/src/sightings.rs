//! Which applications the traffic shows are behind Wafer, so that their
//! profiles can be proposed (`GET /api/apps`). Each profile's fingerprint
//! (path prefixes, cookie-name patterns) is checked against every inspected
//! request: a few prefix comparisons, one counter per profile, no request
//! kept, so memory is fixed whatever the traffic.
//!
//! A count is a hint for the operator, never a switch: enabling a profile is
//! an explicit policy change, because a profile's fingerprint is easy to
//! fake and its exclusions are what an attacker would like turned on.

use std::sync::atomic::{AtomicU64, Ordering};

use wafer_engine::apps;
use wafer_engine::policy::cookie_matches;

/// Requests matching a profile's fingerprint before it is proposed.
pub(crate) const PROPOSE_AFTER: u64 = 20;

struct Seen {
    name: &'static str,
    paths: &'static [String],
    cookies: &'static [String],
    requests: AtomicU64,
}

/// One counter per embedded profile.
pub struct Sightings {
    apps: Vec<Seen>,
}

impl Default for Sightings {
    fn default() -> Self {
        let apps = apps::builtin()
            .unwrap_or_default()
            .iter()
            .map(|p| Seen {
                name: &p.name,
                paths: &p.fingerprint.paths,
                cookies: &p.fingerprint.cookies,
                requests: AtomicU64::new(0),
            })
            .collect();
        Sightings { apps }
    }
}

impl Sightings {
    /// Counts one request (its raw path, and the names of its cookies) for
    /// every profile whose fingerprint it matches.
    pub fn observe(&self, path: &str, headers: &http::HeaderMap) {
        // The names are read once, and only when some profile needs them.
        let mut names: Option<Vec<&str>> = None;
        for a in &self.apps {
            let by_path = a.paths.iter().any(|p| path.starts_with(p.as_str()));
            let by_cookie = !by_path
                && !a.cookies.is_empty()
                && names
                    .get_or_insert_with(|| {
                        headers
                            .get_all(http::header::COOKIE)
                            .iter()
                            .filter_map(|v| v.to_str().ok())
                            .flat_map(cookie_names)
                            .take(64)
                            .collect()
                    })
                    .iter()
                    .any(|n| a.cookies.iter().any(|c| cookie_matches(c, n)));
            if by_path || by_cookie {
                a.requests.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Requests seen per profile name.
    pub fn counts(&self) -> Vec<(&'static str, u64)> {
        self.apps
            .iter()
            .map(|a| (a.name, a.requests.load(Ordering::Relaxed)))
            .collect()
    }
}

/// The names in a `Cookie` header (at most 64: a header with more says nothing more).
fn cookie_names(header: &str) -> impl Iterator<Item = &str> {
    header
        .split(';')
        .take(64)
        .filter_map(|c| c.split('=').next())
        .map(str::trim)
        .filter(|n| !n.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(s: &Sightings, name: &str) -> u64 {
        s.counts().iter().find(|(n, _)| *n == name).unwrap().1
    }

    fn cookies(c: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        if !c.is_empty() {
            h.insert(http::header::COOKIE, c.parse().unwrap());
        }
        h
    }

    #[test]
    fn paths_and_cookies_count_once_per_request() {
        let s = Sightings::default();
        s.observe("/wp-admin/post.php", &cookies(""));
        s.observe("/", &cookies("wordpress_logged_in_abc=1; x=2"));
        s.observe(
            "/wp-json/wp/v2/posts",
            &cookies("wordpress_logged_in_abc=1"),
        );
        s.observe("/lab/tree", &cookies("_xsrf=2|x"));
        s.observe("/about", &cookies("session=1; SESSION=2"));
        assert_eq!(count(&s, "wordpress"), 3);
        assert_eq!(count(&s, "jupyterlab"), 1);
        assert_eq!(count(&s, "grafana"), 0);
        assert_eq!(count(&s, "drupal"), 0);
        s.observe("/", &cookies("enwikiUserID=3"));
        assert_eq!(count(&s, "mediawiki"), 1, "a cookie glob");
        // Hostile headers cost little and count nothing.
        s.observe("/", &cookies(&";;;===;".repeat(10_000)));
        assert_eq!(s.counts().iter().map(|(_, n)| n).sum::<u64>(), 5);
    }
}
