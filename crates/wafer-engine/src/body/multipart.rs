//! `multipart/form-data` (and `mixed`/`related`) bodies.
//!
//! A byte-level parser of our own: multipart parsing is where WAFs and back
//! ends disagree, so we want to know exactly what ours accepts, and the crates
//! that exist are async, strict, or both. It is lenient the way common back
//! ends are:
//!
//! - a delimiter is `--boundary` at the start of the body or of a line (CRLF
//!   or bare LF), followed by `--` (the close delimiter) or by optional spaces
//!   and tabs and the end of the line; `--boundaryX` is content, not a delimiter;
//! - the preamble before the first delimiter and the epilogue after the close
//!   delimiter are ignored (back ends ignore them too);
//! - part headers end at the first empty line (CRLF or LF), folded header
//!   lines are joined, names are case-insensitive;
//! - `Content-Disposition` parameters may be quoted (only `\"` is an escape
//!   there, so Internet Explorer's `C:\path\file` survives) or not, and
//!   `filename*=UTF-8''%e2%82%ac.txt` (RFC 5987) is percent-decoded.
//!
//! Each part gives its content as a `BodyArg` and its field name as a
//! `BodyArgName` (both named by the field name, empty when there is none) and
//! every file name (`filename` and `filename*`) as a `Filename`. The content
//! of a *file* part (one with a file name) is skipped only when its content
//! is binary by [`super::sniff`] (a file signature, NULs, control bytes):
//! the declared `Content-Type` is the sender's word, so `shell.php` declared
//! `image/png` is inspected as the text it is. A part without a file name is
//! a form field to the back end whatever it contains, so it is always
//! inspected.
//!
//! Problems (`MalformedMultipart`, each reported once): no delimiter at all,
//! no parts, no close delimiter (unless `truncated`), a part without
//! `Content-Disposition`, part headers not ended by an empty line (unless
//! `truncated` cut the last part). Not handled: nested multipart (a
//! `multipart/mixed` part is inspected as text) and `Content-Transfer-Encoding`
//! (deprecated for forms by RFC 7578; the content is inspected as sent).

use super::sniff::is_binary;
use super::{BodyArg, BodyLimits, BodyProblem, ParsedBody};
use crate::request::Part;
use memchr::memmem;

pub fn parse(body: &[u8], boundary: &str, truncated: bool, limits: &BodyLimits) -> ParsedBody {
    let mut p = Parser {
        out: ParsedBody::default(),
        limits,
        full: false,
    };
    if boundary.is_empty() {
        p.problem("empty boundary");
        return p.out;
    }
    let dash = format!("--{boundary}");
    let finder = memmem::Finder::new(dash.as_bytes());
    let Some(mut delim) = next_delimiter(body, &finder, 0) else {
        p.problem("no boundary delimiter in the body");
        return p.out;
    };
    let mut parts = 0usize;
    let mut closed = false;
    loop {
        let Some(start) = delim.content_start else {
            closed = true;
            break;
        };
        let next = next_delimiter(body, &finder, start);
        let (region_end, content_end) = match &next {
            Some(n) => (n.at, strip_line_end(body, start, n.at)),
            None => (body.len(), body.len()),
        };
        parts += 1;
        let last = next.is_none();
        p.part(
            &body[start..region_end],
            content_end - start,
            last && truncated,
        );
        match next {
            Some(n) if !p.full => delim = n,
            _ => break,
        }
    }
    if p.full {
        return p.out;
    }
    if closed && parts == 0 {
        p.problem("no parts");
    }
    if !closed && !truncated {
        p.problem("no closing boundary delimiter");
    }
    p.out
}

/// A delimiter line.
pub(crate) struct Delimiter {
    /// Where `--boundary` starts.
    pub(crate) at: usize,
    /// Where the part after it starts; `None` for the close delimiter.
    pub(crate) content_start: Option<usize>,
}

/// The next delimiter at or after `from` (see the module doc for what counts).
pub(crate) fn next_delimiter(
    body: &[u8],
    finder: &memmem::Finder<'_>,
    from: usize,
) -> Option<Delimiter> {
    let mut search = from;
    while let Some(off) = finder.find(body.get(search..)?) {
        let at = search + off;
        search = at + 1;
        if at != 0 && body[at - 1] != b'\n' {
            continue;
        }
        let after = at + finder.needle().len();
        let tail = &body[after..];
        if tail.starts_with(b"--") {
            return Some(Delimiter {
                at,
                content_start: None,
            });
        }
        let pad = tail
            .iter()
            .take_while(|&&c| c == b' ' || c == b'\t')
            .count();
        let line_end = match &tail[pad..] {
            [b'\r', b'\n', ..] => 2,
            [b'\n', ..] => 1,
            // The body ends on the delimiter line (a truncated body, usually).
            [] | [b'\r'] => tail.len() - pad,
            _ => continue,
        };
        return Some(Delimiter {
            at,
            content_start: Some(after + pad + line_end),
        });
    }
    None
}

/// The end of a part's content: the line break before the delimiter at `at`
/// belongs to the delimiter.
pub(crate) fn strip_line_end(body: &[u8], start: usize, at: usize) -> usize {
    let mut end = at;
    if end > start && body[end - 1] == b'\n' {
        end -= 1;
        if end > start && body[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

struct Parser<'a> {
    out: ParsedBody,
    limits: &'a BodyLimits,
    full: bool,
}

impl Parser<'_> {
    fn problem(&mut self, msg: &str) {
        let p = BodyProblem::MalformedMultipart(msg.to_owned());
        if !self.out.problems.contains(&p) {
            self.out.problems.push(p);
        }
    }

    fn push(&mut self, part: Part, name: &str, value: String) {
        if self.full {
            return;
        }
        let arg = BodyArg {
            part,
            name: name.to_owned(),
            value,
        };
        self.full = !self.out.push_arg(arg, self.limits.max_args);
    }

    /// One part: `region` runs to the next delimiter, its content to `content_end`.
    fn part(&mut self, region: &[u8], content_end: usize, cut_short: bool) {
        let head = read_head(region);
        if head.content_start.is_none() && !cut_short {
            self.problem("part headers not ended by an empty line");
        }
        if !head.has_disposition && head.content_start.is_some() {
            self.problem("part without Content-Disposition");
        }
        if let Some(start) = head.content_start {
            let content = region.get(start..content_end.max(start)).unwrap_or(&[]);
            // A file is skipped only when its content is binary: the declared
            // type is the sender's word, and `shell.php` declared `image/png` is text.
            let binary_file = head.is_file() && is_binary(content);
            if !binary_file {
                self.push(
                    Part::BodyArg,
                    &head.name,
                    String::from_utf8_lossy(content).into_owned(),
                );
            }
        }
        if head.has_disposition {
            self.push(Part::BodyArgName, &head.name, head.name.clone());
        }
        for f in head.filenames {
            self.push(Part::Filename, &head.name, f);
        }
    }
}

/// What a part's headers say.
#[derive(Debug, Default)]
pub(crate) struct PartHead {
    /// The field name (empty when there is none).
    pub(crate) name: String,
    pub(crate) filenames: Vec<String>,
    pub(crate) has_disposition: bool,
    /// Where the content starts in the region read; `None`: the headers did not end.
    pub(crate) content_start: Option<usize>,
}

impl PartHead {
    pub(crate) fn is_file(&self) -> bool {
        !self.filenames.is_empty()
    }
}

/// Reads a part's headers from the start of `region` (the bytes after a delimiter line).
pub(crate) fn read_head(region: &[u8]) -> PartHead {
    let mut disposition: Option<String> = None;
    // Read, never trusted: a part's content decides whether it is binary.
    let mut content_type: Option<String> = None;
    // The header being read (name, value), kept for folded lines.
    let mut current: Option<(String, String)> = None;
    let mut content_start = None;
    let mut pos = 0;
    while let Some(nl) = memchr::memchr(b'\n', &region[pos..]) {
        let line = &region[pos..pos + nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        pos += nl + 1;
        if line.is_empty() {
            content_start = Some(pos);
            break;
        }
        if matches!(line[0], b' ' | b'\t') {
            if let Some((_, v)) = &mut current {
                v.push(' ');
                v.push_str(String::from_utf8_lossy(line).trim());
            }
            continue;
        }
        take_header(&mut current, &mut disposition, &mut content_type);
        current = line.iter().position(|&c| c == b':').map(|colon| {
            (
                String::from_utf8_lossy(&line[..colon])
                    .trim()
                    .to_ascii_lowercase(),
                String::from_utf8_lossy(&line[colon + 1..])
                    .trim()
                    .to_owned(),
            )
        });
    }
    take_header(&mut current, &mut disposition, &mut content_type);
    let params = disposition.as_deref().map(params).unwrap_or_default();
    let mut name: Option<String> = None;
    let mut filenames: Vec<String> = Vec::new();
    for (k, v) in params {
        match k.as_str() {
            "name" | "name*" if name.is_none() => name = Some(v),
            "filename" | "filename*" if !filenames.contains(&v) => filenames.push(v),
            _ => {}
        }
    }
    PartHead {
        name: name.unwrap_or_default(),
        filenames,
        has_disposition: disposition.is_some(),
        content_start,
    }
}

/// Files a finished header line under the headers we use (the first of each wins).
fn take_header(
    current: &mut Option<(String, String)>,
    disposition: &mut Option<String>,
    content_type: &mut Option<String>,
) {
    match current.take() {
        Some((n, v)) if n == "content-disposition" && disposition.is_none() => {
            *disposition = Some(v)
        }
        Some((n, v)) if n == "content-type" && content_type.is_none() => *content_type = Some(v),
        _ => {}
    }
}

/// The parameters of a `Content-Disposition` value (`form-data; name="a"`),
/// names lowercased, in order; `name*`-style values RFC 5987-decoded.
fn params(v: &str) -> Vec<(String, String)> {
    let b = v.as_bytes();
    let mut out = Vec::new();
    // Skip the disposition type.
    let mut i = b.iter().position(|&c| c == b';').unwrap_or(b.len());
    while i < b.len() {
        while i < b.len() && (b[i] == b';' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let key_start = i;
        while i < b.len() && b[i] != b'=' && b[i] != b';' {
            i += 1;
        }
        let key = v[key_start..i].trim().to_ascii_lowercase();
        if i >= b.len() || b[i] == b';' {
            continue;
        }
        i += 1; // `=`
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let value = if b.get(i) == Some(&b'"') {
            i += 1;
            let mut s = String::new();
            let mut copied = i;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && b.get(i + 1) == Some(&b'"') {
                    s.push_str(&v[copied..i]);
                    copied = i + 1;
                    i += 2;
                } else {
                    i += 1;
                }
            }
            s.push_str(&v[copied..i]);
            i += 1; // closing quote (or past the end if unterminated)
            s
        } else {
            let start = i;
            while i < b.len() && b[i] != b';' {
                i += 1;
            }
            v[start..i].trim().to_owned()
        };
        let value = if key.ends_with('*') {
            ext_value(&value)
        } else {
            value
        };
        if !key.is_empty() {
            out.push((key, value));
        }
    }
    out
}

/// An RFC 5987 extended value, `charset'language'percent-encoded`, decoded
/// (as UTF-8, whatever the charset says); anything else as it is.
fn ext_value(v: &str) -> String {
    let mut it = v.splitn(3, '\'');
    match (it.next(), it.next(), it.next()) {
        (Some(_), Some(_), Some(enc)) => crate::decode::url::percent_decode(enc).into_owned(),
        _ => v.to_owned(),
    }
}
