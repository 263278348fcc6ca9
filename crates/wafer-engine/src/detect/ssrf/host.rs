//! What a URL's host names: an address range or an internal service name,
//! after undoing the spellings that make an internal address look external
//! (decimal, octal, hex and short IPv4 forms, IPv4-mapped IPv6, zone ids,
//! Unicode look-alike digits and dots, backslashes, rebinding DNS names).

use std::net::Ipv6Addr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Dest {
    Public,
    /// RFC 1918, CGNAT, unique-local and link-local ranges.
    Private,
    /// Loopback, `0.0.0.0`, `localhost`, container and cluster service names.
    Internal,
    /// Cloud instance metadata services.
    Metadata,
}

pub(super) struct Verdict {
    pub(super) dest: Dest,
    /// The host was written in a non-canonical form (an evasion by itself).
    pub(super) disguised: bool,
    /// It is an IP literal (of any range).
    pub(super) ip: bool,
}

const HOST_CAP: usize = 255;

/// Classifies a host (no port, no userinfo). `None` when it is no host at all.
pub(super) fn classify(raw: &str) -> Option<Verdict> {
    let mut buf = [0u8; HOST_CAP];
    let (host, mapped) = fold(raw, &mut buf)?;
    let mut disguised = mapped;
    let host = host.strip_suffix(b".").unwrap_or(host);
    if host.is_empty() {
        return None;
    }
    // IPv6 literal, bracketed or bare.
    let inner = host
        .strip_prefix(b"[")
        .map(|h| h.strip_suffix(b"]").unwrap_or(h))
        .unwrap_or(host);
    if inner.iter().filter(|&&c| c == b':').count() >= 2 {
        let text = std::str::from_utf8(inner).ok()?;
        let text = text.split('%').next().unwrap_or(text);
        let addr: Ipv6Addr = text.parse().ok()?;
        if let Some(v4) = addr.to_ipv4_mapped() {
            return Some(Verdict {
                dest: v4_dest(u32::from(v4)),
                disguised: true,
                ip: true,
            });
        }
        return Some(Verdict {
            dest: v6_dest(&addr),
            disguised: disguised || inner.contains(&b'%'),
            ip: true,
        });
    }
    if let Some((addr, canonical)) = parse_v4(host) {
        disguised |= !canonical;
        return Some(Verdict {
            dest: v4_dest(addr),
            disguised,
            ip: true,
        });
    }
    if !host
        .iter()
        .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
    {
        return None;
    }
    Some(Verdict {
        dest: name_dest(host, &mut disguised),
        disguised,
        ip: false,
    })
}

/// Lowercases and maps look-alikes to ASCII (circled and fullwidth digits and
/// letters, ideographic dots), dropping `\`. Returns the host and whether
/// anything had to be mapped.
fn fold<'b>(raw: &str, buf: &'b mut [u8; HOST_CAP]) -> Option<(&'b [u8], bool)> {
    let mut n = 0;
    let mut mapped = false;
    for ch in raw.chars() {
        let c = match ch {
            '\\' => {
                mapped = true;
                continue;
            }
            c if c.is_ascii() => c.to_ascii_lowercase(),
            '\u{3002}' | '\u{FF0E}' | '\u{FF61}' => '.',
            '\u{2460}'..='\u{2468}' => char::from(b'1' + (ch as u32 - 0x2460) as u8),
            '\u{24EA}' | '\u{24FF}' => '0',
            '\u{24D0}'..='\u{24E9}' => char::from(b'a' + (ch as u32 - 0x24D0) as u8),
            '\u{24B6}'..='\u{24CF}' => char::from(b'a' + (ch as u32 - 0x24B6) as u8),
            '\u{FF10}'..='\u{FF19}' => char::from(b'0' + (ch as u32 - 0xFF10) as u8),
            '\u{FF21}'..='\u{FF3A}' => char::from(b'a' + (ch as u32 - 0xFF21) as u8),
            '\u{FF41}'..='\u{FF5A}' => char::from(b'a' + (ch as u32 - 0xFF41) as u8),
            _ => return None,
        };
        if !ch.is_ascii() {
            mapped = true;
        }
        if n == HOST_CAP {
            return None;
        }
        buf[n] = c as u8;
        n += 1;
    }
    Some((&buf[..n], mapped))
}

/// IPv4 the way `inet_aton` reads it: 1-4 parts, each decimal, octal (`0…`)
/// or hex (`0x…`), the last filling the remaining bytes. Wider values wrap,
/// as some parsers let them. Returns the address and whether it was written
/// in the plain dotted-decimal form.
pub(super) fn parse_v4(h: &[u8]) -> Option<(u32, bool)> {
    let mut parts = [0u64; 4];
    let mut n = 0;
    let mut canonical = true;
    for p in h.split(|&c| c == b'.') {
        if n == 4 || p.is_empty() {
            return None;
        }
        let (digits, radix) = if p.len() > 2 && (p.starts_with(b"0x") || p.starts_with(b"0X")) {
            (&p[2..], 16)
        } else if p.len() > 1 && p[0] == b'0' {
            (&p[1..], 8)
        } else {
            (p, 10)
        };
        if radix != 10 {
            canonical = false;
        }
        let mut v: u64 = 0;
        for &c in digits {
            let d = (c as char).to_digit(radix)?;
            v = v.wrapping_mul(u64::from(radix)).wrapping_add(u64::from(d)) & 0xffff_ffff_ffff;
        }
        parts[n] = v;
        n += 1;
    }
    if n == 0 {
        return None;
    }
    if n != 4 {
        canonical = false;
    }
    let mut addr: u64 = 0;
    for (i, &p) in parts[..n - 1].iter().enumerate() {
        if p > 255 {
            return None;
        }
        addr |= p << (24 - 8 * i);
    }
    let last = parts[n - 1];
    let room = 32 - 8 * (n as u32 - 1);
    if n == 4 && last > 255 {
        return None;
    }
    if n > 1 && last >= 1u64 << room {
        return None;
    }
    // A lone number wraps to 32 bits (`7147006462` is 169.254.169.254 to some parsers).
    addr |= last & ((1u64 << room) - 1);
    if n == 1 {
        canonical = false;
        // Plain small numbers (`8080`, `42`) are not addresses anyone writes as hosts.
        if last < 1 << 24 {
            return None;
        }
    }
    Some((addr as u32, canonical))
}

pub(super) fn v4_dest(a: u32) -> Dest {
    let [b0, b1, b2, b3] = a.to_be_bytes();
    match (b0, b1, b2, b3) {
        (169, 254, 169, 254) | (169, 254, 170, 2) | (100, 100, 100, 200) | (192, 0, 0, 192) => {
            Dest::Metadata
        }
        (127, ..) | (0, ..) => Dest::Internal,
        (10, ..) | (192, 168, ..) | (169, 254, ..) => Dest::Private,
        (172, b, ..) if (16..32).contains(&b) => Dest::Private,
        (100, b, ..) if (64..128).contains(&b) => Dest::Private,
        _ => Dest::Public,
    }
}

fn v6_dest(a: &Ipv6Addr) -> Dest {
    let s = a.segments();
    if *a
        == "fd00:ec2::254"
            .parse::<Ipv6Addr>()
            .unwrap_or(Ipv6Addr::UNSPECIFIED)
    {
        return Dest::Metadata;
    }
    if a.is_loopback() || a.is_unspecified() {
        return Dest::Internal;
    }
    // `::a.b.c.d` (IPv4-compatible, deprecated but still parsed).
    if s[..6].iter().all(|&x| x == 0) {
        return v4_dest((u32::from(s[6]) << 16) | u32::from(s[7]));
    }
    if s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfe80 {
        return Dest::Private;
    }
    Dest::Public
}

/// Internal service names, and DNS names that resolve to the address they embed.
fn name_dest(h: &[u8], disguised: &mut bool) -> Dest {
    let ends = |s: &[u8]| h == s || (h.ends_with(s) && h[h.len() - s.len() - 1] == b'.');
    if matches!(
        h,
        b"metadata.google.internal" | b"metadata.goog" | b"metadata" | b"instance-data"
    ) || h.starts_with(b"metadata.azure")
        || h == b"instance-data.ec2.internal"
    {
        return Dest::Metadata;
    }
    if ends(b"localhost")
        || h.starts_with(b"localhost")
            && h[9..]
                .iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.'))
        || matches!(
            h,
            b"localhost4.localdomain4"
                | b"localhost6.localdomain6"
                | b"localhost.localdomain"
                | b"ip6-localhost"
                | b"ip6-loopback"
                | b"ipv6-localhost"
                | b"loopback"
        )
        || ends(b"localtest.me")
        || ends(b"lvh.me")
        || ends(b"vcap.me")
        || ends(b"internal")
        || ends(b"svc")
        || ends(b"cluster.local")
        || h == b"kubernetes"
        || h.starts_with(b"kubernetes.default")
    {
        return Dest::Internal;
    }
    // Rebinding helpers: `127.0.0.1.nip.io`, `10-0-0-1.sslip.io`.
    for zone in [
        &b".nip.io"[..],
        b".sslip.io",
        b".xip.io",
        b".nip.direct",
        b".traefik.me",
    ] {
        if let Some(prefix) = h.strip_suffix(zone) {
            *disguised = true;
            return embedded_v4(prefix).map_or(Dest::Public, v4_dest);
        }
    }
    Dest::Public
}

/// The last four numeric labels of a name, separated by `.` or `-`.
fn embedded_v4(p: &[u8]) -> Option<u32> {
    let mut nums = [0u32; 4];
    let mut got = 0;
    for label in p.rsplit(|&c| c == b'.' || c == b'-') {
        if label.is_empty() || label.len() > 3 || !label.iter().all(u8::is_ascii_digit) {
            break;
        }
        let v: u32 = std::str::from_utf8(label).ok()?.parse().ok()?;
        if v > 255 {
            return None;
        }
        nums[3 - got] = v;
        got += 1;
        if got == 4 {
            return Some((nums[0] << 24) | (nums[1] << 16) | (nums[2] << 8) | nums[3]);
        }
    }
    None
}
