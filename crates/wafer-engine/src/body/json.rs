//! JSON bodies.
//!
//! Validity is judged by serde_json; the arguments come from a small tolerant
//! walker of our own over the same text. Walking serde_json's `Value` would
//! lose what matters to a WAF: with duplicate keys (`{"q":"<script>","q":"x"}`)
//! a `Value` keeps only the last one, while many back ends take the first, so
//! the payload would never be inspected. The walker sees every token, in
//! order, and since it never gives up it is also what salvages truncated or
//! malformed bodies (a lenient back end may accept what serde_json refuses).
//!
//! Arguments: every leaf (string, number, `true`/`false`; not `null`) is a
//! `BodyArg` named by its dotted path (`user.tags.0`; a top-level scalar has
//! the empty name), every object key a `BodyArgName` named by the path it
//! opens, with the key as value. Numbers are kept as written.
//!
//! Limits: nesting deeper than `max_depth` is reported once as `TooDeep`; the
//! walker stops descending there (deeper names stay those of the deepest
//! allowed level) but still inspects the leaves, so depth cannot hide a
//! payload. More than `max_args` arguments is reported as `TooManyArgs` and
//! the walk stops. The walker is iterative: depth costs no stack (serde_json's
//! own recursion limit of 128 protects its validation pass; hitting it is
//! reported as `TooDeep`, not as malformed).
//!
//! Salvage (malformed or truncated bodies): strings end at their closing quote
//! or at the end of the body (a truncated string is still inspected); a run of
//! other characters that is not structure (`{}[],:`) is a scalar, so JSON5
//! style barewords and unquoted keys are seen; stray closers close the
//! innermost container whatever it is. Malformed JSON is reported as
//! `MalformedJson` with serde_json's message, unless `truncated` is set and
//! the error is the body ending early (a syntax error before the cut still counts).

use super::utf8_len;
use super::{BodyArg, BodyLimits, BodyProblem, ParsedBody};
use crate::request::Part;

pub fn parse(body: &[u8], truncated: bool, limits: &BodyLimits) -> ParsedBody {
    let text = String::from_utf8_lossy(body);
    let mut parsed = ParsedBody::default();
    if text.trim().is_empty() {
        return parsed;
    }
    let mut w = Walker {
        out: &mut parsed,
        limits,
        path: String::new(),
        stack: Vec::new(),
        too_deep: false,
        full: false,
    };
    w.walk(&text);
    if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&text) {
        let msg = e.to_string();
        if msg.contains("recursion limit exceeded") {
            if !parsed.problems.contains(&BodyProblem::TooDeep) {
                parsed.problems.push(BodyProblem::TooDeep);
            }
        } else if !(truncated && e.is_eof()) {
            // A truncated body explains an abrupt end, not a syntax error before it.
            parsed.problems.push(BodyProblem::MalformedJson(msg));
        }
    }
    parsed
}

/// One open container.
struct Frame {
    /// `path` length when the container opened (to restore it at the close).
    base: usize,
    kind: Kind,
}

enum Kind {
    /// An object, with the name (path) of the value its last key announced,
    /// while that value has not come yet.
    Object { value_name: Option<String> },
    /// An array, with the index of its next element.
    Array { next: usize },
}

struct Walker<'a> {
    out: &'a mut ParsedBody,
    limits: &'a BodyLimits,
    /// The dotted path of the innermost named container.
    path: String,
    stack: Vec<Frame>,
    too_deep: bool,
    /// `max_args` reached: stop.
    full: bool,
}

impl Walker<'_> {
    fn walk(&mut self, text: &str) {
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() && !self.full {
            match b[i] {
                b'{' | b'[' => {
                    self.open(b[i] == b'{');
                    i += 1;
                }
                b'}' | b']' => {
                    if let Some(f) = self.stack.pop() {
                        self.path.truncate(f.base);
                    }
                    i += 1;
                }
                b',' => {
                    if let Some(Frame {
                        kind: Kind::Object { value_name },
                        ..
                    }) = self.stack.last_mut()
                    {
                        *value_name = None;
                    }
                    i += 1;
                }
                b':' => i += 1,
                b'"' => {
                    let (s, end) = string(text, i + 1);
                    self.token(s, true);
                    i = end;
                }
                c if c.is_ascii_whitespace() => i += 1,
                _ => {
                    let len = b[i..]
                        .iter()
                        .take_while(|c| !c.is_ascii_whitespace() && !b"{}[],:\"".contains(c))
                        .count();
                    // Non-ASCII starts are fine: the delimiters are ASCII, so `i + len` is a boundary.
                    self.token(text[i..i + len].to_owned(), false);
                    i += len;
                }
            }
        }
    }

    /// A string or scalar token: a key if an object is waiting for one, else a value.
    fn token(&mut self, s: String, quoted: bool) {
        if let Some(Frame {
            kind: Kind::Object { value_name },
            ..
        }) = self.stack.last_mut()
            && value_name.is_none()
        {
            // The key and its value share one name: build it once.
            let name = self.name_for(&s);
            if let Some(Frame {
                kind: Kind::Object { value_name },
                ..
            }) = self.stack.last_mut()
            {
                *value_name = Some(name.clone());
            }
            self.push(Part::BodyArgName, name, s);
            return;
        }
        if !quoted && s == "null" {
            self.next_name();
            return;
        }
        let name = self.next_name();
        self.push(Part::BodyArg, name, s);
    }

    /// The name of the value about to be read in the innermost container,
    /// advancing the container (array index, object key consumed).
    fn next_name(&mut self) -> String {
        let seg = match self.stack.last_mut() {
            None => return self.path.clone(),
            Some(Frame {
                kind: Kind::Object { value_name },
                ..
            }) => match value_name.take() {
                Some(name) => return name,
                None => String::new(),
            },
            Some(Frame {
                kind: Kind::Array { next },
                ..
            }) => {
                *next += 1;
                let index = *next - 1;
                let mut digits = [0u8; 20];
                return self.name_for(index_text(index, &mut digits));
            }
        };
        self.name_for(&seg)
    }

    /// The path of `seg` in the innermost container. Past `max_depth` names
    /// stop growing: the walker has stopped descending.
    fn name_for(&self, seg: &str) -> String {
        if self.stack.len() > self.limits.max_depth {
            self.path.clone()
        } else if self.path.is_empty() {
            seg.to_owned()
        } else {
            // Not `format!`: this runs for every token, and the formatting
            // machinery cost more than the rest of the walk together.
            let mut name = String::with_capacity(self.path.len() + 1 + seg.len());
            name.push_str(&self.path);
            name.push('.');
            name.push_str(seg);
            name
        }
    }

    fn open(&mut self, object: bool) {
        let name = self.next_name();
        let base = self.path.len();
        let depth = self.stack.len() + 1;
        let named = depth <= self.limits.max_depth;
        if named {
            self.path = name;
        } else if !self.too_deep {
            self.too_deep = true;
            self.out.problems.push(BodyProblem::TooDeep);
        }
        let kind = if object {
            Kind::Object { value_name: None }
        } else {
            Kind::Array { next: 0 }
        };
        self.stack.push(Frame { base, kind });
    }

    fn push(&mut self, part: Part, name: String, value: String) {
        let arg = BodyArg { part, name, value };
        self.full = !self.out.push_arg(arg, self.limits.max_args);
    }
}

/// `n` in decimal, written into `buf`.
fn index_text(mut n: usize, buf: &mut [u8; 20]) -> &str {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::str::from_utf8(&buf[at..]).expect("ASCII digits")
}

/// The JSON string whose content starts at `start`: its value (escapes
/// decoded leniently) and the index just past its closing quote (or the end).
fn string(text: &str, start: usize) -> (String, usize) {
    let b = text.as_bytes();
    let mut out = String::new();
    let mut copied = start;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                out.push_str(&text[copied..i]);
                return (out, i + 1);
            }
            b'\\' => {
                out.push_str(&text[copied..i]);
                let (c, len) = escape(&b[i + 1..]);
                match c {
                    Some(c) => out.push(c),
                    // Not an escape JSON knows: kept as written.
                    None => out.push_str(&text[i..i + 1 + len]),
                }
                i += 1 + len;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[copied..]);
    (out, b.len())
}

/// The escape after a backslash in a JSON string: the character (U+FFFD for
/// a lone surrogate, as lossy decoding would do) and the bytes it takes, or
/// `None` and the bytes to copy through unchanged.
fn escape(b: &[u8]) -> (Option<char>, usize) {
    let unit = |at: usize| -> Option<u32> {
        let d = b.get(at..at + 4)?;
        d.iter().try_fold(0u32, |acc, &c| {
            Some((acc << 4) | u32::from(crate::decode::url::hex(c)?))
        })
    };
    let simple = |c| (Some(c), 1);
    match b.first() {
        None => (None, 0),
        Some(b'"') => simple('"'),
        Some(b'\\') => simple('\\'),
        Some(b'/') => simple('/'),
        Some(b'b') => simple('\u{8}'),
        Some(b'f') => simple('\u{c}'),
        Some(b'n') => simple('\n'),
        Some(b'r') => simple('\r'),
        Some(b't') => simple('\t'),
        Some(b'u') => match unit(1) {
            None => (None, 1),
            Some(hi @ 0xD800..=0xDBFF) => {
                let lo = (b.get(5..7) == Some(b"\\u"))
                    .then(|| unit(7))
                    .flatten()
                    .filter(|lo| (0xDC00..=0xDFFF).contains(lo));
                match lo {
                    Some(lo) => (
                        char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)),
                        11,
                    ),
                    None => (Some(char::REPLACEMENT_CHARACTER), 5),
                }
            }
            Some(u) => (
                Some(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER)),
                5,
            ),
        },
        // Keep the backslash and the next character (whole, if multi-byte).
        Some(&c) => (None, utf8_len(c)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn index_text_writes_decimal() {
        let mut buf = [0u8; 20];
        for n in [0usize, 7, 10, 99, 12_345, usize::MAX] {
            assert_eq!(super::index_text(n, &mut buf), n.to_string());
        }
    }
}
