//! Decoders that undo the encodings attackers use to hide payloads.
//!
//! Each is a small pure function over text. Written here rather than taken from a
//! crate because the exact leniency matters for a WAF: a decoder must accept
//! everything a lenient server would accept (invalid escapes pass through
//! unchanged, nothing ever fails), which general-purpose decoders refuse to do.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

/// A named decoding or normalization step, as rules name them in `transforms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// The full evasion chain, see [`normalize`].
    Decode,
    /// One pass of percent decoding (`+` stays `+`).
    UrlDecode,
    /// `%uXXXX` escapes (IIS style).
    UrlDecodeUni,
    /// HTML character references: named (a useful subset), decimal, hex, missing `;` tolerated.
    HtmlEntityDecode,
    /// JavaScript/CSS/JSON escapes: `\xNN`, `\uNNNN`, `\u{…}`, `\NNN` octal, `\n` and friends.
    JsDecode,
    /// Drops NUL bytes.
    RemoveNulls,
    /// ASCII and Unicode lowercase.
    Lowercase,
    /// Runs of whitespace become one space.
    CompressWhitespace,
    /// All whitespace removed.
    RemoveWhitespace,
    /// SQL, C and HTML comments replaced by one space (`/*…*/`, `<!--…-->`, `--`/`#` to end of line).
    ReplaceComments,
    /// Path canonicalization, see [`path::canonicalize`].
    NormalizePath,
    /// Shell-style de-obfuscation: drops `\`, `"`, `'`, `^`; `,` and `;` become spaces; lowercase.
    CmdLine,
}

impl Transform {
    /// Every transform (for tests and fuzzing that must cover them all).
    pub const ALL: [Transform; 12] = [
        Transform::Decode,
        Transform::UrlDecode,
        Transform::UrlDecodeUni,
        Transform::HtmlEntityDecode,
        Transform::JsDecode,
        Transform::RemoveNulls,
        Transform::Lowercase,
        Transform::CompressWhitespace,
        Transform::RemoveWhitespace,
        Transform::ReplaceComments,
        Transform::NormalizePath,
        Transform::CmdLine,
    ];

    pub fn apply(self, input: &str) -> Cow<'_, str> {
        match self {
            Transform::Decode => normalize(input),
            Transform::UrlDecode => url::percent_decode(input),
            Transform::UrlDecodeUni => url::percent_u_decode(input),
            Transform::HtmlEntityDecode => html::decode_entities(input),
            Transform::JsDecode => js::decode_escapes(input),
            Transform::RemoveNulls => remove_nulls(input),
            Transform::Lowercase => lowercase(input),
            Transform::CompressWhitespace => compress_whitespace(input),
            Transform::RemoveWhitespace => remove_whitespace(input),
            Transform::ReplaceComments => comments::replace_comments(input),
            Transform::NormalizePath => path::canonicalize(input),
            Transform::CmdLine => cmdline(input),
        }
    }

    /// Applies a chain, borrowing the input until a step changes it.
    pub fn apply_chain<'a>(chain: &[Transform], input: &'a str) -> Cow<'a, str> {
        let mut cur: Cow<'a, str> = Cow::Borrowed(input);
        for t in chain {
            if let Cow::Owned(s) = t.apply(&cur) {
                cur = Cow::Owned(s);
            }
        }
        cur
    }
}

/// Most decoding passes [`normalize`] makes: enough for double and triple
/// encoding, bounded so a crafted value cannot make us loop.
pub const MAX_PASSES: usize = 3;

/// The evasion chain every value goes through before signature matching:
/// [`decode_layers`], then NUL bytes removed.
pub fn normalize(input: &str) -> Cow<'_, str> {
    match decode_layers(input) {
        Cow::Borrowed(s) => remove_nulls(s),
        Cow::Owned(s) => match remove_nulls(&s) {
            Cow::Owned(t) => Cow::Owned(t),
            Cow::Borrowed(_) => Cow::Owned(s),
        },
    }
}

/// Percent decoding (including `%uXXXX` and overlong UTF-8 sequences), HTML
/// entities and JS escapes, repeated while the value keeps changing (at most
/// [`MAX_PASSES`]). NUL bytes are kept, so that a NUL hidden under encodings
/// (`%2500`, `&#0;`) is still seen by the protocol checks.
pub fn decode_layers(input: &str) -> Cow<'_, str> {
    // Most values hold no escape at all: one vector pass instead of four.
    if memchr::memchr3(b'%', b'&', b'\\', input.as_bytes()).is_none() {
        return Cow::Borrowed(input);
    }
    layers(
        input,
        &[
            url::percent_u_decode,
            url::percent_decode,
            html::decode_entities,
            js::decode_escapes,
        ],
    )
}

/// [`decode_layers`] without percent decoding: for JSON strings, where `%`
/// is a character (`%%bash`, `100%`), not an escape. Their percent-decoded
/// form is looked at apart, when it is one (see [`percent_decoded`]).
pub fn decode_layers_keeping_percent(input: &str) -> Cow<'_, str> {
    if memchr::memchr2(b'&', b'\\', input.as_bytes()).is_none() {
        return Cow::Borrowed(input);
    }
    layers(input, &[html::decode_entities, js::decode_escapes])
}

/// The value percent-decoded (both `%XX` and `%uXXXX`), when that changes it
/// and every escape was valid UTF-8: a value an application might decode.
pub fn percent_decoded(input: &str) -> Option<String> {
    memchr::memchr(b'%', input.as_bytes())?;
    let once = url::percent_u_decode(input);
    let twice = url::percent_decode(&once);
    let changed = matches!(once, Cow::Owned(_)) || matches!(twice, Cow::Owned(_));
    let invented = twice.matches('\u{FFFD}').count() > input.matches('\u{FFFD}').count();
    (changed && !invented).then(|| twice.into_owned())
}

fn layers<'a>(input: &'a str, steps: &[fn(&str) -> Cow<'_, str>]) -> Cow<'a, str> {
    let mut cur: Cow<'a, str> = Cow::Borrowed(input);
    for _ in 0..MAX_PASSES {
        let mut changed = false;
        for step in steps {
            if let Cow::Owned(s) = step(&cur) {
                cur = Cow::Owned(s);
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    cur
}

/// The loop the escape decoders share: at each `marker`, `decode` is given the
/// bytes after it and answers what they stand for and how many it consumed,
/// or `None` to leave the marker as it is. Borrows when nothing is replaced.
pub(crate) fn replace_escapes<I: IntoIterator<Item = char>>(
    input: &str,
    marker: u8,
    mut decode: impl FnMut(&[u8]) -> Option<(I, usize)>,
) -> Cow<'_, str> {
    let b = input.as_bytes();
    let mut out: Option<String> = None;
    // Bytes of `input` before `copied` are already in `out`.
    let mut copied = 0;
    let mut from = 0;
    while let Some(off) = memchr::memchr(marker, &b[from..]) {
        let at = from + off;
        from = at + 1;
        let Some((chars, len)) = decode(&b[at + 1..]) else {
            continue;
        };
        let o = out.get_or_insert_with(|| String::with_capacity(input.len()));
        o.push_str(&input[copied..at]);
        o.extend(chars);
        copied = at + 1 + len;
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

pub fn remove_nulls(input: &str) -> Cow<'_, str> {
    if input.contains('\0') {
        Cow::Owned(input.replace('\0', ""))
    } else {
        Cow::Borrowed(input)
    }
}

pub fn lowercase(input: &str) -> Cow<'_, str> {
    if input.chars().any(char::is_uppercase) {
        Cow::Owned(input.to_lowercase())
    } else {
        Cow::Borrowed(input)
    }
}

/// `char::is_whitespace` for ASCII bytes.
pub(crate) fn ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ')
}

/// The searcher for two spaces, built once: building one per call cost more
/// than the search on the short values most of them are.
fn double_space() -> &'static memchr::memmem::Finder<'static> {
    static DOUBLE: std::sync::OnceLock<memchr::memmem::Finder<'static>> =
        std::sync::OnceLock::new();
    DOUBLE.get_or_init(|| memchr::memmem::Finder::new(b"  "))
}

fn has_double_space(b: &[u8]) -> bool {
    double_space().find(b).is_some()
}

// The whitespace and shell transforms run over most values for several rule
// groups: each has a byte loop for ASCII text (nearly all of it) and a `char`
// loop for the rest, which `tests` checks against each other.

pub fn compress_whitespace(input: &str) -> Cow<'_, str> {
    let b = input.as_bytes();
    if !b.is_ascii() {
        return compress_whitespace_chars(input);
    }
    // memchr's vector loops: this runs over every value, uploads included.
    let rare_space = memchr::memchr2(0x0b, 0x0c, b).is_some();
    let needs =
        rare_space || memchr::memchr3(b'\t', b'\n', b'\r', b).is_some() || has_double_space(b);
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(b.len());
    if rare_space {
        // Rare: the plain loop.
        let mut in_ws = false;
        for &c in b {
            let ws = ascii_space(c);
            if !(ws && in_ws) {
                out.push(if ws { b' ' } else { c });
            }
            in_ws = ws;
        }
        return Cow::Owned(ascii_string(out));
    }
    // Text with single spaces between words is copied span by span: the
    // spans end where a tab, line break or second space starts a white run,
    // found by memchr's vector loops, not byte by byte.
    let double = double_space();
    let mut i = 0;
    while i < b.len() {
        let brk = memchr::memchr3(b'\t', b'\n', b'\r', &b[i..]).map_or(b.len(), |j| i + j);
        let stop = double.find(&b[i..brk]).map_or(brk, |j| i + j);
        if stop == b.len() {
            out.extend_from_slice(&b[i..]);
            break;
        }
        // The white run may begin with spaces just before `stop`.
        let mut start = stop;
        while start > i && b[start - 1] == b' ' {
            start -= 1;
        }
        out.extend_from_slice(&b[i..start]);
        out.push(b' ');
        i = stop + b[stop..].iter().take_while(|&&c| ascii_space(c)).count();
    }
    Cow::Owned(ascii_string(out))
}

fn compress_whitespace_chars(input: &str) -> Cow<'_, str> {
    let needs = input
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
        || input.chars().any(|c| c.is_whitespace() && c != ' ');
    if !needs {
        return Cow::Borrowed(input);
    }
    let mut out = String::with_capacity(input.len());
    let mut in_ws = false;
    for c in input.chars() {
        if c.is_whitespace() {
            if !in_ws {
                out.push(' ');
            }
            in_ws = true;
        } else {
            out.push(c);
            in_ws = false;
        }
    }
    Cow::Owned(out)
}

pub fn remove_whitespace(input: &str) -> Cow<'_, str> {
    let b = input.as_bytes();
    if !b.is_ascii() {
        return remove_whitespace_chars(input);
    }
    if !b.iter().any(|&c| ascii_space(c)) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(ascii_string(
        b.iter().copied().filter(|&c| !ascii_space(c)).collect(),
    ))
}

fn remove_whitespace_chars(input: &str) -> Cow<'_, str> {
    if input.chars().any(char::is_whitespace) {
        Cow::Owned(input.chars().filter(|c| !c.is_whitespace()).collect())
    } else {
        Cow::Borrowed(input)
    }
}

/// Undoes the quoting tricks shells accept (`c"a"t`, `c\at`, `c^a^t`).
pub fn cmdline(input: &str) -> Cow<'_, str> {
    let b = input.as_bytes();
    if !b.is_ascii() {
        return cmdline_chars(input);
    }
    let untouched = |c: u8| {
        !matches!(
            c,
            b'\\' | b'"' | b'\'' | b'^' | b',' | b';' | b'\t' | b'\n' | b'\r'
        ) && !c.is_ascii_uppercase()
    };
    if b.iter().all(|&c| untouched(c)) && !has_double_space(b) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut prev_space = false;
    for &c in b {
        match c {
            b'\\' | b'"' | b'\'' | b'^' => {}
            b',' | b';' | b' ' | b'\t' | b'\n' | b'\r' => {
                if !prev_space {
                    out.push(b' ');
                }
                prev_space = true;
            }
            _ => {
                out.push(c.to_ascii_lowercase());
                prev_space = false;
            }
        }
    }
    if out == b {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(ascii_string(out))
    }
}

fn cmdline_chars(input: &str) -> Cow<'_, str> {
    let mut out = String::with_capacity(input.len());
    let mut prev_space = false;
    for c in input.chars() {
        match c {
            '\\' | '"' | '\'' | '^' => {}
            ',' | ';' | ' ' | '\t' | '\n' | '\r' => {
                if !prev_space {
                    out.push(' ');
                }
                prev_space = true;
            }
            _ => {
                out.extend(c.to_lowercase());
                prev_space = false;
            }
        }
    }
    if out == input {
        Cow::Borrowed(input)
    } else {
        Cow::Owned(out)
    }
}

/// Bytes the ASCII loops built from ASCII input.
fn ascii_string(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

pub mod base64;
pub mod comments;
pub mod html;
pub mod js;
pub mod path;
pub mod url;
pub mod utf8;

#[cfg(test)]
mod tests;
