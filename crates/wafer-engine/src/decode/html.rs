//! HTML character references: `&lt;`, `&#60;`, `&#x3c;`.
//!
//! Decoded as a browser would, so that `java&#x73;cript&colon;` is seen as
//! `javascript:`, and leniently: numeric references with any number of leading
//! zeros, with or without the closing `;`, `x` or `X`. What is not a valid
//! reference (`&#`, `&#xzz;`, `&#1114112;`, a surrogate, an unknown name) stays
//! as written. Written here because HTML decoders in crates either follow the
//! spec's error recovery (U+FFFD for bad code points, which would hide what was
//! sent) or pull in the full 2,000-entry table; we want a small table of the
//! names that matter for attacks and pass-through of everything else.
//!
//! Named references are case-sensitive, as in browsers (`&LT;` is in the
//! table, `&Lt;` is not). Without the `;` only the legacy names browsers accept
//! that way are decoded (`&lt`, `&amp`, `&quot`, `&nbsp`...), matched as the
//! longest prefix as a browser does in text (`&ltscript` is `<script`);
//! `&colon` without `;` is not a reference to a browser, so not to us either.

use std::borrow::Cow;

/// (name, character, decoded without `;` too).
const NAMED: &[(&str, char, bool)] = &[
    ("lt", '<', true),
    ("LT", '<', true),
    ("gt", '>', true),
    ("GT", '>', true),
    ("amp", '&', true),
    ("AMP", '&', true),
    ("quot", '"', true),
    ("QUOT", '"', true),
    ("apos", '\'', false),
    ("nbsp", '\u{a0}', true),
    ("Tab", '\t', false),
    ("NewLine", '\n', false),
    ("colon", ':', false),
    ("lpar", '(', false),
    ("rpar", ')', false),
    ("sol", '/', false),
    ("bsol", '\\', false),
    ("semi", ';', false),
    ("comma", ',', false),
    ("period", '.', false),
    ("equals", '=', false),
    ("excl", '!', false),
    ("quest", '?', false),
    ("num", '#', false),
    ("dollar", '$', false),
    ("percnt", '%', false),
    ("plus", '+', false),
    ("grave", '`', false),
    ("DiacriticalGrave", '`', false),
    ("lsqb", '[', false),
    ("lbrack", '[', false),
    ("rsqb", ']', false),
    ("rbrack", ']', false),
    ("lcub", '{', false),
    ("lbrace", '{', false),
    ("rcub", '}', false),
    ("rbrace", '}', false),
    ("Hat", '^', false),
    ("ast", '*', false),
    ("midast", '*', false),
    ("verbar", '|', false),
    ("vert", '|', false),
    ("VerticalLine", '|', false),
    ("lowbar", '_', false),
    ("UnderBar", '_', false),
    ("commat", '@', false),
    ("shy", '\u{ad}', true),
    ("zwj", '\u{200d}', false),
    ("zwnj", '\u{200c}', false),
    ("copy", '\u{a9}', true),
    ("reg", '\u{ae}', true),
    ("laquo", '\u{ab}', true),
    ("raquo", '\u{bb}', true),
    ("lsquo", '\u{2018}', false),
    ("rsquo", '\u{2019}', false),
    ("ldquo", '\u{201c}', false),
    ("rdquo", '\u{201d}', false),
];

/// Longest name in [`NAMED`].
const MAX_NAME: usize = 16;

/// Decodes character references; borrows when there are none.
pub fn decode_entities(input: &str) -> Cow<'_, str> {
    super::replace_escapes(input, b'&', |rest| {
        reference(rest).map(|(c, len)| (std::iter::once(c), len))
    })
}

/// The reference right after a `&`: its character and how many bytes it takes
/// (the `;` included when present).
fn reference(b: &[u8]) -> Option<(char, usize)> {
    if b.first() == Some(&b'#') {
        return numeric(b);
    }
    let name_len = b
        .iter()
        .take(MAX_NAME + 1)
        .take_while(|c| c.is_ascii_alphanumeric())
        .count();
    if name_len == 0 {
        return None;
    }
    let name = &b[..name_len];
    if b.get(name_len) == Some(&b';')
        && let Some(&(_, c, _)) = NAMED.iter().find(|(n, _, _)| n.as_bytes() == name)
    {
        return Some((c, name_len + 1));
    }
    // No `;` (or not a known name with one): the longest legacy name the text starts with.
    NAMED
        .iter()
        .filter(|(n, _, legacy)| *legacy && name.starts_with(n.as_bytes()))
        .max_by_key(|(n, _, _)| n.len())
        .map(|&(n, c, _)| (c, n.len()))
}

/// `#60`, `#060;`, `#x3c`, `#X3C;` (after the `&`).
fn numeric(b: &[u8]) -> Option<(char, usize)> {
    let (radix, start) = match b.get(1) {
        Some(b'x' | b'X') => (16, 2),
        _ => (10, 1),
    };
    let digits = b[start..]
        .iter()
        .take_while(|c| char::from(**c).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    // Saturates instead of overflowing: anything past U+10FFFF is invalid anyway.
    let cp = b[start..start + digits].iter().fold(0u32, |acc, &d| {
        let v = char::from(d).to_digit(radix).unwrap_or(0);
        acc.saturating_mul(radix).saturating_add(v)
    });
    let c = char::from_u32(cp)?;
    let end = start + digits;
    Some((
        c,
        if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        },
    ))
}
