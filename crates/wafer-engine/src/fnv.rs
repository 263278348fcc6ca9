//! FNV-1a (64-bit), for hash maps and sets over short keys the engine owns or
//! trusts (command names): SipHash's flooding
//! resistance buys nothing there and costs most of each lookup. Also the
//! model's fingerprint, the SQL word table's slots (at compile time), and, as
//! the one copy, public for the server's limiter keys and the examples.

use std::hash::Hasher;

const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
const PRIME: u64 = 0x0100_0000_01b3;

/// FNV-1a 64 of `bytes`; `const`, so tables built at compile time use it too.
pub const fn hash64(bytes: &[u8]) -> u64 {
    extend(OFFSET_BASIS, bytes)
}

/// FNV-1a from state `h` over `bytes`.
const fn extend(mut h: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h = (h ^ bytes[i] as u64).wrapping_mul(PRIME);
        i += 1;
    }
    h
}

#[derive(Default)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn write(&mut self, bytes: &[u8]) {
        let h = if self.0 == 0 { OFFSET_BASIS } else { self.0 };
        self.0 = extend(h, bytes);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_fnv1a_values() {
        assert_eq!(hash64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash64(b"foobar"), 0x8594_4171_f739_67e8);
        let mut h = Fnv::default();
        h.write(b"foo");
        h.write(b"bar");
        assert_eq!(h.finish(), hash64(b"foobar"));
    }
}
