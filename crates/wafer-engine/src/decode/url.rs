//! Percent decoding (`%XX`) and IIS-style `%uXXXX` decoding.
//!
//! Both are lenient, as the servers behind us are: an escape that is not
//! well formed (`%zz`, `%4`, `%u12`, a lone surrogate) is kept as it is, and
//! nothing ever fails. General-purpose decoders reject such input, which a WAF
//! cannot afford: the attacker picks the input, the server decides what it means.

use std::borrow::Cow;

/// One pass of `%XX` decoding (`+` stays `+`). Bytes that do not form valid
/// UTF-8 after decoding are first repaired as overlong sequences (`%c0%af` is
/// `/`), then replaced by U+FFFD, see [`super::utf8::bytes_to_string`].
pub fn percent_decode(input: &str) -> Cow<'_, str> {
    let b = input.as_bytes();
    let Some(first) = memchr::memchr(b'%', b) else {
        return Cow::Borrowed(input);
    };
    let mut out = Vec::with_capacity(b.len());
    out.extend_from_slice(&b[..first]);
    let mut i = first;
    let mut changed = false;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h << 4) | l);
            i += 3;
            changed = true;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    if !changed {
        return Cow::Borrowed(input);
    }
    Cow::Owned(super::utf8::bytes_to_string(out))
}

/// `%uXXXX` escapes, the non-standard form IIS (and old ASP.NET) accept: the
/// `u` in either case, exactly four hex digits, UTF-16 surrogate pairs
/// (`%uD83D%uDE00`) combined into one character. A lone surrogate is not a
/// character and stays as written.
///
/// Like IIS's "best fit" mapping, the fullwidth forms of ASCII (U+FF01 to
/// U+FF5E, e.g. `%uFF0E%uFF0E%uFF0F` for `../`) become the ASCII character
/// they stand for: a server that folds them would otherwise see a traversal
/// we never saw. Browsers never send `%u`, so this costs legitimate traffic
/// nothing.
pub fn percent_u_decode(input: &str) -> Cow<'_, str> {
    super::replace_escapes(input, b'%', |rest| {
        let unit = u_escape(rest)?;
        // Lengths count the bytes after the first `%`: `uXXXX` is 5.
        let (c, len) = match unit {
            0xD800..=0xDBFF => match rest.get(5..).filter(|r| r.first() == Some(&b'%')) {
                Some(r) => match u_escape(&r[1..]) {
                    Some(lo @ 0xDC00..=0xDFFF) => {
                        let cp = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
                        (char::from_u32(cp), 11)
                    }
                    _ => (None, 5),
                },
                None => (None, 5),
            },
            // Fullwidth ASCII variants, folded (see above).
            0xFF01..=0xFF5E => (char::from_u32(unit - 0xFEE0), 5),
            _ => (char::from_u32(unit), 5),
        };
        // `None`: a lone surrogate, left as written.
        c.map(|c| (std::iter::once(c), len))
    })
}

/// The code unit of `uXXXX` at the start of `rest` (the bytes after a `%`).
fn u_escape(rest: &[u8]) -> Option<u32> {
    let e = rest.get(..5)?;
    if (e[0] | 0x20) != b'u' {
        return None;
    }
    e[1..]
        .iter()
        .try_fold(0u32, |acc, &d| Some((acc << 4) | u32::from(hex(d)?)))
}

/// The value of one ASCII hex digit.
pub(crate) fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}
