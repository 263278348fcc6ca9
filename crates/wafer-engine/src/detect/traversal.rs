//! Path traversal and local file inclusion: does this value name a file the
//! server should never hand out, or climb out of the directory it is meant
//! for?
//!
//! **What it inspects.** Every argument, argument name, cookie, header, body
//! field, multipart file name and the URL path (the raw request line and
//! query string are skipped: their arguments are inspected one by one). The
//! decoded value (percent, `%u`, overlong UTF-8, entities, NULs removed), first
//! [`MAX_SCAN`] bytes.
//!
//! **What it finds.** The value is normalized the way a file API would see
//! it (`\` is a separator, runs of `/` collapse, `;params` are dropped from a
//! segment as Tomcat does) and, leniently, every other spelling of a dot or
//! a separator is folded ([`fold`]: look-alikes such as U+FF0E and U+2215,
//! `0x2e` text, escapes left from deep encoding, the U+FFFD that invalid
//! overlong forms such as `%c0%2e` leave; a climb spelled so is evasive),
//! then:
//! - segments made only of dots that climb: `../`, `..\`, and the evasions
//!   that survive naive filters: `....//`, `.../`, `..;/`, mixed slashes.
//!   Two or more, an evasive form, a backslash form, any in an upload file
//!   name, or one that climbs above the root of the URL path is paranoia 1;
//!   a single plain `../` in an argument (relative links exist) is paranoia 2;
//! - the files such paths aim at ([`files`]: OS account and process files,
//!   Windows system files, keys and credentials, VCS metadata, app config
//!   with secrets, AI and developer tool folders), reached by traversal
//!   (strongest), or named by an absolute path or as the whole value;
//! - `file://` URLs and stream wrappers (`php://filter`, `phar://`, `zip://`,
//!   `expect://`, `glob://`, `compress.zlib://`, `data://`, `jar:file:`);
//! - at paranoia 2, any hidden (dot) directory or file in the URL path other
//!   than `/.well-known/`;
//! - an argument whose whole value is an absolute path ([`absolute`]):
//!   into `/etc`, `/proc`, `/var/log`, `C:\Windows`, a `\\host\share`, in
//!   any argument; into `/var`, `/opt`, `/tmp`, `/srv` in a file-like
//!   parameter (`file`, `path`, `page`, `template`, `include`...) or naming
//!   source, config or logs; into `/home` or `/usr` (also route prefixes)
//!   only deeper and so. Other absolute paths are paranoia 2. Listed files
//!   people write about (`/etc/hosts`, `/var/log/`) do not count in prose
//!   unless a climb reaches them.
//!
//! **Cost.** Values with no `/`, `\`, `:`, `%`, `0x`, control byte, no
//! lead byte of a look-alike (0xE2, 0xEF) and no leading `.` are skipped
//! after one byte scan. Otherwise one normalization pass into a stack buffer
//! and one Aho-Corasick pass over it; nothing is allocated unless there is a
//! hit.
//!
//! **Known false positives.** Apps that pass relative paths with two `../`
//! in arguments (some file managers, build tools); prose that quotes an
//! absolute system path (`see /etc/hosts`); documentation sites serving
//! pages named like the listed files. Dots inside text (`wait... what`,
//! `1.2..3`, `report..final.pdf`) are not segments and stay quiet.
//!
//! **Why our own.** The idea of canonicalizing before matching and the kinds
//! of evasion come from how servers resolve paths (see
//! [`crate::decode::path`]) and from the OWASP CRS LFI rule descriptions; the
//! file list is curated here from exploit write-ups, and the code is ours so
//! each finding can name the file and the climb that reaches it.

mod absolute;
mod files;
mod fold;
#[cfg(test)]
mod tests;

use std::ops::Range;

use super::{Hit, Input};
use crate::request::Part;
use files::Kind;

super::detector_rules! { Lfi;
    TRAVERSAL_TO_FILE = 1400, Critical, 1, "path traversal that reaches a sensitive file";
    TRAVERSAL = 1401, Critical, 1, "path traversal (../../, ..\\, ....//, ..;/)";
    TRAVERSAL_ONE = 1402, Critical, 2, "relative path that climbs a directory (../)";
    SENSITIVE_FILE = 1403, Critical, 1, "path to a sensitive OS or application file";
    WRAPPER = 1404, Critical, 1, "file:// URL or stream wrapper (php://filter, phar://, zip://, expect://)";
    HIDDEN_PATH = 1405, Critical, 2, "URL path reaches a hidden file or directory";
    ABSOLUTE_PATH = 1406, Critical, 1, "argument that is an absolute path into system or application directories";
    ABSOLUTE_PATH_WEAK = 1407, Critical, 2, "argument that is an absolute path a route could also have (/home/..., /usr/...)";
}

/// Bytes of a value we look at.
pub const MAX_SCAN: usize = 4 * 1024;

/// Checks one value.
pub fn check(input: &Input<'_>, out: &mut Vec<Hit>) {
    let part = input.location.part;
    if matches!(part, Part::RequestLine | Part::QueryString | Part::Method) {
        return;
    }
    if super::cmdi::structured_header(input) {
        return;
    }
    let v = input.decoded.as_bytes();
    let v = &v[..v.len().min(MAX_SCAN)];
    let lead = v
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(v.len());
    let mut odd = false;
    let mut sep = false;
    for i in 0..v.len() {
        sep |= matches!(v[i], b'/' | b'\\' | b':');
        odd |= fold::odd_byte(v, i);
    }
    if !sep && !odd && v.get(lead) != Some(&b'.') {
        return;
    }
    // Spans are found in bytes of `v` (or of `norm`, mapped back): widened to
    // whole characters of the value, which the scan cap may have cut.
    let push = |out: &mut Vec<Hit>, rule: u32, span: Range<usize>, detail: String| {
        let mut span = super::snap(input.decoded, span);
        if span.is_empty() {
            span = 0..input.decoded.len();
        }
        Hit::push(out, rule, input, span, Some(detail));
    };
    if let Some((w, at)) = wrapper(v) {
        push(out, WRAPPER, at..url_end(v, at), format!("`{w}`"));
    }
    // Most values need no rewriting: only copy when there is something to
    // fold, and only then pay for zeroing the buffers (12 KiB).
    let needs = odd
        || v.contains(&b'\\')
        || memchr::memmem::find(v, b"//").is_some()
        || memchr::memmem::find(v, b"/./").is_some();
    let mut lookalike = false;
    // The folded value, and where each of its bytes came from in `v`.
    let store: ([u8; MAX_SCAN], [u16; MAX_SCAN], usize);
    let (norm, from): (&[u8], &[u16]) = if needs {
        let (mut buf, mut from) = ([0u8; MAX_SCAN], [0u16; MAX_SCAN]);
        let (n, odd_folded) = fold::normalize(v, &mut buf, &mut from);
        lookalike = odd_folded;
        store = (buf, from, n);
        (&store.0[..store.2], &store.1[..])
    } else {
        (v, &[])
    };
    // A range of `norm` as a range of `v`.
    let in_v = |r: Range<usize>| -> Range<usize> {
        if !needs || r.is_empty() {
            return r;
        }
        let start = usize::from(from[r.start.min(MAX_SCAN - 1)]);
        // Up to the next byte kept, so separators folded away stay inside.
        let end = if r.end < norm.len() {
            usize::from(from[r.end])
        } else {
            v.len()
        };
        start..end.max(start)
    };
    let mut climb = if memchr::memmem::find(norm, b"..").is_some() {
        climbs(norm, v)
    } else {
        Climb::NONE
    };
    // A climb spelled with look-alikes or junk is never a relative link.
    climb.evasive |= climb.count > 0 && lookalike;
    let prose = norm.iter().any(u8::is_ascii_whitespace);
    let file = files::find(norm).filter(|&(_, entry, at, _)| {
        // A name at the very start counts when the value is a path, not
        // prose; in prose, files people write about (`/etc/hosts`) count
        // only when a climb reaches them.
        (at > 0 || !prose)
            && !(prose
                && files::mentioned_in_prose(entry)
                && (climb.count == 0 || at < climb.first))
    });
    if climb.count > 0
        && let Some((_, entry, at, end)) = file
        && at >= climb.first
    {
        let detail = format!("{} to {entry}", climb.describe());
        push(out, TRAVERSAL_TO_FILE, in_v(climb.first..end), detail);
    }
    if climb.count > 0 {
        let strong = climb.count >= 2
            || climb.evasive
            || climb.backslash
            || part == Part::Filename
            || (part == Part::Path && climb.escapes);
        let rule = if strong { TRAVERSAL } else { TRAVERSAL_ONE };
        push(out, rule, in_v(climb.first..climb.end), climb.describe());
    }
    if let Some((kind, entry, at, end)) = file {
        let what = match kind {
            Kind::Os => "system file",
            Kind::Secret => "secret-bearing file",
            Kind::Tooling => "developer tool config",
        };
        push(
            out,
            SENSITIVE_FILE,
            in_v(at..end),
            format!("{what} {entry}"),
        );
    } else if part == Part::Path
        && let Some(seg) = hidden_segment(norm)
    {
        let shown = String::from_utf8_lossy(&norm[seg.clone()]).into_owned();
        push(out, HIDDEN_PATH, in_v(seg), format!("`{shown}`"));
    } else if matches!(part, Part::QueryArg | Part::BodyArg)
        && climb.count == 0
        && let Some((strength, what)) =
            absolute::judge(input.decoded, input.location.name.as_deref())
                // `\\host\share`, `c:\tmp`: JS-style unescaping ate the backslashes.
                .or_else(|| absolute::judge(input.raw, input.location.name.as_deref()))
    {
        let rule = match strength {
            absolute::Strength::Strong => ABSOLUTE_PATH,
            absolute::Strength::Weak => ABSOLUTE_PATH_WEAK,
        };
        let name = input.location.name.as_deref().unwrap_or("");
        let t = input.decoded.trim();
        let start = input.decoded.len() - input.decoded.trim_start().len();
        let detail = format!("{what} in `{name}`");
        push(out, rule, start..start + t.len(), detail);
    }
}

/// Where a URL starting at `at` ends: a blank, a quote, `<` or `>`.
fn url_end(v: &[u8], at: usize) -> usize {
    v[at..]
        .iter()
        .position(|&c| c.is_ascii_whitespace() || matches!(c, b'"' | b'\'' | b'<' | b'>' | b'`'))
        .map_or(v.len(), |k| at + k)
}

struct Climb {
    count: usize,
    /// `....//`, `.../`, `..;/`.
    evasive: bool,
    /// Written with `\` (`..\`).
    backslash: bool,
    /// Climbs above the start (the root for the URL path).
    escapes: bool,
    /// Offset (in the normalized value) of the first climbing segment.
    first: usize,
    /// Offset just past the last climbing segment (and its `/`).
    end: usize,
}

impl Climb {
    const NONE: Climb = Climb {
        count: 0,
        evasive: false,
        backslash: false,
        escapes: false,
        first: 0,
        end: 0,
    };

    fn describe(&self) -> String {
        let mut s = format!(
            "climbs {} director{}",
            self.count,
            if self.count == 1 { "y" } else { "ies" }
        );
        if self.evasive {
            s.push_str(" with an evasive dot segment");
        }
        if self.backslash {
            s.push_str(" with backslashes");
        }
        s
    }
}

fn climbs(norm: &[u8], raw: &[u8]) -> Climb {
    let mut c = Climb {
        count: 0,
        evasive: false,
        backslash: false,
        escapes: false,
        first: 0,
        end: 0,
    };
    let mut depth = 0usize;
    let mut at = 0usize;
    let segs = norm.split(|&b| b == b'/');
    let nsegs = norm.iter().filter(|&&b| b == b'/').count() + 1;
    for (i, seg) in segs.enumerate() {
        let start = at;
        at += seg.len() + 1;
        let (name, params) = match seg.iter().position(|&b| b == b';') {
            Some(k) => (&seg[..k], true),
            None => (seg, false),
        };
        // Only a segment that is all dots, and is a segment (a `/` on some side).
        let dots = name.len() >= 2 && name.iter().all(|&b| b == b'.');
        let delimited = nsegs > 1 && (i + 1 < nsegs || start > 0);
        if dots && delimited {
            // `...` at the end of prose before a slash (`so.../`) is still a
            // segment; three or more dots alone is only a climb when followed
            // by more path.
            if name.len() > 2 && i + 1 == nsegs {
                continue;
            }
            if c.count == 0 {
                c.first = start;
            }
            c.end = (start + seg.len() + 1).min(norm.len());
            c.count += 1;
            c.evasive |= name.len() > 2 || params;
            if depth == 0 {
                c.escapes = true;
            } else {
                depth -= 1;
            }
        } else if !name.is_empty() && name != b"." {
            depth += 1;
        }
    }
    if c.count > 0 {
        c.backslash = memchr::memmem::find(raw, b"..\\").is_some();
        // `..\/`, `../\`: mixed separators.
        c.evasive |= memchr::memmem::find(raw, b"../\\").is_some()
            || memchr::memmem::find(raw, b"..\\/").is_some()
            || memchr::memmem::find(raw, b"..//").is_some();
    }
    c
}

/// Where a `.name` segment sits in the URL path, other than `.well-known`.
fn hidden_segment(norm: &[u8]) -> Option<Range<usize>> {
    let mut at = 0;
    for s in norm.split(|&b| b == b'/') {
        if s.len() >= 2
            && s[0] == b'.'
            && s[1].is_ascii_alphanumeric()
            && !s.eq_ignore_ascii_case(b".well-known")
        {
            return Some(at..at + s.len());
        }
        at += s.len() + 1;
    }
    None
}

/// `file://…` or a stream wrapper at a word start: the scheme and where it starts.
fn wrapper(v: &[u8]) -> Option<(&'static str, usize)> {
    const SCHEMES: &[&str] = &[
        "php://",
        "phar://",
        "zip://",
        "expect://",
        "glob://",
        "compress.zlib://",
        "compress.bzip2://",
        "zlib://",
        "data://",
        "ogg://",
        "rar://",
        "ssh2.shell://",
        "ssh2.exec://",
        "jar:file:",
        "file://",
        "file:/",
    ];
    let mut from = 0;
    while let Some(k) = memchr::memchr(b':', &v[from..]).map(|k| from + k) {
        from = k + 1;
        // Back up over the scheme name.
        let mut s = k;
        while s > 0 && (v[s - 1].is_ascii_alphanumeric() || matches!(v[s - 1], b'.' | b'2')) {
            s -= 1;
        }
        if s > 0 && (v[s - 1].is_ascii_alphanumeric() || v[s - 1] == b'_') {
            continue;
        }
        // `jar:file:` has its colon after `jar`.
        let tail = &v[s..];
        if let Some(w) = SCHEMES
            .iter()
            .copied()
            .find(|w| tail.len() >= w.len() && tail[..w.len()].eq_ignore_ascii_case(w.as_bytes()))
        {
            // `file:/` must lead to a path, not `file:/` alone in text.
            if w == "file:/" && !tail.get(6).is_some_and(|c| c.is_ascii_alphanumeric()) {
                continue;
            }
            return Some((w, s));
        }
    }
    None
}
