//! A request as a fixed-length vector of numbers.
//!
//! The schema is versioned ([`SCHEMA_VERSION`]): a model trained on one
//! schema is refused by code computing another. Change a name, an order, a
//! scale or a cap below and bump the version.
//!
//! Lengths and most counts (those named `log_*`) are `log2(1 + n)`: an
//! isolation forest splits uniformly between a feature's minimum and maximum,
//! and with raw numbers one 60 KiB upload, or one JSON body with 500 quotes,
//! in a sample would leave nearly every split far above where attacks sit
//! (a few tokens, tens to hundreds of bytes). Ratios, small counts (headers,
//! path depth) and flags are raw.
//!
//! Arguments are the query pairs, then the body's (form, JSON leaves,
//! multipart fields, XML text; a text body is one argument named `(body)`),
//! percent-decoded. Work is capped: 64 arguments, 8 KiB per value, 64 KiB
//! of body and of query; past the caps counts are still estimated from the
//! raw bytes so ten thousand arguments do not look like sixty-four.
//!
//! Tokens (`log_tok_*`) are counted, case-insensitively, in the decoded path,
//! the cookie values and the arguments' names and values; not in other
//! headers, whose normal values (User-Agent: `;`, `(`) would drown them.
//! Character-class ratios are over argument values only.

use super::route::{ArgView, RouteProfiles, route_template};
use crate::body::{self, BodyKind, BodyLimits};
use crate::request::{Part, Request};
use aho_corasick::AhoCorasick;
use std::borrow::Cow;
use std::sync::LazyLock;

/// Bump on any change to the features' meaning.
pub const SCHEMA_VERSION: u32 = 1;
/// Number of features.
pub const N: usize = 33;
/// A request's features, in [`FEATURE_NAMES`] order.
pub type Features = [f32; N];

pub const FEATURE_NAMES: [&str; N] = [
    "method",           // 0 GET/HEAD, 1 POST, 2 other
    "content_type",     // 0 none, 1 form, 2 json, 3 multipart, 4 xml, 5 other
    "log_path_len",     // raw path
    "path_depth",       // segments
    "log_query_len",    // raw query
    "log_body_len",     // whole body as received
    "header_count",     //
    "log_header_bytes", // names + values
    "log_cookie_count", //
    "log_arg_count",    // query pairs + body arguments
    "log_arg_name_len_max",
    "log_arg_value_len_max",
    "log_arg_value_len_mean",
    "value_entropy", // bits per byte over all values
    "special_ratio", // ASCII punctuation / value bytes
    "digit_ratio",
    "upper_ratio",
    "non_ascii_ratio",
    "pct_encoded_ratio",   // bytes in %XX escapes / raw query + form body bytes
    "log_tok_quote",       // ' "
    "log_tok_comment",     // -- /* */
    "log_tok_angle",       // <
    "log_tok_traversal",   // ../ ..\
    "log_tok_semicolon",   // ;
    "log_tok_shell",       // $( ` | &&
    "log_tok_template",    // {{ ${ <% #{
    "log_tok_sql",         // select union insert sleep( ...
    "log_tok_script",      // script javascript: onerror alert( ...
    "log_tok_file",        // /etc/ /bin/ :// php: c:\ win.ini
    "route_unseen",        // 1 when the route has no profile
    "route_unknown_names", // fraction of argument names the route never had
    "log_route_shape_mismatch", // arguments whose shape the route does not see for the name
    "log_route_len_z_max", // largest |len - mean| / std over known names
];

/// Feature indexes, for code that reads a vector.
pub mod idx {
    pub const TOK_FIRST: usize = 19;
    pub const ROUTE_UNSEEN: usize = 29;
    pub const ROUTE_UNKNOWN: usize = 30;
    pub const ROUTE_SHAPE: usize = 31;
    pub const ROUTE_Z: usize = 32;
}

pub const MAX_ARGS: usize = 64;
pub const MAX_VALUE: usize = 8 * 1024;
pub const MAX_BODY: usize = 64 * 1024;
const MAX_QUERY: usize = 64 * 1024;
/// Deepest JSON/XML nesting the features' own body parse reads. The
/// transaction hands over its parse of the body only when it used this same
/// depth (`tx/body_phase.rs`), so that the features come out the same either way.
pub const MAX_DEPTH: usize = 32;

/// (pattern, token feature offset from `idx::TOK_FIRST`), matched without
/// regard to case.
const TOKENS: &[(&str, usize)] = &[
    ("'", 0),
    ("\"", 0),
    ("--", 1),
    ("/*", 1),
    ("*/", 1),
    ("<", 2),
    ("../", 3),
    ("..\\", 3),
    (";", 4),
    ("$(", 5),
    ("`", 5),
    ("|", 5),
    ("&&", 5),
    ("{{", 6),
    ("${", 6),
    ("<%", 6),
    ("#{", 6),
    ("select", 7),
    ("union", 7),
    ("insert", 7),
    ("sleep(", 7),
    ("benchmark(", 7),
    (" or ", 7),
    ("information_schema", 7),
    ("script", 8),
    ("javascript:", 8),
    ("onerror", 8),
    ("onload", 8),
    ("alert(", 8),
    ("eval(", 8),
    ("/etc/", 9),
    ("/bin/", 9),
    ("://", 9),
    ("php:", 9),
    ("c:\\", 9),
    ("win.ini", 9),
];

static MATCHER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(TOKENS.iter().map(|(p, _)| p))
        .expect("token patterns are literals")
});

/// The arguments of a request as the features see them: decoded, capped,
/// with names normalized (array indexes in dotted JSON paths become `*`,
/// so `items.0.sku` and `items.7.sku` are one name).
pub(crate) struct Args {
    pub(crate) pairs: Vec<(String, String)>,
    /// All arguments, including those past the cap (estimated from raw bytes).
    pub(crate) total: usize,
    /// Bytes in `%XX` escapes, and raw bytes they were counted over.
    pct_bytes: usize,
    raw_bytes: usize,
    kind: u8,
}

#[cfg(test)]
pub(crate) fn args(req: &Request) -> Args {
    args_with(req, None)
}

/// The engine's own parse of the body, when it gives exactly what
/// [`args`] would (same depth limit, under the argument cap, the whole body
/// under `MAX_BODY`): then the body is not parsed a second time. Training
/// uses [`args`]; the two must agree, and a test checks that they do.
pub(crate) fn reusable(req: &Request, values: &[crate::request::Value]) -> bool {
    !req.body_truncated && req.body.len() <= MAX_BODY && values.len() < 2 * MAX_ARGS
}

pub(crate) fn args_with(req: &Request, body: Option<&[crate::request::Value]>) -> Args {
    let mut out = Args {
        pairs: Vec::new(),
        total: 0,
        pct_bytes: 0,
        raw_bytes: 0,
        kind: 0,
    };
    if let Some(q) = req.raw_query() {
        let all = q;
        let q = prefix(q, MAX_QUERY);
        // Past the cap only `&` are counted (memchr, cheap), so a huge query
        // still shows how many arguments it has.
        out.total += q.split('&').filter(|p| !p.is_empty()).count()
            + memchr::memchr_iter(b'&', &all.as_bytes()[q.len()..]).count();
        out.pct_bytes += pct_escapes(q.as_bytes()) * 3;
        out.raw_bytes += q.len();
        for (k, v) in body::urlencoded::pairs(q, MAX_ARGS) {
            out.pairs.push((norm_name(k), cap(v)));
        }
    }
    let ct = req.header_value("content-type");
    let kind = body::kind_of(ct);
    out.kind = match (ct, kind) {
        (None, _) => 0,
        (_, BodyKind::UrlEncoded) => 1,
        (_, BodyKind::Json) => 2,
        (_, BodyKind::Multipart) => 3,
        (_, BodyKind::Xml) => 4,
        _ => 5,
    };
    if req.body.is_empty() {
        return out;
    }
    let cut = req.body.len() > MAX_BODY;
    let raw = &req.body[..req.body.len().min(MAX_BODY)];
    let room = MAX_ARGS.saturating_sub(out.pairs.len());
    match kind {
        BodyKind::UrlEncoded => {
            let text = String::from_utf8_lossy(raw);
            out.total += text.split('&').filter(|p| !p.is_empty()).count();
            out.pct_bytes += pct_escapes(raw) * 3;
            out.raw_bytes += raw.len();
            for (k, v) in body::urlencoded::pairs(&text, room) {
                out.pairs.push((norm_name(k), cap(v)));
            }
        }
        BodyKind::Text => {
            out.total += 1;
            if room > 0 {
                let v = String::from_utf8_lossy(&raw[..raw.len().min(MAX_VALUE)]);
                out.pairs.push(("(body)".into(), cap(v.into_owned())));
            }
        }
        BodyKind::Opaque => {}
        BodyKind::Json | BodyKind::Multipart | BodyKind::Xml
            if body.is_some_and(|v| reusable(req, v)) =>
        {
            let mut n = 0;
            for v in body
                .unwrap_or_default()
                .iter()
                .filter(|v| v.location.part == Part::BodyArg)
            {
                n += 1;
                if out.pairs.len() < MAX_ARGS {
                    let name = v.location.name.clone().unwrap_or_default();
                    let text = crate::decode::url::percent_decode(&v.text).into_owned();
                    out.pairs.push((norm_name(name), cap(text)));
                }
            }
            out.total += n;
        }
        BodyKind::Json | BodyKind::Multipart | BodyKind::Xml => {
            // One more than we keep, to know there were more.
            let limits = BodyLimits {
                max_depth: MAX_DEPTH,
                max_args: 2 * MAX_ARGS,
            };
            let parsed = body::parse(ct, raw, cut || req.body_truncated, &limits);
            let mut n = 0;
            for a in parsed.args.into_iter().filter(|a| a.part == Part::BodyArg) {
                n += 1;
                if out.pairs.len() < MAX_ARGS {
                    let v = match crate::decode::url::percent_decode(&a.value) {
                        Cow::Borrowed(_) => a.value,
                        Cow::Owned(d) => d,
                    };
                    out.pairs.push((norm_name(a.name), cap(v)));
                }
            }
            out.total += n;
        }
    }
    out
}

fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn cap(mut v: String) -> String {
    if v.len() > MAX_VALUE {
        let end = prefix(&v, MAX_VALUE).len();
        v.truncate(end);
    }
    v
}

/// Argument names are cut to this many bytes.
pub(crate) const MAX_NAME: usize = 128;

fn norm_name(mut n: String) -> String {
    if n.len() > MAX_NAME {
        let end = prefix(&n, MAX_NAME).len();
        n.truncate(end);
    }
    if !n.contains('.') || !n.bytes().any(|b| b.is_ascii_digit()) {
        return n;
    }
    n.split('.')
        .map(|s| {
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                "*"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn pct_escapes(b: &[u8]) -> usize {
    memchr::memchr_iter(b'%', b)
        .filter(|&i| {
            i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()
        })
        .count()
}

fn log_len(n: usize) -> f32 {
    (1.0 + n as f32).log2()
}

/// The feature vector of `req`, with the route features judged against
/// `routes` (an empty [`RouteProfiles`] makes every route unseen).
pub fn extract(req: &Request, routes: &RouteProfiles) -> Features {
    extract_with(req, None, routes)
}

/// [`extract`], reusing the engine's parse of the body where it can.
pub fn extract_with(
    req: &Request,
    body: Option<&[crate::request::Value]>,
    routes: &RouteProfiles,
) -> Features {
    let a = args_with(req, body);
    let template = route_template(req.raw_path());
    from_args(req, &a, &template, routes)
}

pub(crate) fn from_args(
    req: &Request,
    a: &Args,
    template: &str,
    routes: &RouteProfiles,
) -> Features {
    let mut f = base(req, a);
    route_features(&mut f, &a.pairs, template, routes);
    f
}

/// Every feature but the route features (left 0): what a request gives
/// before the routes are known (see [`Sample`](super::Sample)).
pub(crate) fn base(req: &Request, a: &Args) -> Features {
    let mut f = [0f32; N];
    let m = req.method.as_str();
    f[0] = if m.eq_ignore_ascii_case("GET") || m.eq_ignore_ascii_case("HEAD") {
        0.0
    } else if m.eq_ignore_ascii_case("POST") {
        1.0
    } else {
        2.0
    };
    f[1] = f32::from(a.kind);
    let path = req.raw_path();
    f[2] = log_len(path.len());
    f[3] = path.split('/').filter(|s| !s.is_empty()).count() as f32;
    f[4] = log_len(req.raw_query().map_or(0, str::len));
    f[5] = log_len(req.body.len());
    f[6] = req.headers.len() as f32;
    f[7] = log_len(
        req.headers
            .iter()
            .map(|(n, v)| n.len() + v.len())
            .sum::<usize>(),
    );

    let mut toks = [0u32; 10];
    let mut scan = |s: &str| {
        for m in MATCHER.find_iter(s) {
            toks[TOKENS[m.pattern().as_usize()].1] += 1;
        }
    };
    let mut cookies = 0usize;
    for (n, v) in &req.headers {
        if n.eq_ignore_ascii_case("cookie") {
            for (_, cv) in crate::view::cookies(v).take(MAX_ARGS) {
                cookies += 1;
                scan(&crate::decode::url::percent_decode(prefix(cv, MAX_VALUE)));
            }
        }
    }
    f[8] = log_len(cookies);
    f[9] = log_len(a.total);
    scan(&crate::decode::url::percent_decode(prefix(path, MAX_VALUE)));

    let mut hist = [0u32; 256];
    let (mut bytes, mut special, mut digit, mut upper, mut non_ascii) = (0usize, 0, 0, 0, 0);
    let (mut name_max, mut val_max, mut val_sum) = (0usize, 0usize, 0usize);
    for (k, v) in &a.pairs {
        scan(k);
        scan(v);
        name_max = name_max.max(k.len());
        val_max = val_max.max(v.len());
        val_sum += v.len();
        for &b in v.as_bytes() {
            hist[usize::from(b)] += 1;
            special += usize::from(b.is_ascii_punctuation());
            digit += usize::from(b.is_ascii_digit());
            upper += usize::from(b.is_ascii_uppercase());
            non_ascii += usize::from(!b.is_ascii());
        }
        bytes += v.len();
    }
    f[10] = log_len(name_max);
    f[11] = log_len(val_max);
    f[12] = if a.pairs.is_empty() {
        0.0
    } else {
        log_len(val_sum / a.pairs.len())
    };
    if bytes > 0 {
        let total = bytes as f32;
        f[13] = hist
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f32 / total;
                -p * p.log2()
            })
            .sum();
        f[14] = special as f32 / total;
        f[15] = digit as f32 / total;
        f[16] = upper as f32 / total;
        f[17] = non_ascii as f32 / total;
    }
    if a.raw_bytes > 0 {
        f[18] = a.pct_bytes as f32 / a.raw_bytes as f32;
    }
    for (i, t) in toks.iter().enumerate() {
        f[idx::TOK_FIRST + i] = log_len(*t as usize);
    }
    f
}

/// Sets the route features of `f` from the request's arguments (at most
/// [`MAX_ARGS`], as [`Args::pairs`]) judged against its route.
pub(crate) fn route_features<A: ArgView>(
    f: &mut Features,
    args: &[A],
    template: &str,
    routes: &RouteProfiles,
) {
    let Some(route) = routes.get(template) else {
        // Unseen: nothing to compare with. The other route features stay 0 so
        // the forest sees unseen routes as one group (training has them too:
        // every route below the minimum count).
        f[idx::ROUTE_UNSEEN] = 1.0;
        return;
    };
    let (mut unknown, mut mismatch, mut z) = (0usize, 0usize, 0f32);
    for a in args {
        match route.names.get(a.name()) {
            None => unknown += 1,
            Some(p) => {
                mismatch += usize::from(p.unusual(a.shape()));
                z = z.max(p.z(a.value_len()));
            }
        }
    }
    if !args.is_empty() {
        f[idx::ROUTE_UNKNOWN] = unknown as f32 / args.len() as f32;
    }
    f[idx::ROUTE_SHAPE] = log_len(mismatch);
    f[idx::ROUTE_Z] = (1.0 + z).log2();
}
