//! SQL, C and HTML comments, each replaced by one space.
//!
//! `UN/**/ION SEL/*x*/ECT` is how comments hide keywords from signatures, and
//! a comment is a token separator to SQL, so one space is what it stands for.
//! Replaced:
//!
//! - `/* … */`, and an unterminated `/*` to the end, as MySQL reads it;
//! - MySQL/MariaDB executable comments `/*!50000 … */` and `/*M!100000 … */`:
//!   only the markers (and version) go, the content stays, since MySQL runs it
//!   (`/*!50000UNION*/` is `UNION`, the classic evasion);
//! - `<!-- … -->`, unterminated to the end;
//! - `--` followed by whitespace, a control character or the end, to the end
//!   of the line (MySQL's rule; the newline stays);
//! - `#` to the end of the line (MySQL).
//!
//! Trade-offs, deliberate: string literals are not tracked (the injection
//! point is usually inside one, so we cannot know where they are), which means
//! `'/*' UNION SELECT '*/'` loses its middle: rules using this transform should
//! have a sibling without it. `#` also eats URL fragments, CSS colours and
//! hashtags, and `--x` (a comment in standard SQL, not in MySQL) is kept; this
//! is why the transform is opt-in per rule and not part of `normalize`.
//! Written here because it is a small scanner and no crate does exactly this.

use std::borrow::Cow;

pub fn replace_comments(input: &str) -> Cow<'_, str> {
    let b = input.as_bytes();
    if memchr::memchr3(b'/', b'<', b'-', b).is_none() && memchr::memchr(b'#', b).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    // Inside an executable comment, whose `*/` must go too.
    let mut versioned = false;
    while i < b.len() {
        let rest = &b[i..];
        let end = match b[i] {
            b'/' if rest.get(1) == Some(&b'*') => {
                let marker = match (rest.get(2), rest.get(3)) {
                    (Some(b'!'), _) => 3,
                    (Some(b'M'), Some(b'!')) => 4,
                    _ => 0,
                };
                if marker > 0 {
                    versioned = true;
                    let start = i + marker;
                    Some(start + b[start..].iter().take_while(|c| c.is_ascii_digit()).count())
                } else {
                    Some(find(b, i + 2, b"*/").map_or(b.len(), |j| j + 2))
                }
            }
            b'*' if versioned && rest.get(1) == Some(&b'/') => {
                versioned = false;
                Some(i + 2)
            }
            b'<' if rest.starts_with(b"<!--") => {
                Some(find(b, i + 4, b"-->").map_or(b.len(), |j| j + 3))
            }
            b'-' if rest.get(1) == Some(&b'-')
                && rest
                    .get(2)
                    .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control()) =>
            {
                Some(line_end(b, i))
            }
            b'#' => Some(line_end(b, i)),
            _ => None,
        };
        match end {
            None => i += 1,
            Some(end) => {
                let o = out.get_or_insert_with(|| String::with_capacity(input.len()));
                o.push_str(&input[copied..i]);
                o.push(' ');
                copied = end;
                i = end;
            }
        }
    }
    match out {
        None => Cow::Borrowed(input),
        Some(mut o) => {
            o.push_str(&input[copied..]);
            Cow::Owned(o)
        }
    }
}

/// Where `needle` next starts in `b` at or after `from`.
fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b.get(from..)?, needle).map(|j| from + j)
}

/// The index of the `\n` ending the line `i` is on (or the end of `b`).
fn line_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |j| i + j)
}
