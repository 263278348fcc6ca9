//! JavaScript, JSON and CSS backslash escapes.
//!
//! Decoded: `\xNN`, `\uNNNN` (surrogate pairs combined), `\u{N…}`, legacy
//! octal `\NNN` (up to `\377`), `\0`, `\n \t \r \b \f \v`, `\\ \/ \' \"`, a
//! backslash before a line break (a line continuation: both vanish), and CSS
//! escapes in their unambiguous forms (below). Anything else, including a
//! trailing backslash, a lone surrogate or an out-of-range `\u{…}`, stays as
//! written. We wrote this ourselves because no crate decodes the union of three
//! languages' escapes leniently, and because of the choices below.
//!
//! This runs on every value (it is part of [`super::normalize`]), not only on
//! JavaScript, so it must not destroy what other signatures look for; Windows
//! paths above all (`..\boot.ini`, `c:\windows\repair\sam`):
//!
//! - An unknown escape keeps its backslash (`\w` stays `\w`). JavaScript would
//!   drop it, but that only hides letters inside string literals, while
//!   dropping it everywhere would erase every Windows path separator.
//! - `\n \t \r \b \f \v` are decoded only when not followed by an ASCII letter:
//!   followed by one (`\boot`, `\temp`, `\repair`) it is far likelier a path
//!   than JavaScript, and these escapes only ever yield whitespace or control
//!   characters, which hide nothing from signatures.
//! - CSS hex escapes (`\3c`, 1 to 6 hex digits) clash with JavaScript octal
//!   (`\60`) and with paths (`\etc`, `\cache`). They are decoded only when
//!   unambiguous: six hex digits (`\00003c`), or followed by the single
//!   whitespace CSS uses as a terminator (`\3c `, which is consumed). `\61v` is
//!   read as JavaScript (octal `\61`).
//! - `\\` becomes `\`, so a UNC path `\\host\share` is seen as `\host\share`.

use super::url::hex;
use std::borrow::Cow;

/// Decodes escapes; borrows when there are none.
pub fn decode_escapes(input: &str) -> Cow<'_, str> {
    super::replace_escapes(input, b'\\', escape)
}

/// The escape after a backslash: what it stands for (`None` for a line
/// continuation, which stands for nothing) and how many bytes it takes.
fn escape(b: &[u8]) -> Option<(Option<char>, usize)> {
    if let Some(css) = css_escape(b) {
        return Some(css);
    }
    let next_is_letter = b.get(1).is_some_and(u8::is_ascii_alphabetic);
    let simple = |c: char| Some((Some(c), 1));
    match *b.first()? {
        b'x' => {
            let v = (hex(*b.get(1)?)? << 4) | hex(*b.get(2)?)?;
            Some((Some(char::from(v)), 3))
        }
        b'u' if b.get(1) == Some(&b'{') => {
            let digits = b[2..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
            if digits == 0 || b.get(2 + digits) != Some(&b'}') {
                return None;
            }
            let c = char::from_u32(hex_value(&b[2..2 + digits]))?;
            Some((Some(c), 2 + digits + 1))
        }
        b'u' => {
            let unit = hex_value(
                b.get(1..5)
                    .filter(|d| d.iter().all(u8::is_ascii_hexdigit))?,
            );
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate only means something with its low half: `\uD83D\uDE00`.
                let lo = b
                    .get(5..11)
                    .filter(|e| {
                        e[0] == b'\\' && e[1] == b'u' && e[2..].iter().all(u8::is_ascii_hexdigit)
                    })
                    .map(|e| hex_value(&e[2..]))
                    .filter(|lo| (0xDC00..0xE000).contains(lo))?;
                let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (lo - 0xDC00))?;
                return Some((Some(c), 11));
            }
            Some((Some(char::from_u32(unit)?), 5))
        }
        d @ b'0'..=b'7' => {
            // Legacy octal: up to three digits, as long as the value stays below 0o400.
            let max = if d <= b'3' { 3 } else { 2 };
            let digits = b
                .iter()
                .take(max)
                .take_while(|c| matches!(c, b'0'..=b'7'))
                .count();
            let v = b[..digits]
                .iter()
                .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
            Some((char::from_u32(v), digits))
        }
        b'n' if !next_is_letter => simple('\n'),
        b't' if !next_is_letter => simple('\t'),
        b'r' if !next_is_letter => simple('\r'),
        b'b' if !next_is_letter => simple('\u{8}'),
        b'f' if !next_is_letter => simple('\u{c}'),
        b'v' if !next_is_letter => simple('\u{b}'),
        b'\\' => simple('\\'),
        b'/' => simple('/'),
        b'\'' => simple('\''),
        b'"' => simple('"'),
        b'\r' if b.get(1) == Some(&b'\n') => Some((None, 2)),
        b'\n' | b'\r' => Some((None, 1)),
        _ => None,
    }
}

/// A CSS escape in one of its unambiguous forms (see the module doc).
fn css_escape(b: &[u8]) -> Option<(Option<char>, usize)> {
    let digits = b
        .iter()
        .take(6)
        .take_while(|c| c.is_ascii_hexdigit())
        .count();
    if digits == 0 {
        return None;
    }
    let ws = match b.get(digits) {
        Some(b'\r') if b.get(digits + 1) == Some(&b'\n') => 2,
        Some(b' ' | b'\t' | b'\n' | b'\r' | b'\x0c') => 1,
        _ => 0,
    };
    if ws == 0 && digits < 6 {
        return None;
    }
    // U+0000 is not a character CSS produces (it makes U+FFFD); leave it to the JS reading.
    let c = char::from_u32(hex_value(&b[..digits])).filter(|&c| c != '\0')?;
    Some((Some(c), digits + ws))
}

/// The value of a run of hex digits (already checked); saturates past `u32`.
fn hex_value(digits: &[u8]) -> u32 {
    digits.iter().fold(0u32, |acc, &d| {
        acc.saturating_mul(16)
            .saturating_add(u32::from(hex(d).unwrap_or(0)))
    })
}
