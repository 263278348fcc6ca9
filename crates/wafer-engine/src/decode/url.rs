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
    let b = input.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `input` before `copied` are already in `out`.
    let mut copied = 0;
    let mut from = 0;
    while let Some(off) = memchr::memchr(b'%', &b[from..]) {
        let at = from + off;
        from = at + 1;
        let Some(unit) = u_escape(b, at) else {
            continue;
        };
        let (c, len) = match unit {
            0xD800..=0xDBFF => match u_escape(b, at + 6) {
                Some(lo @ 0xDC00..=0xDFFF) => {
                    let cp = 0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00);
                    (char::from_u32(cp), 12)
                }
                _ => (None, 6),
            },
            // Fullwidth ASCII variants, folded (see above).
            0xFF01..=0xFF5E => (char::from_u32(unit - 0xFEE0), 6),
            _ => (char::from_u32(unit), 6),
        };
        // `None`: a lone surrogate, left as written.
        let Some(c) = c else {
            continue;
        };
        let o = out.get_or_insert_with(|| String::with_capacity(input.len()));
        o.push_str(&input[copied..at]);
        o.push(c);
        copied = at + len;
        from = copied;
    }
    match out {
        None => Cow::Borrowed(input),
        Some(mut o) => {
            o.push_str(&input[copied..]);
            Cow::Owned(o)
        }
    }
}

/// The UTF-16 code unit of a `%uXXXX` escape starting at `at`, if there is one.
fn u_escape(b: &[u8], at: usize) -> Option<u32> {
    let e = b.get(at..at + 6)?;
    if e[0] != b'%' || (e[1] | 0x20) != b'u' {
        return None;
    }
    e[2..]
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
