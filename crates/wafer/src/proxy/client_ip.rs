//! The real client address: the TCP peer, unless the peer is a trusted proxy,
//! in which case the right-most `X-Forwarded-For` entry that is not itself a
//! trusted proxy (entries further left can be forged by the client).

use http::HeaderMap;
use ipnet::IpNet;
use std::net::IpAddr;

use crate::guard::canonical;

/// Who a request is from, decided once per request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ClientAddr {
    /// The TCP peer, as accepted.
    pub(super) peer: IpAddr,
    /// Whether the peer is a trusted proxy (its forwarding headers are believed).
    pub(super) peer_trusted: bool,
    /// The client as Wafer decided it (the peer, or from a trusted proxy's `X-Forwarded-For`).
    pub(super) ip: IpAddr,
}

impl ClientAddr {
    pub(super) fn identify(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> ClientAddr {
        let canonical_peer = canonical(peer);
        let peer_trusted = trusted.iter().any(|n| n.contains(&canonical_peer));
        let ip = if peer_trusted {
            from_forwarded_for(canonical_peer, headers, trusted)
        } else {
            canonical_peer
        };
        ClientAddr {
            peer,
            peer_trusted,
            ip,
        }
    }
}

#[cfg(test)]
pub(super) fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    ClientAddr::identify(peer, headers, trusted).ip
}

/// The right-most `X-Forwarded-For` entry that is not a trusted proxy (the
/// trusted `peer` itself when there is none).
fn from_forwarded_for(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut chain: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| parse_entry(s.trim()))
        .map(canonical)
        .collect();
    let mut client = peer;
    while let Some(ip) = chain.pop() {
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:443`.
fn parse_entry(s: &str) -> Option<IpAddr> {
    if let Ok(ip) = s.parse() {
        return Some(ip);
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Some(sa.ip());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn untrusted_peer_is_the_client_whatever_it_claims() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let ip = client_ip(
            "192.0.2.7".parse().unwrap(),
            &headers(&["1.1.1.1"]),
            &trusted,
        );
        assert_eq!(ip, "192.0.2.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn trusted_peer_yields_the_rightmost_untrusted_entry() {
        let trusted = vec!["10.0.0.0/8".parse().unwrap()];
        let h = headers(&["6.6.6.6, 198.51.100.4", "10.0.0.9"]);
        let ip = client_ip("10.0.0.1".parse().unwrap(), &h, &trusted);
        assert_eq!(ip, "198.51.100.4".parse::<IpAddr>().unwrap());
        let ip = client_ip(
            "10.0.0.1".parse().unwrap(),
            &headers(&["garbage, [2001:db8::5]:80"]),
            &trusted,
        );
        assert_eq!(ip, "2001:db8::5".parse::<IpAddr>().unwrap());
        let ip = client_ip("10.0.0.1".parse().unwrap(), &HeaderMap::new(), &trusted);
        assert_eq!(ip, "10.0.0.1".parse::<IpAddr>().unwrap());
    }
}
