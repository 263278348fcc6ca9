//! The lenient normalisation a climb is judged on: every spelling of a dot
//! or a separator that some server, decoder or filter accepts becomes the
//! ASCII byte it stands for, then separators are folded as a file API would.
//!
//! **Why here and not in the global decode chain.** The chain
//! ([`crate::decode::normalize`]) feeds every rule and detector, so it only
//! undoes what a server really decodes (percent, `%u`, valid overlong
//! UTF-8, fullwidth forms under `%u`). What is folded here is judged for
//! one question, "does this value climb?": a WAF must refuse `..∕..∕` or
//! `..%c1%8s..` whether or not the server behind it decodes them, because a
//! value whose only job is to climb directories is an attack whatever its
//! spelling. Folding U+2215 into `/` or dropping U+FFFD for every rule would
//! change what SQL, XSS and command-injection detectors see in ordinary
//! text (maths, typography, mojibake) for no gain.
//!
//! What is folded (only where it is met; most values are copied untouched):
//! - `\` → `/`, runs of `/` collapsed, `/./` dropped;
//! - look-alikes of `.` (U+FF0E, U+2024, U+FE52), `/` (U+FF0F, U+2215,
//!   U+2044, U+29F8) and `\` (U+FF3C, U+2216, U+29F9, U+FE68);
//! - `0x2e`, `0x2f`, `0x5c` written as text, and `%2e`, `%2f`, `%5c`
//!   left over from deeper encoding than the chain undoes (`%25` repeated);
//! - U+FFFD (what an invalid overlong sequence such as `%c0%2e` or
//!   `%c1%8s` decodes to) and C0 control bytes next to a dot: dropped
//!   between dots, read as a separator after dots (with the junk escape
//!   that follows it, as IIS did with `%c1%8s`).

use super::MAX_SCAN;

/// Multi-byte look-alikes and the ASCII byte each stands for.
const LOOKALIKES: &[(&[u8], u8)] = &[
    ("\u{FF0E}".as_bytes(), b'.'),
    ("\u{2024}".as_bytes(), b'.'),
    ("\u{FE52}".as_bytes(), b'.'),
    ("\u{FF0F}".as_bytes(), b'/'),
    ("\u{2215}".as_bytes(), b'/'),
    ("\u{2044}".as_bytes(), b'/'),
    ("\u{29F8}".as_bytes(), b'/'),
    ("\u{FF3C}".as_bytes(), b'/'),
    ("\u{2216}".as_bytes(), b'/'),
    ("\u{29F9}".as_bytes(), b'/'),
    ("\u{FE68}".as_bytes(), b'/'),
];

const REPLACEMENT: &[u8] = "\u{FFFD}".as_bytes();

/// Whether a byte of the value may start a spelling [`normalize`] folds
/// (beyond `\`, `//` and `/./`, which the caller looks for itself).
pub(super) fn odd_byte(v: &[u8], i: usize) -> bool {
    match v[i] {
        b'%' | 0xE2 | 0xEF => true,
        b'x' | b'X' => i > 0 && v[i - 1] == b'0',
        c => c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r'),
    }
}

/// What one position of the value stands for: the byte (or none, when it is
/// dropped) and how many bytes of the value it takes.
fn fold_at(v: &[u8], i: usize, prev: Option<u8>) -> (Option<u8>, usize, bool) {
    let c = v[i];
    match c {
        b'\\' => (Some(b'/'), 1, false),
        b'%' => match leftover_escape(&v[i..]) {
            Some((b, n)) => (Some(b), n, true),
            None => (Some(c), 1, false),
        },
        b'0' => match hex_text(&v[i..]) {
            Some(b) => (Some(b), 4, true),
            None => (Some(c), 1, false),
        },
        0xE2 | 0xEF => {
            let rest = &v[i..];
            if let Some(&(_, b)) = LOOKALIKES.iter().find(|(l, _)| rest.starts_with(l)) {
                return (Some(b), 3, true);
            }
            if rest.starts_with(REPLACEMENT) {
                return junk(v, i, REPLACEMENT.len(), prev);
            }
            (Some(c), 1, false)
        }
        c if c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r') => junk(v, i, 1, prev),
        _ => (Some(c), 1, false),
    }
}

/// Junk (U+FFFD or a control byte, `len` bytes at `i`) next to a dot:
/// dropped between dots or before a separator, a separator after dots.
fn junk(v: &[u8], i: usize, len: usize, prev: Option<u8>) -> (Option<u8>, usize, bool) {
    let mut n = len;
    // `%8s`: an escape the decoder could not read, eaten with the junk.
    let escape = v.get(i + n) == Some(&b'%')
        && v.get(i + n + 1..i + n + 3).is_some_and(|e| {
            e.iter().all(u8::is_ascii_alphanumeric) && !e.iter().all(u8::is_ascii_hexdigit)
        });
    if escape {
        n += 3;
    }
    let next = v.get(i + n).copied();
    let dot_before = prev == Some(b'.');
    let sep_or_dot = |b: Option<u8>| matches!(b, Some(b'.' | b'/' | b'\\'));
    if dot_before && (escape || !sep_or_dot(next)) {
        (Some(b'/'), n, true)
    } else if dot_before || next == Some(b'.') || (sep_or_dot(next) && sep_or_dot(prev)) {
        (None, n, true)
    } else {
        (Some(v[i]), 1, false)
    }
}

/// `%2e`, `%2f`, `%5c`, each possibly behind repeated `%25`.
fn leftover_escape(s: &[u8]) -> Option<(u8, usize)> {
    let mut k = 0;
    while s.get(k + 1..k + 3).is_some_and(|e| e == b"25") {
        k += 2;
    }
    let e = s.get(k + 1..k + 3)?;
    let b = match [e[0].to_ascii_lowercase(), e[1].to_ascii_lowercase()] {
        [b'2', b'e'] => b'.',
        [b'2', b'f'] | [b'5', b'c'] => b'/',
        _ => return None,
    };
    Some((b, k + 3))
}

/// `0x2e`, `0x2f`, `0x5c` as text, not the start of a longer hex number.
fn hex_text(s: &[u8]) -> Option<u8> {
    if s.len() < 4 || (s[1] | 0x20) != b'x' {
        return None;
    }
    let b = match [s[2], s[3].to_ascii_lowercase()] {
        [b'2', b'e'] => b'.',
        [b'2', b'f'] | [b'5', b'c'] => b'/',
        _ => return None,
    };
    // `0x2e3f4a` is a number; `0x2fetc` and `0x2e0x2e` are not.
    let run = s[4..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
    let more_hex = run > 0 && !s.get(4 + run).is_some_and(u8::is_ascii_alphabetic);
    (!more_hex).then_some(b)
}

/// Folds `v` into `buf`; returns the length written and whether a
/// look-alike, a text or leftover escape, or junk was folded. `from[k]` is
/// the offset in `v` of what was written at `k`.
pub(super) fn normalize(
    v: &[u8],
    buf: &mut [u8; MAX_SCAN],
    from: &mut [u16; MAX_SCAN],
) -> (usize, bool) {
    let mut n = 0usize;
    let mut i = 0;
    let mut odd = false;
    while i < v.len() {
        let prev = n.checked_sub(1).map(|k| buf[k]);
        let (c, len, folded) = fold_at(v, i, prev);
        let at = i;
        i += len;
        odd |= folded;
        let Some(c) = c else { continue };
        if c == b'/' && prev == Some(b'/') {
            continue;
        }
        // `/./` → `/`.
        if c == b'/' && n >= 2 && buf[n - 1] == b'.' && buf[n - 2] == b'/' {
            n -= 1;
            continue;
        }
        buf[n] = c;
        // `v` is at most MAX_SCAN (4 KiB) long: every offset fits.
        from[n] = at as u16;
        n += 1;
    }
    (n, odd)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(s: &str) -> (String, bool) {
        let mut buf = [0u8; MAX_SCAN];
        let mut from = [0u16; MAX_SCAN];
        let (n, odd) = normalize(s.as_bytes(), &mut buf, &mut from);
        (String::from_utf8_lossy(&buf[..n]).into_owned(), odd)
    }

    #[test]
    fn spellings_fold_to_ascii() {
        for (v, want) in [
            ("..\\..\\x", "../../x"),
            ("\u{FF0E}\u{FF0E}\u{2215}etc", "../etc"),
            ("..\u{2216}..\u{FF3C}x", "../../x"),
            ("0x2e0x2e0x2fetc", "../etc"),
            ("%2e%2e%2f", "../"),
            ("%252e%25252e%5c", "../"),
            ("\u{FFFD}.\u{FFFD}.\u{FFFD}/x", "../x"),
            ("..\u{FFFD}%8s..\u{FFFD}%8sx", "../../x"),
            (".\u{1}./x", "../x"),
            ("....//x", "..../x"),
            ("a/./b", "a/b"),
        ] {
            assert_eq!(fold(v).0, want, "{v:?}");
        }
        assert!(!fold("../x").1);
        assert!(fold("..\u{2215}x").1);
        // A longer hex number, mojibake in prose: left alone.
        assert_eq!(fold("0x2e3f").0, "0x2e3f");
        assert_eq!(fold("caf\u{FFFD} au lait").0, "caf\u{FFFD} au lait");
    }
}
