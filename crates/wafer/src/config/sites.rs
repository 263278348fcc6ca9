//! `[[sites]]`: the sites one Wafer fronts. Each names its host names, its
//! upstream and, optionally, its own policy: a key a site sets replaces the
//! file's (`mode`, `paranoia`, `threshold`, `disabled_rules`,
//! `allowed_methods`, `apps`, `routes`), and its `ip.allow` / `ip.block`
//! add to the file's lists (a network blocked everywhere stays blocked).
//!
//! Host names are exact (`shop.example`) or wildcards (`*.shop.example`: any
//! name under it, at any depth, not `shop.example` itself). An exact name wins
//! over a wildcard, and the longest wildcard over a shorter one, as in nginx.
//! A request for a name no site has goes to `default_site`, or, with the
//! file's top-level `upstream` also given, to that upstream (an implicit site
//! named `default`); with neither it is answered 421.

use serde::Deserialize;
use wafer_engine::Policy;

use super::policy::{self, RouteSpec};
use super::{Problems, sections};
use crate::guard::IpLists;
use crate::proxy::pool::{Balance, Ejection, HealthCheck, Pool, Server};

pub use crate::proxy::sites::{HostPattern, IMPLICIT_DEFAULT};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSite {
    pub name: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    pub upstream: Option<String>,
    pub mode: Option<String>,
    pub paranoia: Option<i64>,
    pub threshold: Option<i64>,
    pub disabled_rules: Option<Vec<String>>,
    pub allowed_methods: Option<Vec<String>>,
    pub apps: Option<Vec<String>>,
    pub routes: Option<Vec<RouteSpec>>,
    #[serde(default)]
    pub ip: FileSiteIp,
    /// PEM files: the certificate chain for this site's names, and its key.
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
    /// A DER OCSP response to staple to `tls_cert` (kept fresh by you).
    pub tls_ocsp: Option<String>,
    /// The certificate from the `[acme]` CA instead of `tls_cert`.
    #[serde(default)]
    pub acme: bool,
    /// Answer plain HTTP with a redirect (308) to HTTPS.
    #[serde(default)]
    pub https_redirect: bool,
    /// `Strict-Transport-Security` on HTTPS responses: `max-age=N`, and
    /// optionally `includeSubDomains` and `preload`.
    pub hsts: Option<String>,
    /// Several upstream servers instead of one `upstream`.
    pub servers: Option<Vec<FileServer>>,
    /// `round_robin` (default), `least_connections`, `hash_client`, `hash_header:NAME`.
    pub balance: Option<String>,
    /// Connect failures or 5xx answers in a row that take a server out (0: never).
    pub eject_after: Option<u32>,
    pub eject_secs: Option<u64>,
    pub health_check: Option<FileHealthCheck>,
    /// For `https://` servers: a PEM file of the roots to verify them with
    /// (instead of the system's), and the name to ask for and verify
    /// (instead of the URL's host).
    pub upstream_ca: Option<String>,
    pub upstream_sni: Option<String>,
    /// This site's rate limits instead of the file's (`[]`: none).
    pub rate_limits: Option<Vec<super::throttle::RateLimitSpec>>,
    /// Over the file's `[bans]`, key by key.
    #[serde(default)]
    pub bans: super::throttle::BansSpec,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileServer {
    pub url: String,
    pub weight: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileHealthCheck {
    pub path: Option<String>,
    pub interval_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub fall: Option<u32>,
    pub rise: Option<u32>,
}

/// `[tls]`: the HTTPS listener, and the certificate for names no site's covers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTls {
    pub listen: Option<String>,
    pub cert: Option<String>,
    pub key: Option<String>,
    pub ocsp: Option<String>,
}

/// A certificate chain and its key (PEM files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
    /// A DER OCSP response stapled to the certificate while it is good.
    pub ocsp: Option<std::path::PathBuf>,
}

/// The HTTPS listener.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsConfig {
    pub listen: std::net::SocketAddr,
    /// For names no site's certificate covers, and clients that name none.
    pub default_cert: Option<CertFiles>,
}

/// A `cert` and `key` pair at `at` (`tls`, `sites[0].tls_`): both or neither.
fn cert_pair(
    p: &mut Problems,
    at: &str,
    cert: Option<String>,
    key: Option<String>,
    ocsp: Option<String>,
) -> Option<CertFiles> {
    if ocsp.is_some() && cert.is_none() {
        p.fail(
            format!("{at}ocsp"),
            "an OCSP response is stapled to a certificate: give its cert and key",
        );
    }
    match (cert, key) {
        (Some(cert), Some(key)) => Some(CertFiles {
            cert: cert.into(),
            key: key.into(),
            ocsp: ocsp.map(Into::into),
        }),
        (None, None) => None,
        (Some(_), None) => {
            p.fail(format!("{at}key"), "a certificate needs its key");
            None
        }
        (None, Some(_)) => {
            p.fail(format!("{at}cert"), "a key needs its certificate");
            None
        }
    }
}

/// `[tls]`, checked against the sites' certificates: a listener needs a
/// certificate, and a certificate needs a listener.
pub(super) fn tls(p: &mut Problems, f: FileTls, sites: &Sites) -> Option<TlsConfig> {
    let default_cert = cert_pair(p, "tls.", f.cert, f.key, f.ocsp);
    let site_certs = sites.sites.iter().any(|s| s.tls.is_some() || s.acme);
    let Some(listen) = f.listen else {
        if sites.sites.iter().any(|s| s.acme) {
            p.fail(
                "tls.listen",
                "a site has acme = true: its certificate needs an address to serve HTTPS on",
            );
        } else if default_cert.is_some() || site_certs {
            p.fail(
                "tls.listen",
                "certificates are given, but no address to serve HTTPS on",
            );
        }
        for (i, s) in sites.sites.iter().enumerate() {
            if s.https_redirect || s.hsts.is_some() {
                p.fail(
                    format!("sites[{i}]"),
                    format!(
                        "site {:?} redirects to HTTPS or sends HSTS, but [tls] has no listen address",
                        s.name
                    ),
                );
            }
        }
        return None;
    };
    let listen = p.ok(
        "tls.listen",
        listen
            .parse::<std::net::SocketAddr>()
            .map_err(|_| format!("expected HOST:PORT like 0.0.0.0:443, not {listen:?}")),
    )?;
    if default_cert.is_none() && !site_certs {
        p.fail(
            "tls.cert",
            "an HTTPS listener needs a certificate (here, or a site's tls_cert)",
        );
    }
    Some(TlsConfig {
        listen,
        default_cert,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSiteIp {
    #[serde(default)]
    pub allow: Vec<String>,
    #[serde(default)]
    pub block: Vec<String>,
}

/// One site, validated; its policy is whole (the file's with the site's keys over it).
#[derive(Clone, Debug)]
pub struct SiteConfig {
    pub name: String,
    pub hosts: Vec<HostPattern>,
    pub upstream: http::Uri,
    pub policy: Policy,
    pub ip_lists: IpLists,
    pub throttle: crate::guard::Throttle,
    /// The certificate for this site's names (HTTPS).
    pub tls: Option<CertFiles>,
    /// The certificate comes from the `[acme]` CA (and `tls` is `None`).
    pub acme: bool,
    pub https_redirect: bool,
    pub hsts: Option<String>,
    /// With weights; empty: `upstream` alone.
    pub servers: Vec<(http::Uri, u32)>,
    pub balance: Balance,
    pub ejection: Ejection,
    pub health: Option<HealthCheck>,
    /// How `https://` servers are verified.
    pub upstream_tls: crate::proxy::upstream_tls::UpstreamTlsFiles,
}

impl SiteConfig {
    /// A site for `hosts` with one upstream and `policy`: no lists of its
    /// own, no TLS, round robin, the default ejection, no health check.
    pub fn new(
        name: &str,
        hosts: Vec<HostPattern>,
        upstream: http::Uri,
        policy: Policy,
    ) -> SiteConfig {
        SiteConfig {
            name: name.to_owned(),
            hosts,
            upstream,
            policy,
            ip_lists: IpLists::default(),
            throttle: Default::default(),
            tls: None,
            acme: false,
            https_redirect: false,
            hsts: None,
            servers: Vec::new(),
            balance: Balance::RoundRobin,
            ejection: Ejection::default(),
            health: None,
            upstream_tls: Default::default(),
        }
    }

    /// The site's pool of servers (`upstream` alone when `servers` is empty).
    pub fn pool(&self) -> Pool {
        let servers = if self.servers.is_empty() {
            vec![Server::new(self.upstream.clone(), 1)]
        } else {
            self.servers
                .iter()
                .map(|(u, w)| Server::new(u.clone(), *w))
                .collect()
        };
        Pool::new(servers, self.balance.clone(), self.ejection)
    }
}

/// The sites, and where requests for other names go.
#[derive(Clone, Debug, Default)]
pub struct Sites {
    pub sites: Vec<SiteConfig>,
    /// The site that takes names no site lists (`None`: they are answered 421).
    pub default: Option<String>,
}

/// `[[sites]]` and `default_site`, over the file's policy and lists. With
/// `upstream` (the top-level one) given too, it becomes the implicit site
/// `default` for every other name.
pub(super) fn sites(
    p: &mut Problems,
    files: Vec<FileSite>,
    default_site: Option<String>,
    file: &super::Config,
) -> Sites {
    let upstream = file.upstream.as_ref();
    if files.is_empty() {
        if default_site.is_some() {
            p.fail("default_site", "names a site, but no [[sites]] are listed");
        }
        return Sites::default();
    }
    let mut out = Sites::default();
    // Each host name's first site (by position, so that a bad site's names still count).
    let mut seen_hosts: std::collections::HashMap<HostPattern, usize> = Default::default();
    // Sites without host names, by position: they must be the default.
    let mut hostless = Vec::new();
    for (i, mut f) in files.into_iter().enumerate() {
        let at = format!("sites[{i}]");
        let hosts: Vec<HostPattern> = std::mem::take(&mut f.hosts)
            .iter()
            .filter_map(|h| p.ok(&format!("{at}.hosts"), HostPattern::parse(h)))
            .collect();
        for h in &hosts {
            if let Some(other) = seen_hosts.insert(h.clone(), i) {
                p.fail(
                    format!("{at}.hosts"),
                    format!("{} is also a host of sites[{other}]", h.as_text()),
                );
            }
        }
        if let Some(site) = site(p, &at, f, hosts, file) {
            if out.sites.iter().any(|s| s.name == site.name) {
                p.fail(
                    format!("{at}.name"),
                    format!("{:?} names two sites", site.name),
                );
            }
            if site.hosts.is_empty() {
                hostless.push((i, site.name.clone()));
            }
            out.sites.push(site);
        }
    }
    match (default_site, upstream) {
        (Some(_), Some(_)) => p.fail(
            "default_site",
            "give either default_site or a top-level upstream (which becomes the site \"default\"), not both",
        ),
        (Some(name), None) => {
            if out.sites.iter().any(|s| s.name == name) {
                out.default = Some(name);
            } else {
                p.fail("default_site", format!("no site is named {name:?}"));
            }
        }
        (None, Some(uri)) => {
            if out.sites.iter().any(|s| s.name == IMPLICIT_DEFAULT) {
                p.fail(
                    "upstream",
                    "a site is named \"default\": the top-level upstream would be a second one; name it default_site instead",
                );
            } else {
                out.sites.push(SiteConfig {
                    ip_lists: file.ip_lists.clone(),
                    throttle: file.throttle.clone(),
                    ..SiteConfig::new(
                        IMPLICIT_DEFAULT,
                        Vec::new(),
                        uri.clone(),
                        file.engine.policy.clone(),
                    )
                });
                out.default = Some(IMPLICIT_DEFAULT.to_owned());
            }
        }
        (None, None) => {}
    }
    for (i, name) in hostless {
        if out.default.as_deref() != Some(name.as_str()) {
            p.fail(
                format!("sites[{i}].hosts"),
                "no host names: list some, or make it the default_site",
            );
        }
    }
    out
}

/// One site: the file's policy, lists, rate limits and bans (`file`) with the site's keys over them.
fn site(
    p: &mut Problems,
    at: &str,
    f: FileSite,
    hosts: Vec<HostPattern>,
    file: &super::Config,
) -> Option<SiteConfig> {
    let (base, base_lists) = (&file.engine.policy, &file.ip_lists);
    let key = |k: &str| format!("{at}.{k}");
    let name = match f.name {
        Some(n) if valid_name(&n) => Some(n),
        Some(n) => {
            p.fail(
                key("name"),
                format!("{n:?}: use 1 to 64 letters, digits, `-`, `_` or `.`"),
            );
            None
        }
        None => {
            p.fail(key("name"), "missing");
            None
        }
    };
    let servers: Vec<(http::Uri, u32)> = f
        .servers
        .iter()
        .flatten()
        .enumerate()
        .filter_map(|(i, s)| {
            let at = key(&format!("servers[{i}]"));
            let weight = s.weight.unwrap_or(1);
            if !(1..=100).contains(&weight) {
                p.fail(format!("{at}.weight"), "must be 1 to 100");
            }
            let uri = p.ok(&format!("{at}.url"), sections::parse_upstream(&s.url))?;
            Some((uri, weight.clamp(1, 100)))
        })
        .collect();
    let upstream = match (f.upstream, &f.servers) {
        (Some(_), Some(_)) => {
            p.fail(key("servers"), "give upstream or servers, not both");
            None
        }
        (Some(u), None) => p.ok(&key("upstream"), sections::parse_upstream(&u)),
        (None, Some(list)) if list.is_empty() => {
            p.fail(key("servers"), "list at least one server");
            None
        }
        (None, Some(_)) => servers.first().map(|(u, _)| u.clone()),
        (None, None) => {
            p.fail(key("upstream"), "missing (or list servers)");
            None
        }
    };
    let balance = match f.balance.as_deref() {
        None | Some("round_robin") => Balance::RoundRobin,
        Some("least_connections") => Balance::LeastConnections,
        Some("hash_client") => Balance::HashClient,
        Some(v) => match v
            .strip_prefix("hash_header:")
            .map(|h| http::HeaderName::from_bytes(h.trim().as_bytes()))
        {
            Some(Ok(name)) => Balance::HashHeader(name),
            _ => {
                p.fail(
                    key("balance"),
                    format!("{v:?}: expected round_robin, least_connections, hash_client or hash_header:NAME"),
                );
                Balance::RoundRobin
            }
        },
    };
    let defaults = Ejection::default();
    let ejection = Ejection {
        after: f.eject_after.unwrap_or(defaults.after),
        for_ms: f
            .eject_secs
            .map_or(defaults.for_ms, |s| s.saturating_mul(1000)),
    };
    let health = f
        .health_check
        .and_then(|h| health_check(p, &key("health_check"), h));
    let mut policy = base.clone();
    if let Some(m) = f
        .mode
        .as_deref()
        .and_then(|m| policy::mode(p, &key("mode"), m))
    {
        policy.mode = m;
    }
    if let Some(n) = f
        .paranoia
        .and_then(|v| p.ok(&key("paranoia"), policy::paranoia(v)))
    {
        policy.paranoia = n;
    }
    if let Some(n) = f
        .threshold
        .and_then(|v| p.ok(&key("threshold"), policy::threshold(v)))
    {
        policy.threshold = n;
    }
    if let Some(rules) = &f.disabled_rules {
        policy.disabled_rules = policy::rule_ranges(p, &key("disabled_rules"), rules);
    }
    if let Some(methods) = f.allowed_methods {
        policy.allowed_methods = sections::allowed_methods(p, &key("allowed_methods"), methods);
    }
    if let Some(apps) = &f.apps {
        policy.apps = policy::apps(p, &key("apps"), apps);
    }
    if let Some(routes) = &f.routes {
        policy.routes = policy::routes_at(p, &key("routes"), routes);
    }
    let mut ip_lists = base_lists.clone();
    ip_lists
        .allow
        .extend(policy::nets(p, &key("ip.allow"), &f.ip.allow));
    ip_lists
        .block
        .extend(policy::nets(p, &key("ip.block"), &f.ip.block));
    policy::lengths(p, &policy, &ip_lists, &key("disabled_rules"));
    let throttle = crate::guard::Throttle {
        rate_limits: match &f.rate_limits {
            Some(specs) => super::throttle::rate_limits(p, &key("rate_limits"), specs),
            None => file.throttle.rate_limits.clone(),
        },
        bans: super::throttle::bans(p, &key("bans"), file.throttle.bans, &f.bans),
    };
    let tls = cert_pair(p, &key("tls_"), f.tls_cert, f.tls_key, f.tls_ocsp);
    if tls.is_some() && hosts.is_empty() {
        p.fail(
            key("tls_cert"),
            "a site without host names has no names to serve it for: use [tls] cert",
        );
    }
    if f.acme {
        acme_names(p, &key, tls.is_some(), &hosts);
    }
    let hsts = f.hsts.and_then(|v| p.ok(&key("hsts"), hsts_value(&v)));
    let upstream_tls = upstream_tls(
        p,
        &key,
        f.upstream_ca,
        f.upstream_sni,
        upstream.as_ref(),
        &servers,
    );
    Some(SiteConfig {
        name: name?,
        hosts,
        upstream: upstream?,
        policy,
        ip_lists,
        throttle,
        tls,
        acme: f.acme,
        https_redirect: f.https_redirect,
        hsts,
        servers,
        balance,
        ejection,
        health,
        upstream_tls,
    })
}

/// `upstream_ca` and `upstream_sni`: for a site with `https://` servers only.
fn upstream_tls(
    p: &mut Problems,
    key: &dyn Fn(&str) -> String,
    ca: Option<String>,
    sni: Option<String>,
    upstream: Option<&http::Uri>,
    servers: &[(http::Uri, u32)],
) -> crate::proxy::upstream_tls::UpstreamTlsFiles {
    let https = upstream
        .into_iter()
        .chain(servers.iter().map(|(u, _)| u))
        .any(|u| u.scheme_str() == Some("https"));
    let at = if ca.is_some() {
        "upstream_ca"
    } else {
        "upstream_sni"
    };
    if (ca.is_some() || sni.is_some()) && !https {
        p.fail(key(at), "only for a site with https:// servers");
    }
    if let Some(n) = &sni
        && rustls_pki_types::ServerName::try_from(n.as_str()).is_err()
    {
        p.fail(key("upstream_sni"), format!("{n:?} is not a host name"));
    }
    crate::proxy::upstream_tls::UpstreamTlsFiles {
        ca: ca.map(Into::into),
        sni,
    }
}

/// A site whose certificate comes from ACME: names the CA can check over
/// HTTP-01, which proves one name at a time (no wildcards).
fn acme_names(
    p: &mut Problems,
    key: &dyn Fn(&str) -> String,
    has_cert: bool,
    hosts: &[HostPattern],
) {
    if has_cert {
        p.fail(key("acme"), "either tls_cert and tls_key, or acme = true");
    }
    if hosts.is_empty() {
        p.fail(key("acme"), "a certificate needs the site's host names");
    }
    for h in hosts {
        match h {
            HostPattern::Under(_) => p.fail(
                key("acme"),
                format!(
                    "{}: HTTP-01 cannot prove a wildcard name; give its certificate with tls_cert",
                    h.as_text()
                ),
            ),
            HostPattern::Exact(name) if name.parse::<std::net::IpAddr>().is_ok() || !name.contains('.') => p.fail(
                key("acme"),
                format!("{name}: a CA issues for public domain names, not addresses or single labels"),
            ),
            HostPattern::Exact(_) => {}
        }
    }
}

fn health_check(p: &mut Problems, at: &str, h: FileHealthCheck) -> Option<HealthCheck> {
    let path = h.path.unwrap_or_else(|| "/".to_owned());
    if !path.starts_with('/') || path.bytes().any(|b| b <= b' ' || b == 0x7f) {
        p.fail(
            format!("{at}.path"),
            format!("{path:?}: a path starting with /"),
        );
        return None;
    }
    let mut secs = |k: &str, v: Option<u64>, default: u64| match v.unwrap_or(default) {
        0 => {
            p.fail(format!("{at}.{k}"), "must be at least 1");
            None
        }
        n => Some(std::time::Duration::from_secs(n.min(3600))),
    };
    let interval = secs("interval_secs", h.interval_secs, 5);
    let timeout = secs("timeout_secs", h.timeout_secs, 2);
    Some(HealthCheck {
        path,
        interval: interval?,
        timeout: timeout?,
        fall: h.fall.unwrap_or(3).max(1),
        rise: h.rise.unwrap_or(2).max(1),
    })
}

/// `max-age=SECONDS[; includeSubDomains][; preload]` (RFC 6797 §6.1), as written.
fn hsts_value(v: &str) -> Result<String, String> {
    let mut parts = v.split(';').map(str::trim);
    let age_ok = parts
        .next()
        .and_then(|p| p.strip_prefix("max-age="))
        .is_some_and(|n| !n.is_empty() && n.len() <= 10 && n.bytes().all(|b| b.is_ascii_digit()));
    let rest_ok = parts
        .all(|p| p.eq_ignore_ascii_case("includeSubDomains") || p.eq_ignore_ascii_case("preload"));
    if age_ok && rest_ok {
        Ok(v.trim().to_owned())
    } else {
        Err(format!(
            "{v:?}: expected max-age=SECONDS, optionally followed by ; includeSubDomains and ; preload"
        ))
    }
}

fn valid_name(n: &str) -> bool {
    (1..=64).contains(&n.len())
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}
