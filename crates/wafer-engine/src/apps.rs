//! Application profiles: what a known web application's own users send that
//! looks like an attack, and where. A WordPress editor publishes SQL and shell
//! code blocks and embeds scripts; a JupyterLab user saves notebooks full of
//! Python and runs it over the kernel WebSocket; a Grafana admin saves raw SQL
//! in a dashboard. A profile names those fields, per application, and relaxes
//! only the attack classes each field needs, only for a logged-in user.
//!
//! Profiles are data, `apps/*.toml`, embedded at build time. One file:
//!
//! ```toml
//! name = "wordpress"                    # = the file name; what `[inspection] apps` lists
//! title = "WordPress"
//! about = "..."
//! # Cookie-name patterns that mark a logged-in user: one set of them must all
//! # be present (a prefix, or a glob with `*` over the whole name).
//! sessions = [["wordpress_logged_in_"]]
//!
//! [fingerprint]                         # how traffic gives the application away
//! paths = ["/wp-admin/", "/wp-json/"]   # path prefixes
//! cookies = ["wordpress_logged_in_"]    # cookie-name patterns
//!
//! [[authoring]]                         # where users write content
//! about = "block editor saves a post"
//! paths = ["/wp-json/wp/v2/posts"]      # prefixes or globs, as in routes
//! args = ["content", "excerpt"]         # argument names, JSON paths, `*` globs
//! classes = ["sqli", "xss", "rce"]      # what the field may legitimately hold
//! headers = ["x-wp-nonce"]              # headers the application demands there
//!
//! [[settings]]                          # settings pages: same shape
//! [[websocket]]                         # WebSocket channels carrying code: args `ws.*.…`
//! [[self_url]]                          # same-site redirect targets: classes ssrf/rfi only
//! ```
//!
//! Each entry compiles into one [`Exclusion`] per path and per session set:
//! the classes become id ranges of the engine's own rule table (so a new rule
//! of a class is covered without editing profiles), limited to the named
//! arguments, and conditioned on the session cookies and the headers.
//!
//! What the loader refuses, so that no profile can widen the door:
//! - an `authoring`, `settings` or `websocket` entry of a profile without
//!   `sessions` (every such relaxation needs a logged-in user);
//! - a relaxation of the classes no field needs relaxed: protocol, scanner,
//!   session, generic, policy, anomaly;
//! - an entry without `args` (never a whole request), an argument that is
//!   only `*`, or a `cookie:`/`header:` argument;
//! - a `self_url` entry relaxing anything but `ssrf` and `rfi` (it applies to
//!   anonymous visitors too: a login page's `redirect_to` is sent before login);
//! - a `websocket` entry with headers (a browser cannot add headers to an
//!   upgrade; the engine never applies such a condition to a message) or with
//!   arguments not under `ws.`;
//! - a whole-site path (`/`, `*`, `/**`).

use std::sync::OnceLock;

use serde::Deserialize;

use crate::finding::Class;
use crate::policy::{ArgPattern, Exclusion, PathPattern, RuleRange};

/// The embedded profiles, by file name.
const BUILTIN: &[(&str, &str)] = &[
    ("wordpress.toml", include_str!("../apps/wordpress.toml")),
    ("drupal.toml", include_str!("../apps/drupal.toml")),
    ("joomla.toml", include_str!("../apps/joomla.toml")),
    ("nextcloud.toml", include_str!("../apps/nextcloud.toml")),
    ("mediawiki.toml", include_str!("../apps/mediawiki.toml")),
    ("jupyterlab.toml", include_str!("../apps/jupyterlab.toml")),
    ("phpmyadmin.toml", include_str!("../apps/phpmyadmin.toml")),
    ("grafana.toml", include_str!("../apps/grafana.toml")),
];

/// Classes no profile relaxes: what no legitimate field needs, and what
/// catches tools and malformed requests whoever sends them.
pub const NEVER_RELAXED: &[Class] = &[
    Class::Protocol,
    Class::Scanner,
    Class::Session,
    Class::Generic,
    Class::Policy,
    Class::Anomaly,
];

/// One application's profile, as parsed and checked.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub title: String,
    #[serde(default)]
    pub about: String,
    /// Sets of cookie-name patterns; a request with every pattern of one set
    /// is a logged-in user's.
    #[serde(default)]
    pub sessions: Vec<Vec<String>>,
    #[serde(default)]
    pub fingerprint: Fingerprint,
    #[serde(default)]
    pub authoring: Vec<Relax>,
    #[serde(default)]
    pub settings: Vec<Relax>,
    #[serde(default)]
    pub websocket: Vec<Relax>,
    #[serde(default)]
    pub self_url: Vec<Relax>,
}

/// What in traffic shows the application is behind Wafer.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprint {
    /// Path prefixes.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Cookie-name patterns (prefix, or glob with `*`).
    #[serde(default)]
    pub cookies: Vec<String>,
}

/// One relaxation: these classes do not count in these arguments on these paths.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relax {
    #[serde(default)]
    pub about: String,
    pub paths: Vec<String>,
    pub args: Vec<String>,
    pub classes: Vec<String>,
    /// Headers (any case) the request must carry, non-empty.
    #[serde(default)]
    pub headers: Vec<String>,
}

/// The kinds of entry, for messages and the rules each obeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Authoring,
    Settings,
    WebSocket,
    SelfUrl,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Authoring => "authoring",
            Kind::Settings => "settings",
            Kind::WebSocket => "websocket",
            Kind::SelfUrl => "self_url",
        }
    }
}

impl Profile {
    /// Every entry with its kind.
    pub fn entries(&self) -> impl Iterator<Item = (Kind, &Relax)> {
        fn tag(k: Kind, v: &[Relax]) -> impl Iterator<Item = (Kind, &Relax)> {
            v.iter().map(move |r| (k, r))
        }
        tag(Kind::Authoring, &self.authoring)
            .chain(tag(Kind::Settings, &self.settings))
            .chain(tag(Kind::WebSocket, &self.websocket))
            .chain(tag(Kind::SelfUrl, &self.self_url))
    }

    /// Parses a profile file and checks it; every problem, each naming its place.
    pub fn parse(file: &str, text: &str) -> Result<Profile, Vec<String>> {
        let p: Profile = toml::from_str(text).map_err(|e| vec![format!("{file}: {e}")])?;
        let errs = p.problems(file);
        if errs.is_empty() { Ok(p) } else { Err(errs) }
    }

    fn problems(&self, file: &str) -> Vec<String> {
        let mut errs = Vec::new();
        let mut fail = |at: &str, m: String| errs.push(format!("{file}: {at}: {m}"));
        if self.name.is_empty()
            || !self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            fail(
                "name",
                format!("lowercase letters, digits and -, not {:?}", self.name),
            );
        }
        if file.ends_with(".toml") && file.trim_end_matches(".toml") != self.name {
            fail("name", format!("{:?} is not the file's name", self.name));
        }
        for (i, set) in self.sessions.iter().enumerate() {
            if set.is_empty() || set.iter().any(|c| c.trim_matches('*').is_empty()) {
                fail(
                    &format!("sessions[{i}]"),
                    "a set of one or more cookie-name patterns, none empty".into(),
                );
            }
        }
        for p in &self.fingerprint.paths {
            if !p.starts_with('/') || p.len() < 2 {
                fail(
                    "fingerprint.paths",
                    format!("a path prefix longer than /, not {p:?}"),
                );
            }
        }
        let mut counts = std::collections::HashMap::new();
        for (kind, r) in self.entries() {
            let n = counts.entry(kind.as_str()).or_insert(0usize);
            let at = format!("{}[{n}]", kind.as_str());
            *n += 1;
            if kind != Kind::SelfUrl && self.sessions.is_empty() {
                fail(
                    &at,
                    "relaxes a logged-in user's fields, but the profile names no sessions".into(),
                );
            }
            if r.paths.is_empty() {
                fail(&at, "paths: name at least one".into());
            }
            for p in &r.paths {
                if let Err(e) = PathPattern::parse(p) {
                    fail(&format!("{at}.paths"), e);
                } else if matches!(p.as_str(), "/" | "*" | "/*" | "/**" | "**") {
                    fail(&format!("{at}.paths"), format!("{p:?} is the whole site"));
                }
            }
            if r.args.is_empty() {
                fail(
                    &at,
                    "args: name the fields (a profile never relaxes a whole request)".into(),
                );
            }
            for a in &r.args {
                if let Err(e) = a.parse::<ArgPattern>() {
                    fail(&format!("{at}.args"), e);
                } else if a.trim_matches('*').is_empty() {
                    fail(&format!("{at}.args"), format!("{a:?} names every argument"));
                } else if a.starts_with("cookie:") || a.starts_with("header:") {
                    fail(
                        &format!("{at}.args"),
                        format!("{a:?}: profiles relax arguments only"),
                    );
                } else if kind == Kind::WebSocket && !a.starts_with("ws.") {
                    fail(
                        &format!("{at}.args"),
                        format!("{a:?}: message arguments start with ws."),
                    );
                }
            }
            if r.classes.is_empty() {
                fail(&at, "classes: name at least one".into());
            }
            for c in &r.classes {
                match class_named(c) {
                    None => fail(
                        &format!("{at}.classes"),
                        format!("unknown class {c:?} (one of {})", relaxable_names()),
                    ),
                    Some(c) if NEVER_RELAXED.contains(&c) => fail(
                        &format!("{at}.classes"),
                        format!("{c} is never relaxed by a profile"),
                    ),
                    Some(c) if kind == Kind::SelfUrl && !matches!(c, Class::Ssrf | Class::Rfi) => {
                        fail(
                            &format!("{at}.classes"),
                            format!("a self_url entry relaxes ssrf and rfi only, not {c}"),
                        )
                    }
                    Some(_) => {}
                }
            }
            for h in &r.headers {
                if h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                    fail(
                        &format!("{at}.headers"),
                        format!("not a header name: {h:?}"),
                    );
                }
            }
            if kind == Kind::WebSocket && !r.headers.is_empty() {
                fail(
                    &format!("{at}.headers"),
                    "a WebSocket message carries no headers to require".into(),
                );
            }
        }
        errs
    }

    /// The exclusions this profile means, with classes turned into id ranges
    /// of `table` (every rule's id and class, as the engine has them).
    pub fn compile(&self, table: &[(u32, Class)]) -> Vec<Exclusion> {
        let mut out = Vec::new();
        for (kind, r) in self.entries() {
            let classes: Vec<Class> = r.classes.iter().filter_map(|c| class_named(c)).collect();
            let rules = ranges_of(table, &classes);
            if rules.is_empty() {
                continue;
            }
            let args: Vec<ArgPattern> = r.args.iter().filter_map(|a| a.parse().ok()).collect();
            let headers: Vec<String> = r.headers.iter().map(|h| h.to_ascii_lowercase()).collect();
            // A self-URL parameter is sent before login too; everything else
            // needs one of the session sets.
            let sessions: Vec<Vec<String>> = if kind == Kind::SelfUrl {
                vec![Vec::new()]
            } else {
                self.sessions.clone()
            };
            for path in r.paths.iter().filter_map(|p| PathPattern::parse(p).ok()) {
                for cookies in &sessions {
                    out.push(Exclusion {
                        path: path.clone(),
                        rules: rules.clone(),
                        args: args.clone(),
                        when_cookies: cookies.clone(),
                        when_headers: headers.clone(),
                    });
                }
            }
        }
        out
    }
}

fn class_named(s: &str) -> Option<Class> {
    Class::ALL.into_iter().find(|c| c.as_str() == s)
}

fn relaxable_names() -> String {
    Class::ALL
        .into_iter()
        .filter(|c| !NEVER_RELAXED.contains(c))
        .map(Class::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ids of `classes` in `table` as few ranges as possible: each range runs
/// over consecutive ids of the table that are all of those classes, so it
/// never covers a rule of another class.
pub fn ranges_of(table: &[(u32, Class)], classes: &[Class]) -> Vec<RuleRange> {
    let mut sorted: Vec<(u32, Class)> = table.to_vec();
    sorted.sort_by_key(|&(id, _)| id);
    let mut out: Vec<RuleRange> = Vec::new();
    let mut open = false;
    for (id, class) in sorted {
        if classes.contains(&class) {
            match out.last_mut() {
                Some(r) if open => r.hi = id,
                _ => out.push(RuleRange::ids(id, id)),
            }
            open = true;
        } else {
            open = false;
        }
    }
    out
}

/// The embedded profiles, parsed once (a bad one is a build defect the tests catch).
pub fn builtin() -> Result<&'static [Profile], &'static [String]> {
    static PARSED: OnceLock<Result<Vec<Profile>, Vec<String>>> = OnceLock::new();
    let parsed = PARSED.get_or_init(|| {
        let mut out = Vec::new();
        let mut errs = Vec::new();
        for (file, text) in BUILTIN {
            match Profile::parse(file, text) {
                Ok(p) => out.push(p),
                Err(e) => errs.extend(e),
            }
        }
        if errs.is_empty() { Ok(out) } else { Err(errs) }
    });
    match parsed {
        Ok(v) => Ok(v),
        Err(e) => Err(e),
    }
}

/// The names of the embedded profiles.
pub fn names() -> Vec<&'static str> {
    builtin()
        .map(|ps| ps.iter().map(|p| p.name.as_str()).collect())
        .unwrap_or_default()
}

/// The profile called `name`, or an error that lists the known ones.
pub fn find(name: &str) -> Result<&'static Profile, String> {
    let all = builtin().map_err(|e| e.join("; "))?;
    all.iter().find(|p| p.name == name).ok_or_else(|| {
        format!(
            "unknown application profile {name:?} (known: {})",
            names().join(", ")
        )
    })
}

/// The exclusions of the named profiles, against the rule table.
pub fn compile(names: &[String], table: &[(u32, Class)]) -> Result<Vec<Exclusion>, String> {
    let mut out = Vec::new();
    for n in names {
        out.extend(find(n)?.compile(table));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_never_cover_another_class() {
        let t = [
            (1101, Class::Sqli),
            (1102, Class::Sqli),
            (1201, Class::Xss),
            (200001, Class::Sqli),
            (200050, Class::Sqli),
            (300001, Class::Xss),
        ];
        let r: Vec<String> = ranges_of(&t, &[Class::Sqli])
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(r, ["1101-1102", "200001-200050"]);
        let r = ranges_of(&t, &[Class::Sqli, Class::Xss]);
        assert_eq!(r.len(), 1);
        assert!(ranges_of(&t, &[Class::Rce]).is_empty());
    }

    fn problems(text: &str) -> String {
        Profile::parse("t.toml", text).unwrap_err().join("\n")
    }

    const HEAD: &str = "name = \"t\"\ntitle = \"T\"\nsessions = [[\"sid\"]]\n";

    #[test]
    fn the_loader_refuses_what_would_widen_the_door() {
        let e = problems(&format!(
            "{HEAD}[[authoring]]\npaths = [\"/\"]\nargs = [\"*\"]\nclasses = [\"protocol\", \"scanner\", \"nope\"]\n"
        ));
        for want in [
            "authoring[0].paths: \"/\" is the whole site",
            "\"*\" names every argument",
            "protocol is never relaxed",
            "scanner is never relaxed",
            "unknown class \"nope\"",
        ] {
            assert!(e.contains(want), "{want} missing from:\n{e}");
        }
        let e = problems(
            "name = \"t\"\ntitle = \"T\"\n[[settings]]\npaths = [\"/admin\"]\nargs = [\"x\"]\nclasses = [\"xss\"]\n",
        );
        assert!(e.contains("names no sessions"), "{e}");
        let e = problems(&format!(
            "{HEAD}[[self_url]]\npaths = [\"/login\"]\nargs = [\"next\"]\nclasses = [\"xss\"]\n"
        ));
        assert!(e.contains("ssrf and rfi only"), "{e}");
        let e = problems(&format!(
            "{HEAD}[[websocket]]\npaths = [\"/ws\"]\nargs = [\"code\"]\nclasses = [\"rce\"]\nheaders = [\"x-t\"]\n"
        ));
        assert!(
            e.contains("start with ws.") && e.contains("no headers"),
            "{e}"
        );
        let e = problems(&format!(
            "{HEAD}[[authoring]]\npaths = [\"/e\"]\nargs = []\nclasses = [\"xss\"]\n"
        ));
        assert!(e.contains("never relaxes a whole request"), "{e}");
        let e = problems(&format!("{HEAD}bogus = 1\n"));
        assert!(e.contains("unknown field"), "{e}");
        assert!(problems("name = \"other\"\ntitle = \"T\"\n").contains("not the file's name"));
    }

    #[test]
    fn an_entry_compiles_per_path_and_session_set() {
        let p = Profile::parse(
            "t.toml",
            "name = \"t\"\ntitle = \"T\"\nsessions = [[\"SESS\"], [\"SSESS\"]]\n\
             [[authoring]]\npaths = [\"/node/add/\", \"/node/*/edit\"]\nargs = [\"body\"]\nclasses = [\"xss\"]\nheaders = [\"X-CSRF-Token\"]\n\
             [[self_url]]\npaths = [\"/user/login\"]\nargs = [\"destination\"]\nclasses = [\"ssrf\"]\n",
        )
        .unwrap();
        let t = [(300001, Class::Xss), (610001, Class::Ssrf)];
        let ex = p.compile(&t);
        assert_eq!(ex.len(), 5);
        assert!(ex[..4].iter().all(|e| e.when_headers == ["x-csrf-token"]));
        assert_eq!(ex[0].when_cookies, ["SESS"]);
        assert_eq!(ex[1].when_cookies, ["SSESS"]);
        assert!(ex[4].when_cookies.is_empty() && ex[4].when_headers.is_empty());
        assert_eq!(String::from(ex[4].rules[0]), "610001");
    }
}
