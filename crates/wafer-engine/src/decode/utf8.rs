//! Turning decoded bytes back into text, repairing overlong UTF-8.
//!
//! An overlong sequence spells a character with more bytes than needed
//! (`C0 AF` for `/`). Strict decoders reject it; some old or careless ones
//! (IIS 4/5, Java before 1.4, homegrown decoders) decode it, which made
//! `%c0%af` the classic way to hide `../` from filters. So we decode it too,
//! to see what those servers see. `String::from_utf8_lossy` would turn it into
//! U+FFFD and hide the traversal, hence this small decoder of our own.

/// Bytes to text: valid UTF-8 as is; overlong 2-byte (`C0`/`C1` lead), 3-byte
/// (`E0 80..9F`) and 4-byte (`F0 80..8F`) forms decoded to the character they
/// spell (unless that is a surrogate); anything else invalid becomes U+FFFD,
/// one per invalid sequence, as `from_utf8_lossy` does.
///
/// Not repaired: CESU-8 surrogate pairs (`ED A0 xx ED B0 xx`), which become U+FFFD.
pub fn bytes_to_string(bytes: Vec<u8>) -> String {
    let bytes = match String::from_utf8(bytes) {
        Ok(s) => return s,
        Err(e) => e.into_bytes(),
    };
    let mut out = String::with_capacity(bytes.len());
    let mut rest = &bytes[..];
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                out.push_str(s);
                return out;
            }
            Err(e) => {
                let (valid, bad) = rest.split_at(e.valid_up_to());
                // `valid` is valid UTF-8 by construction; the fallback never runs.
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let used = match overlong(bad) {
                    Some((c, n)) => {
                        out.push(c);
                        n
                    }
                    None => {
                        out.push(char::REPLACEMENT_CHARACTER);
                        // `None`: the input ends inside a sequence; one U+FFFD for the rest.
                        e.error_len().unwrap_or(bad.len())
                    }
                };
                rest = &bad[used.min(bad.len())..];
            }
        }
    }
}

/// An overlong sequence at the start of `b`: the character and its length.
fn overlong(b: &[u8]) -> Option<(char, usize)> {
    let cont = |i: usize| {
        b.get(i)
            .filter(|&&x| x & 0xC0 == 0x80)
            .map(|&x| u32::from(x & 0x3F))
    };
    let (cp, n) = match *b.first()? {
        0xC0 | 0xC1 => ((u32::from(b[0] & 0x1F) << 6) | cont(1)?, 2),
        0xE0 if b.get(1).is_some_and(|&x| x < 0xA0) => ((cont(1)? << 6) | cont(2)?, 3),
        0xF0 if b.get(1).is_some_and(|&x| x < 0x90) => {
            ((cont(1)? << 12) | (cont(2)? << 6) | cont(3)?, 4)
        }
        _ => return None,
    };
    // A surrogate spelled overlong is still not a character.
    char::from_u32(cp).map(|c| (c, n))
}
