//! Routing a request to its site by host name: the site decides the
//! protection (policy, rules, IP lists) and the upstream.
//!
//! The name routed on is the one the upstream will be sent ([`request_host`],
//! shared with `forward`): a request cannot be inspected under one site's
//! policy and handed to another site's application under another name.

use std::collections::HashMap;
use std::sync::Arc;

use http::{HeaderMap, Uri, Version, header};

use crate::protection::Live;

/// The name of the site that serves every host name when Wafer fronts one
/// application (and of the top-level `upstream`'s site beside `[[sites]]`).
pub const IMPLICIT_DEFAULT: &str = "default";

/// A host name pattern, lowercase, without a port or a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HostPattern {
    Exact(String),
    /// `*.shop.example`, held as `.shop.example`.
    Under(String),
}

impl HostPattern {
    pub fn parse(v: &str) -> Result<HostPattern, String> {
        let lower = v.trim_end_matches('.').to_ascii_lowercase();
        let (under, name) = match lower.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, lower.as_str()),
        };
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        let literal = name.starts_with('[') && name.ends_with(']') && name.len() > 2;
        let ok = name.len() <= 253
            && (literal
                && !under
                && name[1..name.len() - 1]
                    .parse::<std::net::Ipv6Addr>()
                    .is_ok()
                || name.split('.').all(label_ok));
        if !ok {
            return Err(format!(
                "{v:?} is not a host name (`shop.example`, `*.shop.example`, an address; no port)"
            ));
        }
        Ok(if under {
            HostPattern::Under(format!(".{name}"))
        } else {
            HostPattern::Exact(name.to_owned())
        })
    }

    pub fn as_text(&self) -> String {
        match self {
            HostPattern::Exact(n) => n.clone(),
            HostPattern::Under(s) => format!("*{s}"),
        }
    }
}

/// One site as the proxy holds it.
pub struct Site {
    pub name: Arc<str>,
    pub hosts: Vec<HostPattern>,
    /// The upstream servers and how one is chosen.
    pub pool: Arc<crate::proxy::pool::Pool>,
    /// This site's engine and lists; swapped whole on a policy change.
    pub protection: Arc<Live>,
    /// Plain HTTP requests are redirected (308) to HTTPS on this port.
    pub redirect_https: Option<u16>,
    /// `Strict-Transport-Security` for responses over HTTPS (never over plain HTTP: RFC 6797 §7.2).
    pub hsts: Option<http::HeaderValue>,
    /// Requests by decision; the proxy's traffic counters for this site's name.
    pub counters: Arc<crate::traffic::SiteCounters>,
}

impl Site {
    /// A site with one upstream server, served as it is: no redirect to
    /// HTTPS, no HSTS (set `pool`, `redirect_https` and `hsts` after).
    pub fn new(name: &str, hosts: Vec<HostPattern>, upstream: Uri, protection: Arc<Live>) -> Site {
        Site {
            name: Arc::from(name),
            hosts,
            pool: Arc::new(crate::proxy::pool::Pool::single(upstream)),
            protection,
            redirect_https: None,
            hsts: None,
            counters: Arc::default(),
        }
    }
}

/// Every site, and the lookup from host name to site.
pub struct Sites {
    sites: Vec<Site>,
    exact: HashMap<String, usize>,
    /// `".shop.example"` → site: a name's suffixes are looked up from the
    /// longest, so the most specific wildcard wins, in one lookup per label.
    under: HashMap<String, usize>,
    default: Option<usize>,
}

/// Why sites cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum SitesError {
    #[error("no sites")]
    Empty,
    #[error("no site is named {0:?}")]
    UnknownDefault(String),
}

impl Sites {
    /// `default` takes every name no site lists; without one those are refused.
    pub fn new(sites: Vec<Site>, default: Option<&str>) -> Result<Sites, SitesError> {
        if sites.is_empty() {
            return Err(SitesError::Empty);
        }
        let default = match default {
            Some(name) => Some(
                sites
                    .iter()
                    .position(|s| &*s.name == name)
                    .ok_or_else(|| SitesError::UnknownDefault(name.to_owned()))?,
            ),
            None => None,
        };
        let mut exact = HashMap::new();
        let mut under = HashMap::new();
        for (i, s) in sites.iter().enumerate() {
            for h in &s.hosts {
                match h {
                    // The first site to list a name keeps it (the config refuses duplicates).
                    HostPattern::Exact(n) => {
                        exact.entry(n.clone()).or_insert(i);
                    }
                    HostPattern::Under(suffix) => {
                        under.entry(suffix.clone()).or_insert(i);
                    }
                }
            }
        }
        Ok(Sites {
            sites,
            exact,
            under,
            default,
        })
    }

    /// One site for every host name: Wafer in front of one application.
    pub fn single(upstream: Uri, protection: Arc<Live>) -> Sites {
        let site = Site::new(IMPLICIT_DEFAULT, Vec::new(), upstream, protection);
        Sites::new(vec![site], Some(IMPLICIT_DEFAULT)).expect("one site, named as the default")
    }

    /// The site the admin API edits when none is named: the default site,
    /// else the first (there is always one: `new` refuses none).
    pub fn primary(&self) -> &Site {
        &self.sites[self.default.unwrap_or(0)]
    }

    /// The site that takes names no site lists, if any.
    pub fn default_index(&self) -> Option<usize> {
        self.default
    }

    pub fn iter(&self) -> impl Iterator<Item = &Site> {
        self.sites.iter()
    }

    /// Each site counts in `traffic`'s counters for its name (kept across reloads).
    pub fn count_in(&mut self, traffic: &crate::traffic::Traffic) {
        for s in &mut self.sites {
            s.counters = traffic.site(&s.name);
        }
    }

    pub fn get(&self, i: usize) -> &Site {
        &self.sites[i]
    }

    /// The site for `host` (`Host` or `:authority`, as sent: any case, a port,
    /// a trailing dot), or the default site; `None` when neither.
    pub fn route(&self, host: Option<&[u8]>) -> Option<usize> {
        host.and_then(|h| self.lookup(&name_of(h))).or(self.default)
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        if let Some(&i) = self.exact.get(name) {
            return Some(i);
        }
        // `a.b.shop.example`: `.b.shop.example`, then `.shop.example`, then `.example`.
        name.match_indices('.')
            .filter(|&(at, _)| at > 0)
            .find_map(|(at, _)| self.under.get(&name[at..]).copied())
    }
}

/// The host name of a `Host` value: lowercase, without the port and a
/// trailing dot; an IPv6 literal keeps its brackets.
fn name_of(host: &[u8]) -> String {
    let host = String::from_utf8_lossy(host);
    let name = if host.starts_with('[') {
        host.find(']').map_or(&*host, |end| &host[..=end])
    } else {
        host.rsplit_once(':').map_or(&*host, |(name, _)| name)
    };
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// The host the request names, as the upstream will get it: HTTP/2's
/// `:authority` wins over a `host` header (RFC 9113 §8.3.1), HTTP/1's `Host`
/// over an absolute-form target's authority (Wafer forwards origin-form with
/// that `Host`).
pub(crate) fn request_host<'a>(
    version: Version,
    uri: &'a Uri,
    headers: &'a HeaderMap,
) -> Option<&'a [u8]> {
    let authority = uri.authority().map(|a| a.as_str().as_bytes());
    let host = headers.get(header::HOST).map(|h| h.as_bytes());
    match version {
        Version::HTTP_2 | Version::HTTP_3 => authority.or(host),
        _ => host.or(authority),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(name: &str, hosts: &[&str]) -> Site {
        Site::new(
            name,
            hosts
                .iter()
                .map(|h| HostPattern::parse(h).unwrap())
                .collect(),
            "http://127.0.0.1:1".parse().unwrap(),
            Arc::new(Live::new(
                wafer_engine::Engine::builtin(),
                crate::guard::IpLists::default(),
            )),
        )
    }

    #[test]
    fn exact_names_win_then_the_longest_wildcard_then_the_default() {
        let sites = Sites::new(
            vec![
                site("shop", &["shop.example", "*.shop.example"]),
                site("api", &["api.shop.example"]),
                site("deep", &["*.eu.shop.example"]),
                site("fallback", &[]),
            ],
            Some("fallback"),
        )
        .unwrap();
        let name = |h: &str| &*sites.get(sites.route(Some(h.as_bytes())).unwrap()).name;
        assert_eq!(name("shop.example"), "shop");
        assert_eq!(name("SHOP.Example.:8443"), "shop");
        assert_eq!(name("www.shop.example"), "shop");
        assert_eq!(name("api.shop.example:80"), "api");
        assert_eq!(name("x.api.shop.example"), "shop");
        assert_eq!(name("a.eu.shop.example"), "deep");
        assert_eq!(name("eu.shop.example"), "shop");
        // A name that merely ends like a site's is not under it.
        assert_eq!(name("evilshop.example"), "fallback");
        assert_eq!(name("[::1]:8080"), "fallback");
        assert_eq!(&*sites.get(sites.route(None).unwrap()).name, "fallback");
    }

    #[test]
    fn without_a_default_other_names_have_no_site() {
        let sites = Sites::new(vec![site("shop", &["shop.example"])], None).unwrap();
        assert_eq!(sites.route(Some(b"shop.example")), Some(0));
        assert_eq!(sites.route(Some(b"other.example")), None);
        assert_eq!(sites.route(Some(b"")), None);
        assert_eq!(sites.route(None), None);
        // Bytes that are not a name route nowhere, and never panic.
        assert_eq!(sites.route(Some(b"\xff\xfe:")), None);
        assert_eq!(sites.route(Some(b"[::1")), None);
    }

    #[test]
    fn the_routed_name_is_the_one_forwarded() {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "b.example".parse().unwrap());
        let abs: Uri = "http://a.example/x".parse().unwrap();
        assert_eq!(
            request_host(Version::HTTP_11, &abs, &h),
            Some(&b"b.example"[..])
        );
        assert_eq!(
            request_host(Version::HTTP_2, &abs, &h),
            Some(&b"a.example"[..])
        );
        let origin: Uri = "/x".parse().unwrap();
        assert_eq!(
            request_host(Version::HTTP_2, &origin, &h),
            Some(&b"b.example"[..])
        );
        assert_eq!(
            request_host(Version::HTTP_10, &origin, &HeaderMap::new()),
            None
        );
    }
}
