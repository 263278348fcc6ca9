//! What the family generators share: a browser's request around a payload,
//! percent-encoding, and a deterministic generator.

#![allow(dead_code)] // each test crate uses its own share of these

use wafer_engine::Request;

/// `r` with the headers a desktop browser sends.
pub(crate) fn browser(r: Request) -> Request {
    r.header("Host", "shop.example")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .header("Accept", "*/*")
        .header("Accept-Language", "en-US,en;q=0.5")
}

/// Every byte but RFC 3986's unreserved ones as `%XX`.
pub(crate) fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A small deterministic xorshift generator: generated cases repeat from run to run.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
