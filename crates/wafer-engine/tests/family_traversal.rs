//! Path traversal and LFI, generated from the family's grammar: a climb is
//! a run of dot segments, each written with some spelling of `..` and some
//! spelling of a separator, repeated to some depth, aimed at a Unix or
//! Windows target, placed somewhere in a request. Every combination is made
//! (sampled by rotation where the product is large) and the detection rate
//! is asserted per spelling of the dots and per spelling of the separator.
//! Absolute paths handed to file parameters are a sub-family of their own.
//! Benign look-alikes (relative links, versions, file names, prose that
//! mentions a path) must all pass.

use std::collections::BTreeMap;
use wafer_engine::{Action, Engine, Request};

/// `..` as an attacker writes it on the wire (already URL-encoded).
const DOTS: &[(&str, &str)] = &[
    ("plain", ".."),
    ("pct", "%2e%2e"),
    ("pct-mixed", ".%2e"),
    ("double-pct", "%252e%252e"),
    ("overlong-2", "%c0%ae%c0%ae"),
    ("overlong-3", "%e0%80%ae%e0%80%ae"),
    ("overlong-4", "%f0%80%80%ae%f0%80%80%ae"),
    ("overlong-invalid", "%c0%2e%c0%2e"),
    ("pct-u", "%u002e%u002e"),
    ("pct-u-fullwidth", "%uff0e%uff0e"),
    ("fullwidth-utf8", "%ef%bc%8e%ef%bc%8e"),
    ("one-dot-leader", "%e2%80%a4%e2%80%a4"),
    ("hex-text", "0x2e0x2e"),
    ("four-dots", "...."),
    ("three-dots", "..."),
    ("nul-between", ".%00."),
    ("junk-between", ".%01."),
];

/// A separator as written on the wire.
const SEPS: &[(&str, &str)] = &[
    ("slash", "/"),
    ("backslash", "%5c"),
    ("pct-slash", "%2f"),
    ("double-pct-slash", "%252f"),
    ("overlong-slash", "%c0%af"),
    ("overlong-backslash", "%c1%9c"),
    ("overlong-slash-3", "%e0%80%af"),
    ("overlong-invalid", "%c0%2f"),
    ("iis-junk", "%c1%8s"),
    ("pct-u-slash", "%u2215"),
    ("pct-u-backslash", "%u2216"),
    ("fullwidth-slash", "%ef%bc%8f"),
    ("fullwidth-backslash", "%ef%bc%bc"),
    ("division-slash", "%e2%88%95"),
    ("set-minus", "%e2%88%96"),
    ("hex-text", "0x2f"),
    ("doubled", "//"),
    ("mixed", "/%5c"),
    ("dot-slash-backslash", "/.%5c"),
    ("nul-after", "%00/"),
];

/// Targets, separators between their parts written as `/`.
const UNIX: &[&str] = &[
    "etc/passwd",
    "etc/shadow",
    "proc/self/environ",
    "var/log/apache2/access.log",
    "etc/nginx/nginx.conf",
    "usr/local/apache2/conf/httpd.conf",
    "proc/self/cmdline",
    "var/log/nginx/error.log",
];
const WINDOWS: &[&str] = &[
    "boot.ini",
    "windows/win.ini",
    "windows/system32/drivers/etc/hosts",
    "winnt/win.ini",
    "inetpub/logs/logfiles/w3svc1/u_ex210101.log",
    "xampp/apache/conf/httpd.conf",
];

#[derive(Clone, Copy)]
enum Place {
    Query,
    Form,
    Json,
    Path,
    Cookie,
}

const PLACES: [Place; 5] = [
    Place::Query,
    Place::Form,
    Place::Json,
    Place::Path,
    Place::Cookie,
];

fn browser(mut r: Request) -> Request {
    for (n, v) in [
        ("Host", "shop.example"),
        (
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        ),
        ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        ("Accept-Language", "en-US,en;q=0.5"),
    ] {
        r = r.header(n, v);
    }
    r
}

/// `wire` (URL-encoded text) as a request with the value at `place` under `name`.
fn request(place: Place, name: &str, wire: &str) -> Request {
    let body = |ct: &str, b: String| {
        browser(Request::new("POST", "/api/files"))
            .header("Content-Type", ct)
            .header("Content-Length", &b.len().to_string())
            .body(b.into_bytes())
    };
    match place {
        Place::Query => browser(Request::new("GET", &format!("/view?{name}={wire}"))),
        Place::Form => body(
            "application/x-www-form-urlencoded",
            format!("{name}={wire}"),
        ),
        // JSON carries the text as typed: `%` stays a character there (the
        // engine looks at its percent-decoded form apart).
        Place::Json => body(
            "application/json",
            format!(
                "{{\"{name}\":\"{}\"}}",
                wire.replace('\\', "\\\\").replace('"', "\\\"")
            ),
        ),
        Place::Path => browser(Request::new("GET", &format!("/static/{wire}"))),
        Place::Cookie => {
            browser(Request::new("GET", "/")).header("Cookie", &format!("{name}={wire}"))
        }
    }
}

fn blocked(engine: &Engine, r: &Request) -> bool {
    engine.inspect(r).action == Action::Block
}

/// Rate per key, and the misses to show.
#[derive(Default)]
struct Tally {
    rows: BTreeMap<String, (usize, usize)>,
    misses: Vec<String>,
}

impl Tally {
    fn add(&mut self, key: &str, hit: bool, what: impl FnOnce() -> String) {
        let e = self.rows.entry(key.to_owned()).or_default();
        e.1 += 1;
        if hit {
            e.0 += 1;
        } else if self.misses.len() < 40 {
            self.misses.push(what());
        }
    }

    fn assert_at_least(&self, family: &str, rate: f64) {
        let mut low = Vec::new();
        for (k, (hit, n)) in &self.rows {
            let r = *hit as f64 / *n as f64;
            eprintln!("{family} {k}: {hit}/{n} = {:.1} %", 100.0 * r);
            if r < rate {
                low.push(format!("{k} {hit}/{n}"));
            }
        }
        assert!(
            low.is_empty(),
            "{family}: below {rate}: {low:?}\nmisses: {:#?}",
            self.misses
        );
    }
}

/// Every spelling of the dots with every separator, at depths 1 to 6 (the
/// depth and target rotate), in every placement.
#[test]
fn climbs_in_every_spelling() {
    let engine = Engine::builtin();
    let (mut by_dots, mut by_sep) = (Tally::default(), Tally::default());
    let mut k = 0usize;
    for (dn, dots) in DOTS {
        for (sn, sep) in SEPS {
            for place in PLACES {
                k += 1;
                let depth = 2 + k % 5;
                let unix = !k.is_multiple_of(3);
                let target = if unix {
                    UNIX[k % UNIX.len()].to_owned()
                } else {
                    WINDOWS[k % WINDOWS.len()].replace('/', "%5c")
                };
                let climb = format!("{dots}{sep}").repeat(depth);
                let wire = format!("{climb}{target}");
                let r = request(place, "file", &wire);
                let hit = blocked(&engine, &r);
                by_dots.add(dn, hit, || format!("{dn}/{sn}: {wire}"));
                by_sep.add(sn, hit, || format!("{dn}/{sn}: {wire}"));
            }
        }
    }
    by_dots.assert_at_least("dots", 0.95);
    by_sep.assert_at_least("separator", 0.95);
}

/// A climb with no known target at its end is an attack too, when it climbs
/// twice or more ("a value whose only job is to climb").
#[test]
fn climbs_without_a_target() {
    let engine = Engine::builtin();
    let mut t = Tally::default();
    for (dn, dots) in DOTS {
        for (sn, sep) in SEPS.iter().take(12) {
            let wire = format!("{dots}{sep}{dots}{sep}{dots}{sep}secret.txt");
            let hit = blocked(&engine, &request(Place::Query, "doc", &wire));
            t.add(dn, hit, || format!("{dn}/{sn}: {wire}"));
        }
    }
    t.assert_at_least("bare climb", 0.95);
}

/// File parameters holding an absolute path: system and application
/// locations on Unix and Windows, UNC shares and `file://`.
#[test]
fn absolute_paths_in_file_parameters() {
    const NAMES: &[&str] = &[
        "file", "path", "page", "template", "include", "doc", "name", "filename", "load", "lang",
    ];
    const PATHS: &[&str] = &[
        "/etc/services",
        "/etc/passwd",
        "/etc/ssl/openssl.cnf",
        "/proc/version",
        "/proc/1/status",
        "/var/www/html/index.php",
        "/var/log/syslog",
        "/usr/share/nginx/html/config.php",
        "/opt/app/settings.py",
        "/home/deploy/app/.env",
        "/home/deploy/app/main.py",
        "/tmp/sess_abc123",
        "/srv/www/app/config/database.php",
        "/root/.profile",
        "c:%5cwindows%5csystem.ini",
        "C:/inetpub/wwwroot/web.config",
        "c:%5cusers%5cpublic%5cdesktop.ini",
        "%5c%5cfileserver%5cshare%5creport.doc",
        "file:///var/www/app/app.py",
        "file://localhost/etc/issue",
    ];
    let engine = Engine::builtin();
    let mut t = Tally::default();
    let mut k = 0;
    for name in NAMES {
        for p in PATHS {
            k += 1;
            let place = [Place::Query, Place::Form, Place::Json][k % 3];
            let hit = blocked(&engine, &request(place, name, p));
            t.add(p, hit, || format!("{name}={p}"));
        }
    }
    t.assert_at_least("absolute path", 0.95);
}

/// Values that look like the family and are not: all pass.
#[test]
fn benign_look_alikes_pass() {
    const QUERY: &[(&str, &str)] = &[
        ("q", "how%20to%20edit%20%2Fetc%2Fhosts%20on%20linux"),
        ("q", "where%20is%20%2Fetc%2Fhosts%20on%20a%20mac%3F"),
        ("next", "/home"),
        ("next", "/home/dashboard"),
        ("return", "/usr/profile/settings"),
        ("redirect", "/account/orders?page=2"),
        ("path", "/products/shoes"),
        ("path", "/"),
        ("href", "../images/logo.png"),
        ("src", "./assets/app.js"),
        ("version", "1.2.3"),
        ("v", "2.0.0-beta..rc1"),
        ("file", "report..final.pdf"),
        ("file", "invoice-2024.03.pdf"),
        ("name", "photo...jpg"),
        ("q", "wait...%20what"),
        ("q", "Loading..."),
        ("q", "%E3%80%82%E3%80%82%E3%80%82"),
        ("q", "1%2F2%20cup%20sugar"),
        ("date", "12/05/2024"),
        ("ratio", "16:9"),
        ("page", "about-us"),
        ("template", "invoice.html"),
        ("doc", "guides/getting-started.md"),
        ("q", "%EF%BC%8E%EF%BC%8E%EF%BC%8E%E3%81%AF%E3%81%84"),
        ("title", "A%E2%88%95B%20testing"),
        ("color", "0x2e3f4a"),
        ("tmp", "tmp/upload"),
        ("dir", "src/main"),
        ("q", "C%2B%2B%20vs%20C%23"),
        ("q", "%2Fopt%20vs%20%2Fusr%2Flocal"),
    ];
    let engine = Engine::builtin();
    let mut bad = Vec::new();
    let mut n = 0;
    for (name, v) in QUERY {
        for place in [Place::Query, Place::Form, Place::Cookie] {
            n += 1;
            let r = request(place, name, v);
            let verdict = engine.inspect(&r);
            if verdict.action == Action::Block {
                let why: Vec<_> = verdict
                    .findings
                    .iter()
                    .map(|f| format!("{} {:?}", f.rule_id, f.matched))
                    .collect();
                bad.push(format!("{name}={v}: {why:?}"));
            }
        }
    }
    for p in [
        "/docs/v1.2/guide.html",
        "/blog/2024/05/12/what-is-new",
        "/static/js/app.3f2a1.js",
        "/files/report..final.pdf",
        "/api/v2/users/42/avatar.png",
    ] {
        n += 1;
        if blocked(&engine, &browser(Request::new("GET", p))) {
            bad.push(format!("path {p}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} of {n} benign blocked: {bad:#?}",
        bad.len()
    );
}
