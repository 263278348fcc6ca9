//! Protocol anomalies: methods, framing, encodings and body parsing.
//!
//! **Inspects:** the request head and the body parser's problems.
//! **Finds:** unknown methods, missing Host, Content-Length/Transfer-Encoding
//! conflicts (request smuggling), bad percent encoding, NUL bytes and control
//! characters, invalid UTF-8, malformed JSON/multipart/XML bodies.

use super::DetectorRule;
use crate::body::BodyProblem;
use crate::finding::{Class, Severity};
use crate::request::{Location, Part, Request};

macro_rules! rules {
    ($($name:ident = $id:literal, $sev:ident, $pl:literal, $desc:literal;)*) => {
        $(pub const $name: u32 = $id;)*
        pub static RULES: &[DetectorRule] = &[
            $(DetectorRule { id: $id, class: Class::Protocol, severity: Severity::$sev, paranoia: $pl, description: $desc },)*
        ];
    };
}

rules! {
    METHOD_NOT_ALLOWED = 1001, Critical, 1, "method not in the allowed list";
    MISSING_HOST = 1002, Warning, 1, "HTTP/1.1 request without Host header";
    CL_TE_CONFLICT = 1003, Critical, 1, "both Content-Length and Transfer-Encoding (request smuggling)";
    BAD_CONTENT_LENGTH = 1004, Critical, 1, "Content-Length is not a single decimal number";
    BAD_TRANSFER_ENCODING = 1005, Critical, 1, "Transfer-Encoding other than chunked";
    BAD_PERCENT_ENCODING = 1006, Warning, 1, "invalid percent encoding in the request target";
    NUL_BYTE = 1007, Critical, 1, "NUL byte in the request";
    CONTROL_CHAR = 1008, Critical, 2, "control character in a header or argument";
    INVALID_UTF8 = 1009, Notice, 2, "value is not valid UTF-8 after decoding";
    MALFORMED_BODY = 1010, Critical, 1, "request body does not parse as its Content-Type says";
    BODY_TOO_DEEP = 1011, Warning, 1, "body nesting deeper than the limit";
    TOO_MANY_ARGS = 1012, Critical, 1, "more arguments than the limit (refused: the rest could not be inspected)";
    XML_DOCTYPE = 1013, Critical, 1, "XML body declares a DOCTYPE or ENTITY (XXE)";
    MISSING_USER_AGENT = 1014, Notice, 2, "request without User-Agent";
    MISSING_ACCEPT = 1015, Notice, 3, "request without Accept";
    BODY_OVER_LIMIT = 1016, Critical, 1, "body larger than the inspection limit (policy: reject)";
    DUPLICATE_CONTENT_LENGTH = 1017, Critical, 1, "more than one Content-Length header";
    BAD_HTTP_VERSION = 1018, Critical, 1, "unknown HTTP version";
    GET_WITH_BODY = 1019, Critical, 1, "GET or HEAD request with a body";
    CONNECTION_CONFLICT = 1020, Critical, 1, "Connection header repeats or contradicts its options";
    ABSOLUTE_WITHOUT_PATH = 1021, Critical, 1, "absolute request target without a path";
    OVERLONG_ENCODING = 1022, Critical, 1, "overlong UTF-8 or %uFFxx full-width escape (filter evasion)";
    EMPTY_HOST = 1023, Critical, 1, "Host header present but empty";
    UNKNOWN_MULTIPART = 1024, Critical, 1, "multipart Content-Type with an unknown subtype";
    BAD_CHARSET = 1025, Critical, 1, "form or multipart part declares a charset other than UTF-8 / ISO-8859-1(5) / windows-1252 / US-ASCII";
    BAD_CACHE_CONTROL = 1027, Critical, 3, "request Cache-Control with a directive requests do not use, or an empty one";
    BODY_TOO_LARGE = 1028, Critical, 1, "body larger than the largest accepted (max_body_bytes)";
    UNSUPPORTED_ENCODING = 1029, Critical, 1, "request Content-Encoding that cannot be decoded for inspection";
    BAD_ENCODING = 1030, Critical, 1, "compressed body that is corrupt, or inflates past the limits (decompression bomb)";
    METHOD_OVERRIDE = 1026, Critical, 2, "HTTP method override (_method parameter or X-HTTP-Method-Override header) naming a real method";
}

pub use super::Hit;

/// A hit whose value is itself the evidence, with no span: the method, the
/// version, the offending header value, the bad escape with its context, the
/// parser's complaint. Each is already the short piece that is wrong, so the
/// whole value is what matched.
fn hit(out: &mut Vec<Hit>, rule: u32, part: Part, name: Option<&str>, value: &str) {
    out.push(Hit {
        rule,
        location: Location::new(part, name),
        value: value.to_owned(),
        span: None,
        detail: None,
        weak: false,
    });
}

/// A hit on the first character of `decoded` that `bad` flags; the value is
/// kept whole around it (the excerpt is centred on the span).
fn hit_at(
    out: &mut Vec<Hit>,
    rule: u32,
    location: &Location,
    value: String,
    bad: impl Fn(char) -> bool,
) {
    let span = value
        .char_indices()
        .find(|&(_, c)| bad(c))
        .map(|(i, c)| i..i + c.len_utf8());
    out.push(Hit {
        rule,
        location: location.clone(),
        value,
        span,
        detail: None,
        weak: false,
    });
}

/// Checks the request head.
pub fn check_head(req: &Request, allowed_methods: &[String], out: &mut Vec<Hit>) {
    if !allowed_methods.iter().any(|m| m == &req.method) {
        hit(out, METHOD_NOT_ALLOWED, Part::Method, None, &req.method);
    }
    if !matches!(
        req.version.as_str(),
        "HTTP/1.0" | "HTTP/1.1" | "HTTP/2" | "HTTP/2.0" | "HTTP/3"
    ) {
        hit(out, BAD_HTTP_VERSION, Part::RequestLine, None, &req.version);
    }
    let h2 = req.version.starts_with("HTTP/2") || req.version.starts_with("HTTP/3");
    let host = req
        .header_value("host")
        .is_some_and(|h| !h.trim().is_empty())
        || req.target.contains("://");
    if req.version == "HTTP/1.1" && !host {
        hit(out, MISSING_HOST, Part::Header, Some("host"), "");
    }
    let cls: Vec<&str> = header_values(req, "content-length").collect();
    let te = req.header_value("transfer-encoding");
    if cls.len() > 1 && cls.windows(2).any(|w| w[0].trim() != w[1].trim()) {
        hit(
            out,
            DUPLICATE_CONTENT_LENGTH,
            Part::Header,
            Some("content-length"),
            &cls.join(", "),
        );
    }
    if let Some(cl) = cls.first() {
        let cl = cl.trim();
        if cl.is_empty() || !cl.bytes().all(|b| b.is_ascii_digit()) {
            hit(
                out,
                BAD_CONTENT_LENGTH,
                Part::Header,
                Some("content-length"),
                cl,
            );
        }
        if te.is_some() && !h2 {
            hit(
                out,
                CL_TE_CONFLICT,
                Part::Header,
                Some("transfer-encoding"),
                te.unwrap_or(""),
            );
        }
    }
    if let Some(te) = te
        && !te.trim().eq_ignore_ascii_case("chunked")
    {
        hit(
            out,
            BAD_TRANSFER_ENCODING,
            Part::Header,
            Some("transfer-encoding"),
            te,
        );
    }
    if let Some(bad) = first_bad_percent(&req.target) {
        hit(out, BAD_PERCENT_ENCODING, Part::RequestLine, None, bad);
    }
    if req
        .header_value("user-agent")
        .is_none_or(|v| v.trim().is_empty())
    {
        hit(
            out,
            MISSING_USER_AGENT,
            Part::Header,
            Some("user-agent"),
            "",
        );
    }
    if req.header_value("accept").is_none() {
        hit(out, MISSING_ACCEPT, Part::Header, Some("accept"), "");
    }
    // Browsers never send a body with GET or HEAD; proxies disagree on
    // whether to forward one, which is what desync attacks exploit.
    if matches!(req.method.as_str(), "GET" | "HEAD") {
        if let Some(cl) = cls
            .first()
            .filter(|c| c.trim().parse::<u64>().is_ok_and(|n| n > 0))
        {
            hit(out, GET_WITH_BODY, Part::Header, Some("content-length"), cl);
        } else if let Some(te) = te {
            hit(
                out,
                GET_WITH_BODY,
                Part::Header,
                Some("transfer-encoding"),
                te,
            );
        }
    }
    check_connection(req, out);
    check_target_shape(req, out);
    if header_values(req, "host").any(|h| h.trim().is_empty()) {
        hit(out, EMPTY_HOST, Part::Header, Some("host"), "");
    }
    if let Some(ct) = req.header_value("content-type")
        && unknown_multipart(ct)
    {
        hit(
            out,
            UNKNOWN_MULTIPART,
            Part::Header,
            Some("content-type"),
            ct,
        );
    }
    if let Some(cc) = req
        .header_value("cache-control")
        .filter(|v| !cache_control_ok(v))
    {
        hit(
            out,
            BAD_CACHE_CONTROL,
            Part::Header,
            Some("cache-control"),
            cc,
        );
    }
    for (name, value) in &req.headers {
        if value.bytes().any(|b| b < 0x20 && b != b'\t') {
            hit(
                out,
                CONTROL_CHAR,
                Part::Header,
                Some(&name.to_ascii_lowercase()),
                value,
            );
        }
    }
}

/// `Connection: close, close` or `keep-alive, close`: no client sends
/// that; it probes how the front end and the back end merge options.
fn check_connection(req: &Request, out: &mut Vec<Hit>) {
    for value in header_values(req, "connection") {
        let opts: Vec<String> = value
            .split(',')
            .map(|o| o.trim().to_ascii_lowercase())
            .filter(|o| !o.is_empty())
            .collect();
        let repeated = opts.iter().enumerate().any(|(i, o)| opts[..i].contains(o));
        let both = opts.iter().any(|o| o == "close") && opts.iter().any(|o| o == "keep-alive");
        if repeated || both {
            hit(
                out,
                CONNECTION_CONFLICT,
                Part::Header,
                Some("connection"),
                value,
            );
        }
    }
}

/// Request-target shapes no client produces: `http://host` with no path,
/// and percent escapes that only make sense to evade a filter (overlong
/// UTF-8 such as `%c0%af` for `/`, IIS `%uFF0F` full-width forms).
fn check_target_shape(req: &Request, out: &mut Vec<Hit>) {
    let t = req.target.as_str();
    if req.method != "CONNECT"
        && let Some((scheme, rest)) = t.split_once("://")
        && !scheme.is_empty()
        && scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
        && !rest.is_empty()
        && !rest.contains(['/', '?', '#'])
    {
        hit(out, ABSOLUTE_WITHOUT_PATH, Part::RequestLine, None, t);
    }
    if let Some(bad) = overlong_escape(t) {
        hit(out, OVERLONG_ENCODING, Part::RequestLine, None, bad);
    }
}

/// Value of the escape `%XX` at `at`, if it is one.
fn pct_byte(b: &[u8], at: usize) -> Option<u8> {
    let hex = |c: u8| (c as char).to_digit(16);
    if b.get(at) != Some(&b'%') {
        return None;
    }
    let hi = hex(*b.get(at + 1)?)?;
    let lo = hex(*b.get(at + 2)?)?;
    u8::try_from(hi * 16 + lo).ok()
}

/// The first overlong UTF-8 sequence (`%C0%AF`, `%E0%80%AF`, `%F0%80%80%AF`)
/// or `%uFFxx` escape. A lone `%C1` is left alone: in Latin-1 forms it is `Á`.
fn overlong_escape(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', &b[i..]) {
        let at = i + off;
        i = at + 1;
        let cont = |k: usize| pct_byte(b, at + 3 * k).is_some_and(|c| c & 0xC0 == 0x80);
        let overlong = match pct_byte(b, at) {
            Some(0xC0 | 0xC1) => cont(1),
            Some(0xE0) => pct_byte(b, at + 3).is_some_and(|c| (0x80..0xA0).contains(&c)) && cont(2),
            Some(0xF0) => pct_byte(b, at + 3).is_some_and(|c| (0x80..0x90).contains(&c)) && cont(2),
            _ => false,
        };
        let fullwidth = b.len() > at + 5
            && (b[at + 1] | 0x20) == b'u'
            && (b[at + 2] | 0x20) == b'f'
            && (b[at + 3] | 0x20) == b'f'
            && b[at + 4].is_ascii_hexdigit()
            && b[at + 5].is_ascii_hexdigit();
        if overlong || fullwidth {
            return Some(s.get(at..(at + 12).min(s.len())).unwrap_or("%"));
        }
    }
    None
}

/// `multipart/<subtype>` other than the registered ones a form, a mail
/// gateway or an API sends.
fn unknown_multipart(ct: &str) -> bool {
    let media = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    media.strip_prefix("multipart/").is_some_and(|sub| {
        !matches!(
            sub,
            "form-data"
                | "mixed"
                | "related"
                | "alternative"
                | "byteranges"
                | "digest"
                | "parallel"
                | "signed"
                | "encrypted"
                | "report"
                | "x-mixed-replace"
        )
    })
}

/// Charsets a browser form is ever submitted in (others, UTF-7 and UTF-16
/// above all, let an attack pass the filter in a form the back end decodes).
fn allowed_charset(cs: &str) -> bool {
    let cs = cs.trim().trim_matches(['"', '\'']).to_ascii_lowercase();
    matches!(
        cs.as_str(),
        "utf-8" | "utf8" | "iso-8859-1" | "iso-8859-15" | "windows-1252" | "us-ascii"
    )
}

/// Checks the charsets a multipart body declares per part
/// (`Content-Type: text/plain; charset=utf-7` in a part's headers).
pub fn check_multipart_charsets(content_type: Option<&str>, body: &[u8], out: &mut Vec<Hit>) {
    if !content_type.is_some_and(|ct| {
        ct.trim_start()
            .get(..10)
            .is_some_and(|m| m.eq_ignore_ascii_case("multipart/"))
    }) {
        return;
    }
    // Only lines of a part's header block: between a `--boundary` line and
    // the blank line after it, so file contents are not read as headers.
    let mut in_headers = false;
    for line in body.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b"--") {
            in_headers = true;
            continue;
        }
        if line.is_empty() {
            in_headers = false;
            continue;
        }
        if !in_headers {
            continue;
        }
        let text = String::from_utf8_lossy(line).to_ascii_lowercase();
        let Some(value) = text.strip_prefix("content-type:") else {
            continue;
        };
        for param in value.split(';').skip(1) {
            if let Some((k, v)) = param.split_once('=')
                && k.trim() == "charset"
                && !allowed_charset(v)
            {
                hit(out, BAD_CHARSET, Part::Body, None, value.trim());
            }
        }
    }
}

fn header_values<'r>(req: &'r Request, name: &'r str) -> impl Iterator<Item = &'r str> {
    req.headers
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The first `%` not followed by two hex digits (or `%u` + four), with a little context.
fn first_bad_percent(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr(b'%', &b[i..]) {
        let at = i + off;
        let hex2 =
            b.len() > at + 2 && b[at + 1].is_ascii_hexdigit() && b[at + 2].is_ascii_hexdigit();
        let uni = b.len() > at + 5
            && (b[at + 1] | 0x20) == b'u'
            && b[at + 2..at + 6].iter().all(u8::is_ascii_hexdigit);
        if !hex2 && !uni {
            let end = (at + 6).min(s.len());
            return Some(s.get(at..end).unwrap_or(&s[at..]));
        }
        i = at + 1;
    }
    None
}

/// Checks one decoded value for NUL bytes, control characters and lost UTF-8.
pub fn check_value(location: &Location, raw: &str, decoded: &str, out: &mut Vec<Hit>) {
    if decoded.contains('\0') || raw.contains('\0') {
        // The NUL is shown as `\0`; the span is the first one (none when only
        // the raw value held it).
        let value = decoded.replace('\0', "\\0");
        let span = decoded.find('\0').map(|i| i..i + 2);
        out.push(Hit {
            rule: NUL_BYTE,
            location: location.clone(),
            value,
            span,
            detail: None,
            weak: false,
        });
    } else if location.part != Part::Header
        && location.part != Part::Body
        && location.part != Part::BodyArg
        && decoded
            .bytes()
            .any(|b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    {
        hit_at(out, CONTROL_CHAR, location, decoded.to_owned(), |c| {
            c < ' ' && !matches!(c, '\t' | '\n' | '\r')
        });
    }
    // The `_charset_` field tells the server how to decode the whole form.
    // The value is the charset name or method: all of it is the evidence.
    if location.name.as_deref() == Some("_charset_")
        && matches!(location.part, Part::QueryArg | Part::BodyArg)
        && !allowed_charset(decoded)
    {
        out.push(Hit {
            rule: BAD_CHARSET,
            location: location.clone(),
            value: decoded.to_owned(),
            span: None,
            detail: None,
            weak: false,
        });
    }
    if is_method_override(location, decoded) {
        out.push(Hit {
            rule: METHOD_OVERRIDE,
            location: location.clone(),
            value: decoded.to_owned(),
            span: None,
            detail: None,
            weak: false,
        });
    }
    if has_replacement_char(decoded) && !has_replacement_char(raw) {
        hit_at(out, INVALID_UTF8, location, decoded.to_owned(), |c| {
            c == '\u{FFFD}'
        });
    }
}

/// Whether `s` holds U+FFFD. Its first byte (0xEF) found by memchr first: a
/// three-byte substring search per value cost more than the rest of these checks.
fn has_replacement_char(s: &str) -> bool {
    memchr::memchr(0xEF, s.as_bytes()).is_some() && s.contains('\u{FFFD}')
}

/// Whether every Cache-Control directive is one a client sends (RFC 9111
/// request directives, plus must-revalidate, which some clients copy from
/// responses). Anything else is a probe of the cache layer or padding, and an
/// empty directive (`a,,b`) shows a hand-made header.
fn cache_control_ok(value: &str) -> bool {
    value.split(',').all(|d| {
        let (name, arg) = match d.split_once('=') {
            Some((n, a)) => (n.trim(), Some(a.trim())),
            None => (d.trim(), None),
        };
        let seconds =
            || arg.is_some_and(|a| !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()));
        match name.to_ascii_lowercase().as_str() {
            "max-age" | "min-fresh" | "stale-if-error" => seconds(),
            "max-stale" => arg.is_none() || seconds(),
            "no-cache" | "no-store" | "no-transform" | "only-if-cached" | "must-revalidate" => {
                arg.is_none()
            }
            _ => false,
        }
    })
}

/// A form field or header that makes frameworks (Rails, Laravel, Symfony,
/// Express method-override) treat the request as another method: it walks
/// past method restrictions enforced in front of the application. Only real
/// method names count (anything else the framework ignores), and not the
/// safe GET / HEAD / POST: Rails forms (GitHub's among them) send
/// `_method=GET` and `_method=post` routinely, and those unlock nothing.
fn is_method_override(location: &Location, value: &str) -> bool {
    let name = location.name.as_deref().unwrap_or("");
    let carrier = match location.part {
        Part::QueryArg | Part::BodyArg => name.eq_ignore_ascii_case("_method"),
        Part::Header => matches!(
            name,
            "x-http-method-override" | "x-http-method" | "x-method-override"
        ),
        _ => false,
    };
    const METHODS: &[&str] = &[
        "PUT",
        "DELETE",
        "PATCH",
        "OPTIONS",
        "CONNECT",
        "TRACE",
        "PROPFIND",
        "PROPPATCH",
        "MKCOL",
        "COPY",
        "MOVE",
        "LOCK",
        "UNLOCK",
        "SEARCH",
    ];
    carrier && METHODS.iter().any(|m| value.trim().eq_ignore_ascii_case(m))
}

/// Turns body parser problems into hits.
pub fn check_body(problems: &[BodyProblem], out: &mut Vec<Hit>) {
    for p in problems {
        let (rule, value) = match p {
            BodyProblem::MalformedJson(m)
            | BodyProblem::MalformedMultipart(m)
            | BodyProblem::MalformedXml(m) => (MALFORMED_BODY, m.as_str()),
            BodyProblem::TooDeep => (BODY_TOO_DEEP, ""),
            BodyProblem::TooManyArgs => (TOO_MANY_ARGS, ""),
            BodyProblem::XmlDoctype => (XML_DOCTYPE, "<!DOCTYPE"),
        };
        hit(out, rule, Part::Body, None, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn ids(req: &Request) -> Vec<u32> {
        let mut out = Vec::new();
        check_head(req, &Policy::default().allowed_methods, &mut out);
        out.into_iter().map(|h| h.rule).collect()
    }

    fn browser(method: &str, target: &str) -> Request {
        Request::new(method, target)
            .header("Host", "x")
            .header("User-Agent", "ua")
            .header("Accept", "*/*")
    }

    #[test]
    fn cache_control_directives() {
        for ok in [
            "no-cache",
            "max-age=0",
            "no-cache, no-store",
            "max-age=123, max-stale, no-cache",
        ] {
            assert!(cache_control_ok(ok), "{ok}");
        }
        for bad in [
            "private",
            "foo=bar",
            "max-age=1, foo=bar",
            "max-age=1,,,max-stale=2",
            "max-age=x",
            "",
        ] {
            assert!(!cache_control_ok(bad), "{bad}");
        }
    }

    #[test]
    fn clean_request_has_no_protocol_findings() {
        assert!(ids(&browser("GET", "/a?b=%20c")).is_empty());
    }

    #[test]
    fn protocol_anomalies_are_found() {
        assert_eq!(ids(&browser("TRACK", "/")), vec![METHOD_NOT_ALLOWED]);
        assert_eq!(
            ids(&Request::new("GET", "/")
                .header("User-Agent", "u")
                .header("Accept", "a")),
            vec![MISSING_HOST]
        );
        let smuggle = browser("POST", "/")
            .header("Content-Length", "4")
            .header("Transfer-Encoding", "chunked");
        assert_eq!(ids(&smuggle), vec![CL_TE_CONFLICT]);
        assert_eq!(
            ids(&browser("POST", "/").header("Content-Length", "4x")),
            vec![BAD_CONTENT_LENGTH]
        );
        assert_eq!(ids(&browser("GET", "/?a=%zz")), vec![BAD_PERCENT_ENCODING]);
        assert_eq!(ids(&browser("GET", "/?a=%u0027")), Vec::<u32>::new());
        assert_eq!(ids(&browser("GET", "/?a=%")), vec![BAD_PERCENT_ENCODING]);
        let te = browser("POST", "/").header("Transfer-Encoding", "gzip, chunked");
        assert_eq!(ids(&te), vec![BAD_TRANSFER_ENCODING]);
    }

    #[test]
    fn framing_and_target_shapes() {
        let get_te = browser("GET", "/").header("Transfer-Encoding", "chunked");
        assert_eq!(ids(&get_te), vec![GET_WITH_BODY]);
        let conn = |v: &str| ids(&browser("GET", "/").header("Connection", v));
        assert_eq!(conn("close, close"), vec![CONNECTION_CONFLICT]);
        assert_eq!(conn("keep-alive,Close"), vec![CONNECTION_CONFLICT]);
        assert!(conn("keep-alive, Upgrade").is_empty());
        assert_eq!(
            ids(&browser("GET", "http://localhost")),
            vec![ABSOLUTE_WITHOUT_PATH]
        );
        assert!(ids(&browser("GET", "http://localhost/")).is_empty());
        assert!(!ids(&browser("CONNECT", "http://example.com")).contains(&ABSOLUTE_WITHOUT_PATH));
        assert_eq!(ids(&browser("GET", "/?p=%c0%af")), vec![OVERLONG_ENCODING]);
        assert_eq!(
            ids(&browser("GET", "/?p=%E0%80%AF")),
            vec![OVERLONG_ENCODING]
        );
        assert_eq!(ids(&browser("GET", "/?p=%uFF0F")), vec![OVERLONG_ENCODING]);
        // Latin-1 capitals and ordinary UTF-8 stay quiet.
        assert!(ids(&browser("GET", "/?n=%C1lvaro&c=%C3%A9")).is_empty());
        assert!(ids(&browser("GET", "/?p=%E2%82%AC&u=%u4e2d")).is_empty());
        assert!(ids(&browser("GET", "/?p=%c0")).is_empty());
        let empty_host = Request::new("GET", "/")
            .header("Host", " ")
            .header("User-Agent", "u")
            .header("Accept", "a");
        assert!(ids(&empty_host).contains(&EMPTY_HOST));
        let mp = |ct: &str| ids(&browser("POST", "/").header("Content-Type", ct));
        assert_eq!(mp("multipart/foo; boundary=x"), vec![UNKNOWN_MULTIPART]);
        assert!(mp("multipart/form-data; boundary=x").is_empty());
        assert!(mp("Multipart/Related; boundary=x").is_empty());
    }

    #[test]
    fn multipart_part_charsets() {
        let run = |ct: Option<&str>, body: &str| {
            let mut out = Vec::new();
            check_multipart_charsets(ct, body.as_bytes(), &mut out);
            out.len()
        };
        let ct = Some("multipart/form-data; boundary=b");
        let part = |cs: &str| {
            format!(
                "--b\r\nContent-Disposition: form-data; name=\"a\"\r\nContent-Type: text/plain; charset={cs}\r\n\r\nv\r\n--b--\r\n"
            )
        };
        assert_eq!(run(ct, &part("utf-7")), 1);
        assert_eq!(run(ct, &part("\"UTF-16\"")), 1);
        assert_eq!(run(ct, &part("UTF-8")), 0);
        assert_eq!(run(ct, &part("\"iso-8859-1\"")), 0);
        // Not multipart, or a header-like line in a part's content.
        assert_eq!(run(Some("text/plain"), &part("utf-7")), 0);
        let content = "--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nContent-Type: text/plain; charset=utf-7\r\n--b--\r\n";
        assert_eq!(run(ct, content), 0);
    }

    #[test]
    fn charset_field_values() {
        let loc = Location::new(Part::BodyArg, Some("_charset_"));
        let mut out = Vec::new();
        check_value(&loc, "utf-8", "utf-8", &mut out);
        assert!(out.is_empty());
        check_value(&loc, "utf-", "utf-", &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn nul_and_lost_utf8_in_values() {
        let loc = Location::new(Part::QueryArg, Some("f"));
        let mut out = Vec::new();
        check_value(&loc, "a%00", "a\0", &mut out);
        check_value(&loc, "%ff", "\u{FFFD}", &mut out);
        let ids: Vec<_> = out.iter().map(|h| h.rule).collect();
        assert_eq!(ids, vec![NUL_BYTE, INVALID_UTF8]);
    }
}
