//! "A URL to the site itself is not SSRF."
//!
//! A login form's `redirect_to=http://203.0.113.7:8080/wp-admin/` names the
//! site the browser is on, and when that site is reached by IP address the
//! SSRF rules see a URL to a bare IP (or to loopback, on a test box). The
//! Host header cannot tell us which URLs are the site's own: the attacker
//! writes it. What can is the socket the request arrived on: a URL whose
//! host is that socket's own IP address and whose port is its port points
//! at Wafer's listener, so whatever fetches it comes back through Wafer and
//! is inspected again. Nothing else is exempted: names (an internal name
//! could be chosen to match), other ports, other spellings of an address.

use std::net::{IpAddr, SocketAddr};

/// Whether `value` is an http(s) URL to exactly `local` (IP literal and port).
pub fn points_at(value: &str, local: SocketAddr) -> bool {
    let v = value.trim();
    let (scheme, rest) = match v.split_once("://") {
        Some(p) => p,
        None => return false,
    };
    let default_port = match scheme.to_ascii_lowercase().as_str() {
        "http" => 80,
        "https" => 443,
        _ => return false,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    // Userinfo, backslashes and whitespace are where URL parsers disagree.
    if authority.contains(['@', '\\', ' ', '\t', '%']) {
        return false;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() && (h.ends_with(']') || !h.contains(':')) => {
            match p.parse::<u16>() {
                Ok(p) => (h, p),
                Err(_) => return false,
            }
        }
        _ => (authority, default_port),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let Ok(ip) = host.parse::<IpAddr>() else {
        return false;
    };
    // Dotted quads only: `127.1` or `0x7f.0.0.1` parse differently elsewhere.
    if ip.is_ipv4() && host.split('.').count() != 4 {
        return false;
    }
    port == local.port() && canonical(ip) == canonical(local.ip())
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_listener_itself_is_the_site() {
        let local: SocketAddr = "127.0.0.1:38086".parse().unwrap();
        assert!(points_at("http://127.0.0.1:38086/wp-admin/", local));
        assert!(points_at(" HTTP://127.0.0.1:38086", local));
        assert!(!points_at("http://127.0.0.1:6379/", local), "another port");
        assert!(!points_at("http://127.0.0.1/", local), "default port 80");
        assert!(!points_at("http://localhost:38086/", local), "a name");
        assert!(!points_at("http://127.1:38086/", local), "short form");
        assert!(!points_at("http://x@127.0.0.1:38086/", local), "userinfo");
        assert!(!points_at("http://127.0.0.1:38086@10.0.0.1/", local));
        assert!(!points_at("gopher://127.0.0.1:38086/", local));
        assert!(!points_at("127.0.0.1:38086/", local), "no scheme");
        let public: SocketAddr = "203.0.113.7:443".parse().unwrap();
        assert!(points_at("https://203.0.113.7/login", public));
        assert!(
            !points_at("https://127.0.0.1/login", public),
            "loopback is not this socket"
        );
        let v6: SocketAddr = "[::ffff:127.0.0.1]:8080".parse().unwrap();
        assert!(points_at("http://127.0.0.1:8080/", v6));
        assert!(points_at(
            "http://[::1]:8080/",
            "[::1]:8080".parse().unwrap()
        ));
    }
}
