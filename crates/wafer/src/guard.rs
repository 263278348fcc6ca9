//! Decisions taken before inspection: IP allow- and block-lists, bans,
//! countries, rate limits, put together in order by [`door::Door`].

pub mod bans;
pub mod country;
pub mod door;
pub mod geo;
pub mod limit;
pub mod list_files;
pub mod once_per;
pub mod redis;

use ipnet::IpNet;
use std::net::IpAddr;

/// A site's answer to floods and repeat offenders: its rate limits, and how
/// many blocked requests earn a client a ban. Part of the site's policy, so
/// it is edited, saved and shared with the rest of it.
#[derive(Clone, Debug, Default)]
pub struct Throttle {
    pub rate_limits: Vec<limit::Limit>,
    pub bans: bans::BanPolicy,
}

/// CIDR lists. The allow-list wins: an allowed client is forwarded without inspection.
#[derive(Clone, Debug, Default)]
pub struct IpLists {
    pub allow: Vec<IpNet>,
    pub block: Vec<IpNet>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardDecision {
    /// On the allow-list: forward, skip inspection.
    Allow,
    /// On the block-list: 403 without inspection.
    Block,
    /// Neither: inspect.
    Inspect,
}

impl IpLists {
    /// Both sets of lists (the policy's and the files'): allowed by either wins, then blocked by either.
    pub fn check_both(&self, other: &IpLists, ip: IpAddr) -> GuardDecision {
        match (self.check(ip), other.check(ip)) {
            (GuardDecision::Allow, _) | (_, GuardDecision::Allow) => GuardDecision::Allow,
            (GuardDecision::Block, _) | (_, GuardDecision::Block) => GuardDecision::Block,
            _ => GuardDecision::Inspect,
        }
    }

    pub fn check(&self, ip: IpAddr) -> GuardDecision {
        let ip = canonical(ip);
        if self.allow.iter().any(|n| n.contains(&ip)) {
            GuardDecision::Allow
        } else if self.block.iter().any(|n| n.contains(&ip)) {
            GuardDecision::Block
        } else {
            GuardDecision::Inspect
        }
    }
}

/// An address or a network, as every IP list and trusted proxy is written
/// (a bare address is its own /32 or /128).
pub fn parse_net(v: &str) -> Result<IpNet, String> {
    v.parse::<IpNet>()
        .or_else(|_| v.parse::<IpAddr>().map(IpNet::from))
        .map_err(|_| format!("expected an IP address or CIDR like 10.0.0.0/8, not {v:?}"))
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) are matched as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_wins_and_mapped_addresses_match() {
        let lists = IpLists {
            allow: vec!["10.0.0.5/32".parse().unwrap()],
            block: vec![
                "10.0.0.0/8".parse().unwrap(),
                "2001:db8::/32".parse().unwrap(),
            ],
        };
        assert_eq!(
            lists.check("10.0.0.5".parse().unwrap()),
            GuardDecision::Allow
        );
        assert_eq!(
            lists.check("10.1.2.3".parse().unwrap()),
            GuardDecision::Block
        );
        assert_eq!(
            lists.check("::ffff:10.1.2.3".parse().unwrap()),
            GuardDecision::Block
        );
        assert_eq!(
            lists.check("2001:db8::1".parse().unwrap()),
            GuardDecision::Block
        );
        assert_eq!(
            lists.check("192.0.2.1".parse().unwrap()),
            GuardDecision::Inspect
        );
    }
}
