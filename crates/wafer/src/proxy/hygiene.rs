//! Requests refused before anything else (400): the ones a back end could
//! read differently from Wafer. Two `Content-Type` headers (which one did the
//! application take?), two `Content-Length` headers even when equal (the
//! framing of a request must have one reading), two `Host` headers or none
//! on HTTP/1.1 (RFC 9112 §3.2), an HTTP/2 `host` header naming another host
//! than `:authority` (RFC 9113 §8.3.1: the upstream gets `:authority`, so the
//! engine must not have looked at another name), and a `Host` or authority
//! that is not a host name, an IP address or an IP literal with an optional
//! port.

use http::{HeaderMap, Version, header};

/// Why a request is malformed, for the event and the log.
pub(super) fn problem(
    version: Version,
    uri: &http::Uri,
    headers: &HeaderMap,
) -> Option<&'static str> {
    let count = |name: header::HeaderName| headers.get_all(name).iter().count();
    if count(header::CONTENT_TYPE) > 1 {
        return Some("more than one Content-Type header");
    }
    if count(header::CONTENT_LENGTH) > 1 {
        return Some("more than one Content-Length header");
    }
    match count(header::HOST) {
        0 if version == Version::HTTP_11 && uri.authority().is_none() => {
            return Some("HTTP/1.1 request without Host");
        }
        0 | 1 => {}
        _ => return Some("more than one Host header"),
    }
    if let Some(h) = headers.get(header::HOST)
        && !valid_host(h.as_bytes())
    {
        return Some("Host header is not a host name or address");
    }
    if let Some(a) = uri.authority()
        && !valid_host(a.as_str().as_bytes())
    {
        return Some("request authority is not a host name or address");
    }
    if version == Version::HTTP_2
        && let (Some(a), Some(h)) = (uri.authority(), headers.get(header::HOST))
        && !a.as_str().as_bytes().eq_ignore_ascii_case(h.as_bytes())
    {
        return Some("HTTP/2 host header differs from :authority");
    }
    None
}

/// `host[:port]`: a name of letters, digits, `-`, `.`, `_` and `~` (what DNS
/// and the URI grammar's unreserved set share; percent escapes and
/// sub-delimiters are legal in URIs but no real host name has them, and they
/// are how markup and SQL ride in this header), or `[IPv6]`.
fn valid_host(b: &[u8]) -> bool {
    let (host, port) = match b.first() {
        Some(b'[') => match b.iter().position(|&c| c == b']') {
            Some(end) => {
                let literal = &b[1..end];
                let ok = !literal.is_empty()
                    && literal
                        .iter()
                        .all(|c| c.is_ascii_hexdigit() || matches!(c, b':' | b'.'));
                if !ok {
                    return false;
                }
                (&b[..=end], &b[end + 1..])
            }
            None => return false,
        },
        _ => match b.iter().rposition(|&c| c == b':') {
            Some(i) => (&b[..i], &b[i..]),
            None => (b, &b""[..]),
        },
    };
    let port_ok = match port {
        [] => true,
        [b':', digits @ ..] => digits.len() <= 5 && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    let name_ok = host.first() == Some(&b'[')
        || (!host.is_empty()
            && host.len() <= 253
            && host
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~')));
    port_ok && name_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_and_addresses_pass() {
        for h in [
            "shop.example",
            "shop.example:8080",
            "127.0.0.1:80",
            "[::1]:8080",
            "[2001:db8::1]",
            "xn--bcher-kva.example",
            "a_b.local",
            "localhost:",
        ] {
            assert!(valid_host(h.as_bytes()), "{h}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for h in [
            "",
            "a b",
            "a/b",
            "<script>alert(1)</script>",
            "' UNION SELECT 1--",
            "x:80:80",
            "x:123456",
            "[::1",
            "[zz]",
            "a%2fb",
            "a@b",
            "shop.example/x?y",
        ] {
            assert!(!valid_host(h.as_bytes()), "{h}");
        }
    }

    #[test]
    fn repeated_framing_and_type_headers_are_problems() {
        let uri: http::Uri = "/".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert(header::HOST, "a".parse().unwrap());
        assert_eq!(problem(Version::HTTP_11, &uri, &h), None);
        let mut two_ct = h.clone();
        two_ct.append(header::CONTENT_TYPE, "a/b".parse().unwrap());
        two_ct.append(header::CONTENT_TYPE, "c/d".parse().unwrap());
        assert!(problem(Version::HTTP_11, &uri, &two_ct).is_some());
        let mut two_cl = h.clone();
        two_cl.append(header::CONTENT_LENGTH, "5".parse().unwrap());
        two_cl.append(header::CONTENT_LENGTH, "5".parse().unwrap());
        assert!(problem(Version::HTTP_11, &uri, &two_cl).is_some());
        let mut two_host = h.clone();
        two_host.append(header::HOST, "b".parse().unwrap());
        assert!(problem(Version::HTTP_11, &uri, &two_host).is_some());
        assert!(problem(Version::HTTP_11, &uri, &HeaderMap::new()).is_some());
        assert_eq!(problem(Version::HTTP_10, &uri, &HeaderMap::new()), None);
        let h2: http::Uri = "http://a.example/".parse().unwrap();
        assert_eq!(problem(Version::HTTP_2, &h2, &HeaderMap::new()), None);
    }

    #[test]
    fn h2_host_must_name_the_authority() {
        let uri: http::Uri = "http://shop.example/".parse().unwrap();
        let host = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, v.parse().unwrap());
            h
        };
        assert_eq!(problem(Version::HTTP_2, &uri, &host("SHOP.example")), None);
        assert!(problem(Version::HTTP_2, &uri, &host("evil.example")).is_some());
        assert!(problem(Version::HTTP_2, &uri, &host("shop.example:8080")).is_some());
        // Only a host header (no :authority) is what HTTP/2 clients may send instead.
        let origin: http::Uri = "/".parse().unwrap();
        assert_eq!(
            problem(Version::HTTP_2, &origin, &host("shop.example")),
            None
        );
    }
}
