//! The normalized view of a request: every inspectable value with its location.

use crate::body::{BodyArg, urlencoded};
use crate::request::{Location, Part, Request, Value};

/// Headers whose values carry no attack surface worth a signature scan and are
/// noisy in real traffic (checked by the protocol detector instead).
const SKIPPED_HEADERS: &[&str] = &[
    "content-length",
    "cookie",
    "connection",
    "transfer-encoding",
];

/// Values from the request head: method, request line, path, query, headers, cookies.
pub fn head_values(req: &Request, max_args: usize) -> Vec<Value> {
    head_values_except(req, max_args, &|_, _, _| false)
}

/// [`head_values`] without the header and cookie values for which `skip(part,
/// name, text)` says so (values already known clean), which are then not copied.
pub fn head_values_except(
    req: &Request,
    max_args: usize,
    skip: &dyn Fn(Part, &str, &str) -> bool,
) -> Vec<Value> {
    let mut out = Vec::with_capacity(8 + req.headers.len());
    let push = |out: &mut Vec<Value>, part, name: Option<&str>, text: &str| {
        out.push(Value {
            location: Location::new(part, name),
            text: text.to_owned(),
        });
    };
    let push_unless_known = |out: &mut Vec<Value>, part, name: &str, text: &str| {
        if !skip(part, name, text) {
            push(out, part, Some(name), text);
        }
    };
    push(&mut out, Part::Method, None, &req.method);
    let line = format!("{} {} {}", req.method, req.target, req.version);
    push(&mut out, Part::RequestLine, None, &line);
    push(&mut out, Part::Path, None, req.raw_path());
    if let Some(q) = req.raw_query() {
        push(&mut out, Part::QueryString, None, q);
        let first = out.len();
        for (k, v) in urlencoded::pairs(q, max_args) {
            push(&mut out, Part::QueryArg, Some(&k), &v);
            push(&mut out, Part::QueryArgName, Some(&k), &k);
        }
        let joined = joined_repeats(&out[first..], Part::QueryArg);
        out.extend(joined);
    }
    for (name, value) in &req.headers {
        // HTTP/2 and the proxy's HTTP/1 parser give lowercase names already.
        let lname: std::borrow::Cow<'_, str> = if name.bytes().any(|b| b.is_ascii_uppercase()) {
            name.to_ascii_lowercase().into()
        } else {
            name.as_str().into()
        };
        if lname == "cookie" {
            for (k, v) in cookies(value) {
                push_unless_known(&mut out, Part::Cookie, k, v);
                push_unless_known(&mut out, Part::CookieName, k, k);
            }
        }
        if SKIPPED_HEADERS.contains(&&*lname)
            || (lname == "sec-websocket-key" && is_websocket_nonce(value))
        {
            continue;
        }
        push_unless_known(&mut out, Part::Header, &lname, value);
    }
    out
}

/// A WebSocket handshake's nonce as RFC 6455 has it: 16 random bytes in
/// base64, 24 characters ending in `==`. Random base64 reads as text now and
/// then (`OnrQzz...w==` looked like an `onX=` event handler and blocked a
/// handshake in the soak test), and nothing fits in 16 bytes; any other value
/// is inspected like every header.
fn is_websocket_nonce(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() == 24
        && b.ends_with(b"==")
        && b[..22]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
}

/// `a=1; b=2` → pairs. Values are not URL-decoded here; the decode chain does that.
pub fn cookies(header: &str) -> impl Iterator<Item = (&str, &str)> {
    header.split(';').filter_map(|c| {
        let c = c.trim();
        if c.is_empty() {
            return None;
        }
        Some(
            c.split_once('=')
                .map_or((c, ""), |(k, v)| (k.trim(), v.trim())),
        )
    })
}

/// Arguments of `part` named more than once, each name's values joined with
/// commas, as ASP.NET and others hand them to the application: `q=' UNION/*`
/// and `q=*/SELECT` are harmless apart and an injection joined.
pub fn joined_repeats(values: &[Value], part: Part) -> Vec<Value> {
    let mut by_name: Vec<(&str, Vec<&str>)> = Vec::new();
    // The names are the client's: a seeded hash, so they cannot be chosen to collide.
    let mut index: std::collections::HashMap<&str, usize, foldhash::fast::RandomState> =
        std::collections::HashMap::default();
    for v in values.iter().filter(|v| v.location.part == part) {
        let name = v.location.name.as_deref().unwrap_or("");
        match index.get(name) {
            Some(&i) => by_name[i].1.push(&v.text),
            None => {
                index.insert(name, by_name.len());
                by_name.push((name, vec![&v.text]));
            }
        }
    }
    by_name
        .into_iter()
        .filter(|(_, texts)| texts.len() > 1)
        .map(|(name, texts)| Value {
            location: Location::new(part, Some(name)),
            text: texts.join(","),
        })
        .collect()
}

/// Body arguments as values.
pub fn body_values(args: Vec<BodyArg>) -> impl Iterator<Item = Value> {
    args.into_iter().map(|a| Value {
        location: Location {
            part: a.part,
            name: Some(a.name),
        },
        text: a.value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_names_are_also_inspected_joined() {
        let req = Request::new("GET", "/?q=%27+UNION%2F*&x=1&q=*%2FSELECT+password&x=1");
        let vals = head_values(&req, 100);
        let joined: Vec<_> = vals
            .iter()
            .filter(|v| v.location.part == Part::QueryArg && v.text.contains(','))
            .map(|v| (v.location.name.as_deref(), v.text.as_str()))
            .collect();
        assert_eq!(
            joined,
            vec![
                (Some("q"), "' UNION/*,*/SELECT password"),
                (Some("x"), "1,1")
            ]
        );
    }

    #[test]
    fn a_websocket_nonce_is_not_inspected_anything_else_in_its_header_is() {
        let values = |key: &str| {
            let raw = format!(
                "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nSec-WebSocket-Key: {key}\r\n\r\n"
            );
            let req = Request::parse_raw(raw.as_bytes()).unwrap();
            head_values(&req, 100)
                .into_iter()
                .any(|v| v.location.name.as_deref() == Some("sec-websocket-key"))
        };
        assert!(!values("OnrQzzPtNArrDKLVxGbCtw=="));
        for bad in [
            "onload=alert(1)//aaaaaaa",
            "OnrQzzPtNArrDKLVxGbCtw=",
            "OnrQzzPtNArrDKLVxGbCt<==",
            "' OR 1=1--",
        ] {
            assert!(values(bad), "{bad}");
        }
    }

    #[test]
    fn head_values_cover_every_part() {
        let req = Request::new("GET", "/a/b?id=1%27&x")
            .header("Host", "h")
            .header("Cookie", "sid=abc; theme=dark")
            .header("User-Agent", "ua");
        let vals = head_values(&req, 100);
        let find = |p: Part, n: Option<&str>| {
            vals.iter()
                .find(|v| v.location.part == p && v.location.name.as_deref() == n)
                .map(|v| v.text.as_str())
        };
        assert_eq!(find(Part::QueryArg, Some("id")), Some("1'"));
        assert_eq!(find(Part::QueryArg, Some("x")), Some(""));
        assert_eq!(find(Part::Cookie, Some("theme")), Some("dark"));
        assert_eq!(find(Part::CookieName, Some("sid")), Some("sid"));
        assert_eq!(find(Part::Header, Some("user-agent")), Some("ua"));
        // The Host header reaches the application (virtual hosts, links, resets).
        assert_eq!(find(Part::Header, Some("host")), Some("h"));
        assert_eq!(find(Part::Path, None), Some("/a/b"));
        assert_eq!(
            find(Part::RequestLine, None),
            Some("GET /a/b?id=1%27&x HTTP/1.1")
        );
    }
}
