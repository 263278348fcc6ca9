//! Server-side request forgery and remote file inclusion: does this value
//! make the server fetch something it should not?
//!
//! **What it inspects.** Arguments, argument names, cookies and body fields
//! (all checks), and headers (cloud metadata and odd schemes only: `Referer`,
//! `Origin` and friends point at local development servers all the time).
//! The raw request line, query string and URL path are skipped. The decoded
//! value, first [`MAX_SCAN`] bytes.
//!
//! **What it finds.** Each URL-ish piece of the value (`scheme://authority`,
//! `//authority`, `http:127.0.0.1`, or a known internal service name at the
//! start) is parsed, its authority split at every `@` (so
//! `http://good.example@127.0.0.1` and parser-confusion strings with several
//! `@`, `#` and spaces are judged by every host they could mean), and each
//! host classified ([`host`]):
//! - cloud metadata services (`169.254.169.254`, `fd00:ec2::254`,
//!   `metadata.google.internal`, `100.100.100.200`);
//! - loopback and internal names (`127.0.0.0/8`, `0.0.0.0`, `[::1]`,
//!   `localhost*`, `*.internal`, `*.svc.cluster.local`, rebinding names
//!   like `127.0.0.1.nip.io`);
//! - private ranges (10/8, 172.16/12, 192.168/16, link-local, CGNAT, ULA):
//!   paranoia 1 when the address is disguised, 2 when plainly written;
//! - any IP literal in a disguised spelling (decimal `2130706433`, octal
//!   `0177.0.0.1`, hex `0x7f000001`, short `127.1`, IPv4-mapped IPv6,
//!   Unicode look-alike digits and dots);
//! - schemes made for smuggling requests (`gopher://`, `dict://`, `ldap://`,
//!   `tftp://`, `netdoc:`, `jar:`, `local_file:`) and `data:` documents;
//! - remote inclusion: a URL to an IP literal, or one ending in `?` (the
//!   including script's suffix cut off); at paranoia 3, any absolute URL in
//!   an argument.
//!
//! **Cost.** Values without `:` and not starting with a letter are skipped
//! after a byte scan; otherwise at most [`MAX_URLS`] URL pieces are parsed
//! into stack buffers. Allocation only to report a hit.
//!
//! **Known false positives.** Apps whose arguments legitimately carry
//! internal URLs (admin consoles configuring webhooks to `http://10.0.0.5`,
//! at paranoia 2 only unless disguised); `redirect=http://localhost:3000/`
//! in development traffic; the paranoia 2 "any URL" check fires on every
//! redirect/next/callback argument.
//!
//! **Why our own.** The address-spelling tricks are facts about how
//! `inet_aton`, URL parsers and resolvers read hosts; the idea of flagging
//! URLs with IP hosts or trailing `?` in parameters is from the OWASP CRS
//! RFI rule descriptions. The parser, the classification and the name lists
//! are written here, so every finding names the host and why it is internal.

mod host;
#[cfg(test)]
mod tests;

use std::ops::Range;

use super::{DetectorRule, Hit, Input};
use crate::finding::{Class, Severity};
use crate::request::Part;
use host::Dest;

pub const METADATA: u32 = 1500;
pub const INTERNAL_URL: u32 = 1501;
pub const PRIVATE_URL: u32 = 1502;
pub const SMUGGLING_SCHEME: u32 = 1503;
pub const ENCODED_IP: u32 = 1504;
pub const RFI_IP_URL: u32 = 1510;
pub const RFI_TRUNCATED: u32 = 1511;
pub const RFI_ANY_URL: u32 = 1512;

const fn rule(id: u32, class: Class, paranoia: u8, description: &'static str) -> DetectorRule {
    DetectorRule {
        id,
        class,
        severity: Severity::Critical,
        paranoia,
        description,
    }
}

/// Both classes live here (SSRF and RFI parse the same URLs), so the table is written out.
pub static RULES: &[DetectorRule] = &[
    rule(
        METADATA,
        Class::Ssrf,
        1,
        "URL to a cloud instance metadata service",
    ),
    rule(
        INTERNAL_URL,
        Class::Ssrf,
        1,
        "URL to the loopback interface or an internal service name",
    ),
    rule(
        PRIVATE_URL,
        Class::Ssrf,
        2,
        "URL into a private address range",
    ),
    rule(
        SMUGGLING_SCHEME,
        Class::Ssrf,
        1,
        "URL scheme used to smuggle requests (gopher://, dict://, ldap://, jar:, data:)",
    ),
    rule(
        ENCODED_IP,
        Class::Ssrf,
        1,
        "URL host is an IP address in a disguised spelling (decimal, octal, hex, short, mapped)",
    ),
    rule(
        RFI_IP_URL,
        Class::Rfi,
        1,
        "remote include: URL to a script on an IP address",
    ),
    rule(
        RFI_TRUNCATED,
        Class::Rfi,
        1,
        "remote include: URL ending in ? (cuts off the including script's suffix)",
    ),
    rule(
        RFI_ANY_URL,
        Class::Rfi,
        3,
        "absolute URL to another site in an argument",
    ),
];

/// Bytes of a value we look at.
pub const MAX_SCAN: usize = 4 * 1024;
/// URL pieces parsed per value.
pub const MAX_URLS: usize = 8;

/// How much of the value we may judge.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    /// Arguments, cookies, bodies: everything.
    Full,
    /// Headers: only what never appears in ordinary headers.
    Header,
}

/// Checks one value.
pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    let part = input.location.part;
    let scope = match part {
        Part::RequestLine | Part::QueryString | Part::Method | Part::Path | Part::Filename => {
            return;
        }
        Part::Header => Scope::Header,
        _ => Scope::Full,
    };
    if super::cmdi::structured_header(input) {
        return;
    }
    let full = input.decoded;
    let cut = floor_char_boundary(full, MAX_SCAN);
    let v = &full[..cut];
    let b = v.as_bytes();
    let lead = v.trim_start();
    let has_colon = b.contains(&b':');
    if !has_colon && !lead.as_bytes().first().is_some_and(u8::is_ascii_alphabetic) {
        return;
    }
    let mut found: Vec<(u32, Range<usize>, String)> = Vec::new();
    let mut add = |rule: u32, span: Range<usize>, detail: String| {
        if !found.iter().any(|(r, ..)| *r == rule) {
            found.push((rule, span, detail));
        }
    };
    let arg = matches!(part, Part::QueryArg | Part::BodyArg);
    if has_colon {
        for url in urls(v).take(MAX_URLS) {
            judge(&url, scope, arg, &mut add);
        }
        if scope == Scope::Full
            && let Some(mime) = data_document(lead)
        {
            let start = v.len() - lead.len();
            let span = start..url_end(v, start);
            add(SMUGGLING_SCHEME, span, format!("data: document ({mime})"));
        }
    }
    // A bare internal service name (`host.docker.internal/`, `localhost:8080`).
    // (No `:` in the value, no `://`: the substring search costs more than
    // everything else here on a plain word.)
    if scope == Scope::Full && !(has_colon && lead.contains("://")) {
        let h = host_part(lead);
        let followed = lead[h.len()..].starts_with(['/', ':']);
        if (h.contains('.') || followed)
            && let Some(verdict) = host::classify(h)
            && !verdict.ip
            && matches!(verdict.dest, Dest::Internal | Dest::Metadata)
        {
            let rule = if verdict.dest == Dest::Metadata {
                METADATA
            } else {
                INTERNAL_URL
            };
            let span = super::offset_in(v, h).unwrap_or(0..v.len());
            add(rule, span, format!("internal host `{h}`"));
        }
    }
    for (rule, span, detail) in found {
        Hit::push(out, rule, input, span, Some(detail));
    }
}

/// Where a URL starting at `start` ends: a blank, a quote, `<`, `>` or a
/// backtick (all are subslices of `v`, so char boundaries hold).
fn url_end(v: &str, start: usize) -> usize {
    v[start..]
        .find(|c: char| c.is_ascii_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
        .map_or(v.len(), |k| start + k)
}

fn floor_char_boundary(s: &str, max: usize) -> usize {
    if s.len() <= max {
        return s.len();
    }
    let mut k = max;
    while !s.is_char_boundary(k) {
        k -= 1;
    }
    k
}

/// One URL-ish piece: its scheme (lowercased into a small buffer) and what follows.
struct Url<'a> {
    scheme: [u8; 16],
    slen: usize,
    /// After `scheme:` (with `//` if present).
    rest: &'a str,
    slashes: bool,
    /// The piece is the whole value (not embedded in text).
    whole: bool,
    /// Where the URL sits in the value: its scheme (or `//`) to its end.
    span: Range<usize>,
}

impl Url<'_> {
    fn scheme(&self) -> &[u8] {
        &self.scheme[..self.slen]
    }
}

/// `scheme://…` pieces anywhere, plus `scheme:host` and `//host` at the start.
fn urls(v: &str) -> impl Iterator<Item = Url<'_>> {
    let b = v.as_bytes();
    let lead = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let mut from = 0usize;
    let mut first = true;
    std::iter::from_fn(move || {
        if first {
            first = false;
            let t = &v[lead..];
            let span = lead..url_end(v, lead);
            if t.starts_with("//") {
                return Some(Url {
                    scheme: [0; 16],
                    slen: 0,
                    rest: t,
                    slashes: true,
                    whole: true,
                    span,
                });
            }
            // `http:127.0.0.1`, `http:[::1]`, `jar:http://…`: no `//` after the scheme.
            let s = t
                .bytes()
                .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'.' | b'-' | b'_'))
                .count();
            let fetchable = |name: &str| {
                matches!(
                    name.to_ascii_lowercase().as_str(),
                    "http"
                        | "https"
                        | "ftp"
                        | "ftps"
                        | "gopher"
                        | "dict"
                        | "ldap"
                        | "tftp"
                        | "jar"
                        | "netdoc"
                        | "ssh"
                        | "sftp"
                        | "smb"
                        | "acap"
                        | "imap"
                        | "pop3"
                        | "irc"
                        | "rtmp"
                        | "telnet"
                        | "ws"
                        | "wss"
                )
            };
            if (2..=16).contains(&s)
                && t.as_bytes().get(s) == Some(&b':')
                && !t[s + 1..].starts_with("//")
                && fetchable(&t[..s])
            {
                let mut scheme = [0u8; 16];
                for (d, c) in scheme.iter_mut().zip(t[..s].bytes()) {
                    *d = c.to_ascii_lowercase();
                }
                return Some(Url {
                    scheme,
                    slen: s,
                    rest: &t[s + 1..],
                    slashes: false,
                    whole: true,
                    span,
                });
            }
        }
        if let Some(k) = memchr::memmem::find(&b[from..], b"://").map(|k| from + k) {
            from = k + 3;
            let mut s = k;
            while s > 0
                && (b[s - 1].is_ascii_alphanumeric()
                    || matches!(b[s - 1], b'+' | b'.' | b'-' | b'_'))
            {
                s -= 1;
            }
            let mut scheme = [0u8; 16];
            let slen = (k - s).min(16);
            for (d, c) in scheme.iter_mut().zip(&b[s..s + slen]) {
                *d = c.to_ascii_lowercase();
            }
            return Some(Url {
                scheme,
                slen,
                rest: &v[k + 1..],
                slashes: true,
                whole: b[..s].iter().all(u8::is_ascii_whitespace),
                span: s..url_end(v, s),
            });
        }
        None
    })
}

/// The host at the start of a scheme-less value (`host:port/path`).
fn host_part(s: &str) -> &str {
    let end = s
        .find(['/', '?', '#', ' ', ':', '\\', '"', '\'', ','])
        .unwrap_or(s.len());
    &s[..end]
}

/// Every rule a URL breaks is reported on the whole URL.
fn judge(url: &Url<'_>, scope: Scope, arg: bool, add: &mut impl FnMut(u32, Range<usize>, String)) {
    let mut add = |rule: u32, detail: String| add(rule, url.span.clone(), detail);
    let scheme = url.scheme();
    let scheme_str = String::from_utf8_lossy(scheme);
    const SMUGGLERS: &[&[u8]] = &[
        b"gopher",
        b"dict",
        b"ldap",
        b"ldaps",
        b"ldapi",
        b"tftp",
        b"netdoc",
        b"jar",
        b"local_file",
        b"sftp",
        b"rmi",
        b"iiop",
        b"jndi",
        b"mailto_internal",
    ];
    if SMUGGLERS.contains(&scheme) && (url.slashes || scheme == b"jar" || scheme == b"netdoc") {
        add(SMUGGLING_SCHEME, format!("`{scheme_str}:`"));
    }
    let rest = url.rest.strip_prefix("//").unwrap_or(url.rest);
    if !url.slashes && !rest.starts_with(|c: char| c.is_ascii_digit() || c == '[') {
        // `mailto:x`, `tel:1`, `urn:…`: only `http:127.0.0.1`-like forms matter here.
        return;
    }
    // The authority, up to the path; it may hold `@`, spaces and `#` in confusion attacks.
    let end = rest.find(['/', '?']).unwrap_or(rest.len()).min(256);
    let end = floor_char_boundary(rest, end);
    let authority = &rest[..end];
    let path = &rest[end..];
    let mut worst: Option<(host::Verdict, &str)> = None;
    let pieces = authority.split('@');
    let n_pieces = authority.matches('@').count() + 1;
    for (i, piece) in pieces.enumerate() {
        let last = i + 1 == n_pieces;
        let h = host_of(piece.trim_start());
        if h.is_empty() {
            continue;
        }
        let Some(verdict) = host::classify(h) else {
            continue;
        };
        // Userinfo that is not a host at all stays out of it.
        if !last && !verdict.ip && verdict.dest == Dest::Public {
            continue;
        }
        let rank = |v: &host::Verdict| (v.dest, v.disguised);
        if worst.as_ref().is_none_or(|(w, _)| rank(&verdict) > rank(w)) {
            worst = Some((verdict, h));
        }
    }
    let Some((verdict, h)) = worst else { return };
    let via = if n_pieces > 1 { " behind userinfo" } else { "" };
    match verdict.dest {
        Dest::Metadata => add(METADATA, format!("`{h}`{via}")),
        Dest::Internal if scope == Scope::Full => add(INTERNAL_URL, format!("`{h}`{via}")),
        Dest::Private if scope == Scope::Full => {
            let rule = if verdict.disguised {
                INTERNAL_URL
            } else {
                PRIVATE_URL
            };
            add(rule, format!("private address `{h}`{via}"));
        }
        _ => {}
    }
    if scope != Scope::Full {
        return;
    }
    if verdict.ip && verdict.disguised {
        add(ENCODED_IP, format!("`{h}`"));
    }
    let web = matches!(scheme, b"http" | b"https" | b"ftp" | b"ftps");
    if !arg || !web {
        return;
    }
    let script = script_path(path);
    if verdict.ip && verdict.dest == Dest::Public && (script || url.whole) {
        add(RFI_IP_URL, format!("`{h}`"));
    }
    let file_before_q = path
        .trim_end_matches('?')
        .rsplit('/')
        .next()
        .is_some_and(|seg| seg.contains('.'));
    if url.whole && path.ends_with('?') && !path.contains('=') && file_before_q {
        add(RFI_TRUNCATED, format!("`{scheme_str}://{h}…?`"));
    }
    if url.whole && url.slashes {
        add(RFI_ANY_URL, format!("`{h}`"));
    }
}

/// The host of an authority piece: port, trailing junk and brackets handled.
fn host_of(piece: &str) -> &str {
    if piece.starts_with('[') {
        return piece.find(']').map_or(piece, |k| &piece[..=k]);
    }
    let end = piece
        .find([' ', '#', '&', ';', ',', '"', '\'', '<', '>'])
        .unwrap_or(piece.len());
    let piece = &piece[..end];
    // Several colons: an unbracketed IPv6 address.
    if piece.matches(':').count() >= 2 {
        return piece;
    }
    piece.split(':').next().unwrap_or(piece)
}

/// A path to a script or text file an include would run (`/shell.php`, `/x.txt`).
fn script_path(path: &str) -> bool {
    let p = path.split(['?', '#']).next().unwrap_or(path);
    let ext = p.rsplit('.').next().unwrap_or("");
    p.contains('.')
        && matches!(
            ext.to_ascii_lowercase().as_str(),
            "php"
                | "php3"
                | "php4"
                | "php5"
                | "phtml"
                | "txt"
                | "inc"
                | "sh"
                | "pl"
                | "py"
                | "cgi"
                | "asp"
                | "aspx"
                | "jsp"
                | "gif"
                | "jpg"
                | "png"
        )
}

/// `data:text/plain…` / `data:application/…` as the value: an inline
/// document handed to a fetcher. Images are left alone (editors upload them).
fn data_document(v: &str) -> Option<&str> {
    let rest = v
        .get(..5)
        .filter(|p| p.eq_ignore_ascii_case("data:"))
        .map(|_| &v[5..])?;
    let mime_end = rest.find([';', ',', ' ', '"']).unwrap_or(rest.len());
    let mime = &rest[..mime_end];
    let (top, sub) = mime.split_once('/')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'+' | b'.'))
    };
    (ok(top) && ok(sub) && matches!(top.to_ascii_lowercase().as_str(), "text" | "application"))
        .then_some(mime)
}
