//! Inspection of bodies larger than the parse buffer, as they stream, in
//! bounded memory.
//!
//! A body that fits the buffer (`body_limit_bytes`) is parsed whole by the
//! parsers next to this module. Past it, the transaction feeds every byte
//! here instead, and this turns the stream into values to inspect:
//!
//! - a form body is split at `&` into its arguments, each inspected whole
//!   when it is short, in windows when it is long;
//! - a multipart body is split at its delimiters (the same rules as
//!   [`super::multipart`]); each part's names are arguments, its content a
//!   field inspected in windows, unless it is a file whose content is binary,
//!   which is only searched for server-side script tags;
//! - JSON, XML and text are inspected in windows of the raw text;
//! - binary content (in a body of a type no parser takes) gives the form
//!   pairs a lenient parser would read out of it and is searched for script
//!   tags; gRPC and protobuf also give their printable runs.
//!
//! Windows overlap by [`OVERLAP`] bytes, so a token up to that long that
//! straddles two windows (or two network chunks) is whole in one of them.
//! Memory is bounded by about two windows per stream, whatever the body's size.

use super::multipart::{self, PartHead};
use super::sniff;
use super::{BodyKind, BodyProblem, urlencoded};
use crate::request::{Location, Part, Value};
use memchr::memmem;

/// Bytes inspected at once.
pub const WINDOW: usize = 16 * 1024;
/// Bytes each window shares with the one before it.
pub const OVERLAP: usize = 1024;
/// Longest multipart header block; longer is a problem and the rest is content.
const MAX_PART_HEAD: usize = 16 * 1024;
/// A file part's first bytes, read before deciding whether it is binary.
const FILE_SNIFF: usize = 512;
/// Printable runs shorter than this in binary data are noise.
const MIN_RUN: usize = 6;

/// What the stream gave since the last call.
#[derive(Debug, Default)]
pub struct Pieces {
    /// Values to inspect like any body value.
    pub values: Vec<Value>,
    /// Windows of binary file content, searched for server-side script only.
    pub binary: Vec<Vec<u8>>,
    pub problems: Vec<BodyProblem>,
}

impl Pieces {
    fn value(&mut self, part: Part, name: Option<&str>, text: String) {
        self.values.push(Value {
            location: Location::new(part, name),
            text,
        });
    }
}

/// A streaming inspector for one body.
#[derive(Debug)]
pub struct BodyStream {
    mode: Mode,
}

#[derive(Debug)]
enum Mode {
    Form(FormStream),
    Multipart(Box<MultipartStream>),
    Text(Windows),
    /// Binary content; `true`: its printable runs are inspected too (gRPC, protobuf).
    Binary {
        windows: Windows,
        /// Its printable runs are inspected too.
        strings: bool,
        /// No window emitted yet: the next one starts at the body's first byte.
        first: bool,
    },
}

impl BodyStream {
    /// `kind` is the body's kind by its type and content; `content_type` gives
    /// a multipart body its boundary; `head` is the body's first bytes.
    pub fn new(kind: BodyKind, content_type: Option<&str>, head: &[u8]) -> BodyStream {
        let boundary = content_type.and_then(super::multipart_boundary);
        let mode = match kind {
            BodyKind::Multipart => match boundary.filter(|b| !b.is_empty()) {
                Some(b) => Mode::Multipart(Box::new(MultipartStream::new(b))),
                // No boundary: nothing is a delimiter, so all of it is text to a back end.
                None => Mode::Text(Windows::default()),
            },
            BodyKind::UrlEncoded => Mode::Form(FormStream::default()),
            BodyKind::Json | BodyKind::Xml | BodyKind::Text => Mode::Text(Windows::default()),
            // A type no parser takes is text, unless its content is binary.
            BodyKind::Opaque if sniff::is_binary(head) => Mode::Binary {
                windows: Windows::default(),
                strings: sniff::carries_text_fields(content_type),
                first: true,
            },
            BodyKind::Opaque => Mode::Text(Windows::default()),
        };
        BodyStream { mode }
    }

    /// Feeds the next bytes of the body.
    pub fn push(&mut self, data: &[u8], out: &mut Pieces) {
        match &mut self.mode {
            Mode::Form(f) => f.push(data, out),
            Mode::Multipart(m) => m.push(data, out),
            Mode::Text(w) => w.push(data, &mut |win| text_window(win, out)),
            Mode::Binary {
                windows,
                strings,
                first,
            } => windows.push(data, &mut |win| binary_window(win, *strings, first, out)),
        }
    }

    /// The end of the body.
    pub fn finish(&mut self, out: &mut Pieces) {
        match &mut self.mode {
            Mode::Form(f) => f.finish(out),
            Mode::Multipart(m) => m.finish(out),
            Mode::Text(w) => w.finish(&mut |win| text_window(win, out)),
            Mode::Binary {
                windows,
                strings,
                first,
            } => windows.finish(&mut |win| binary_window(win, *strings, first, out)),
        }
    }
}

fn text_window(win: &[u8], out: &mut Pieces) {
    out.value(Part::Body, None, String::from_utf8_lossy(win).into_owned());
}

fn binary_window(win: &[u8], strings: bool, first: &mut bool, out: &mut Pieces) {
    // Past the first window, the text before the first `&` is the middle of
    // something, not a name: a pair that starts there started after an `&`
    // inside the previous window's overlap, where it was seen whole.
    let from = if std::mem::take(first) {
        0
    } else {
        memchr::memchr(b'&', win).unwrap_or(win.len())
    };
    for (name, value) in sniff::embedded_form_args(&win[from..]) {
        out.value(Part::BodyArg, Some(&name), value);
    }
    if strings {
        let runs = sniff::printable_runs(win, MIN_RUN, WINDOW);
        if !runs.is_empty() {
            out.value(Part::Body, None, runs);
        }
    }
    out.binary.push(win.to_vec());
}

/// Overlapping windows over a byte stream.
#[derive(Debug, Default)]
pub struct Windows {
    buf: Vec<u8>,
    /// Bytes at the end of `buf` no window has covered yet.
    fresh: usize,
}

impl Windows {
    pub fn push(&mut self, mut data: &[u8], emit: &mut dyn FnMut(&[u8])) {
        while !data.is_empty() {
            let take = (WINDOW - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            self.fresh += take;
            data = &data[take..];
            if self.buf.len() == WINDOW {
                let (end, next) = window_cut(&self.buf);
                emit(&self.buf[..end]);
                self.buf.drain(..next);
                self.fresh = self.buf.len() - (end - next);
            }
        }
    }

    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if self.fresh > 0 {
            emit(&self.buf);
        }
        self.buf.clear();
        self.fresh = 0;
    }
}

/// Part of a word: letters, digits, `_`, and any byte of a multi-byte
/// character (so a cut never splits a character either).
fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Where a full window ends and where the next one starts.
///
/// A window cut inside a word gives rules a word that is not in the text:
/// `\nshirt` cut after `\nsh` reads as a shell command at the start of a
/// line, and benign uploads were blocked for it. So a window ends after the
/// last non-word byte of its final `OVERLAP / 2` bytes, and the next one
/// starts at the first non-word byte of the `OVERLAP / 4` bytes before its
/// `OVERLAP` of context. Only a word longer than those spans is still cut.
/// The next window starts at least `OVERLAP` before this one's end, so a
/// token up to `OVERLAP` long is still whole in one of them.
fn window_cut(buf: &[u8]) -> (usize, usize) {
    let len = buf.len();
    let end = buf[len - OVERLAP / 2..]
        .iter()
        .rposition(|&b| !is_word_byte(b))
        .map_or(len, |i| len - OVERLAP / 2 + i + 1);
    let latest = end - OVERLAP;
    let earliest = latest - OVERLAP / 4;
    let next = buf[earliest..latest]
        .iter()
        .position(|&b| !is_word_byte(b))
        .map_or(latest, |i| earliest + i);
    (end, next)
}

/// `a=1&b=2...`, split as it streams.
#[derive(Debug, Default)]
struct FormStream {
    /// The argument being read, while it is short.
    pair: Vec<u8>,
    /// A long argument: its name, and windows over its value.
    long: Option<(String, Windows)>,
}

impl FormStream {
    fn push(&mut self, data: &[u8], out: &mut Pieces) {
        let mut rest = data;
        loop {
            match memchr::memchr(b'&', rest) {
                Some(i) => {
                    self.append(&rest[..i], out);
                    self.end_pair(out);
                    rest = &rest[i + 1..];
                }
                None => {
                    self.append(rest, out);
                    return;
                }
            }
        }
    }

    fn append(&mut self, bytes: &[u8], out: &mut Pieces) {
        if let Some((name, w)) = &mut self.long {
            w.push(bytes, &mut |win| long_value(name, win, out));
            return;
        }
        self.pair.extend_from_slice(bytes);
        if self.pair.len() <= WINDOW {
            return;
        }
        // Too long to hold: the name (when there is a short one) is an
        // argument now, the value goes on in windows.
        let pair = std::mem::take(&mut self.pair);
        let (name, value) = match memchr::memchr(b'=', &pair) {
            Some(eq) if eq <= OVERLAP => (&pair[..eq], &pair[eq + 1..]),
            _ => (&b""[..], &pair[..]),
        };
        let name = urlencoded::form_decode(&String::from_utf8_lossy(name));
        out.value(Part::BodyArgName, Some(&name), name.clone());
        let mut w = Windows::default();
        w.push(value, &mut |win| long_value(&name, win, out));
        self.long = Some((name, w));
    }

    fn end_pair(&mut self, out: &mut Pieces) {
        if let Some((name, mut w)) = self.long.take() {
            w.finish(&mut |win| long_value(&name, win, out));
            return;
        }
        let pair = std::mem::take(&mut self.pair);
        if pair.is_empty() {
            return;
        }
        let pair = String::from_utf8_lossy(&pair);
        let (k, v) = pair.split_once('=').unwrap_or((&pair, ""));
        let (k, v) = (urlencoded::form_decode(k), urlencoded::form_decode(v));
        out.value(Part::BodyArg, Some(&k), v);
        out.value(Part::BodyArgName, Some(&k), k.clone());
    }

    fn finish(&mut self, out: &mut Pieces) {
        self.end_pair(out);
    }
}

fn long_value(name: &str, win: &[u8], out: &mut Pieces) {
    let text = urlencoded::form_decode(&String::from_utf8_lossy(win));
    out.value(Part::BodyArg, Some(name), text);
}

/// Where a multipart stream is.
#[derive(Debug)]
enum Phase {
    /// Before the first delimiter.
    Preamble,
    /// Reading a part's headers.
    Head,
    /// Inside a part's content.
    Content(Content),
    /// After the close delimiter.
    Epilogue,
}

/// Where a part's content goes.
#[derive(Debug)]
struct Content {
    name: String,
    /// A file's first bytes, until there are enough to tell text from binary.
    sniff: Option<Vec<u8>>,
    binary: bool,
    windows: Windows,
}

impl Content {
    fn new(head: &PartHead) -> Content {
        Content {
            name: head.name.clone(),
            sniff: head.is_file().then(Vec::new),
            binary: false,
            windows: Windows::default(),
        }
    }

    fn push(&mut self, data: &[u8], out: &mut Pieces) {
        let Some(s) = &mut self.sniff else {
            self.feed(data, out);
            return;
        };
        s.extend_from_slice(data);
        if s.len() >= FILE_SNIFF {
            let held = self.sniff.take().unwrap_or_default();
            self.binary = sniff::is_binary(&held);
            self.feed(&held, out);
        }
    }

    fn feed(&mut self, data: &[u8], out: &mut Pieces) {
        let (name, binary) = (&self.name, self.binary);
        self.windows
            .push(data, &mut |win| content_window(name, binary, win, out));
    }

    fn finish(&mut self, out: &mut Pieces) {
        if let Some(held) = self.sniff.take() {
            self.binary = sniff::is_binary(&held);
            self.feed(&held, out);
        }
        let (name, binary) = (&self.name, self.binary);
        // An empty field is a value too (the buffered parser gives it one).
        if !binary && self.windows.fresh == 0 && self.windows.buf.is_empty() {
            out.value(Part::BodyArg, Some(name), String::new());
        }
        self.windows
            .finish(&mut |win| content_window(name, binary, win, out));
    }
}

fn content_window(name: &str, binary: bool, win: &[u8], out: &mut Pieces) {
    if binary {
        out.binary.push(win.to_vec());
    } else {
        out.value(
            Part::BodyArg,
            Some(name),
            String::from_utf8_lossy(win).into_owned(),
        );
    }
}

/// A multipart body, split at its delimiters as it streams.
#[derive(Debug)]
struct MultipartStream {
    dash: Vec<u8>,
    /// Bytes not yet assigned to a phase (a delimiter may start in them).
    buf: Vec<u8>,
    phase: Phase,
    parts: usize,
    /// Nothing of the preamble dropped yet: a delimiter may still start at byte 0.
    preamble_untouched: bool,
    /// `buf` starts a line (the byte dropped before it was a line feed, or
    /// nothing was dropped): only then may a delimiter start at its byte 0.
    line_start: bool,
    /// In a part's head: where its unfinished last line starts in `buf`. The
    /// lines before it are known not to be empty, so a head that arrives in
    /// small pieces is scanned once, not again on every push.
    head_scanned: usize,
}

impl MultipartStream {
    fn new(boundary: &str) -> MultipartStream {
        MultipartStream {
            dash: format!("--{boundary}").into_bytes(),
            buf: Vec::new(),
            phase: Phase::Preamble,
            parts: 0,
            preamble_untouched: true,
            line_start: true,
            head_scanned: 0,
        }
    }

    fn problem(out: &mut Pieces, msg: &str) {
        let p = BodyProblem::MalformedMultipart(msg.to_owned());
        if !out.problems.contains(&p) {
            out.problems.push(p);
        }
    }

    /// The next complete delimiter line in `buf`: `Ok(Some)` found, `Ok(None)`
    /// none, `Err(at)` one starts at `at` but its line has not all arrived.
    fn delimiter(&self, end: bool) -> Result<Option<multipart::Delimiter>, usize> {
        let finder = memmem::Finder::new(&self.dash);
        let mut found = multipart::next_delimiter(&self.buf, &finder, 0);
        if !self.line_start && found.as_ref().is_some_and(|d| d.at == 0) {
            found = multipart::next_delimiter(&self.buf, &finder, 1);
        }
        let Some(d) = found else {
            return Ok(None);
        };
        let after = d.at + self.dash.len();
        let complete = end
            || match d.content_start {
                // `--boundary--`: two bytes after the needle say so.
                None => true,
                Some(start) => {
                    start < self.buf.len() || self.buf[start - 1] == b'\n' && start > after
                }
            };
        if complete { Ok(Some(d)) } else { Err(d.at) }
    }

    fn push(&mut self, data: &[u8], out: &mut Pieces) {
        self.buf.extend_from_slice(data);
        self.run(false, out);
    }

    /// Whether the part's head in `buf` has ended (an empty line arrived),
    /// looking only at what came since the last call.
    fn head_ended(&mut self) -> bool {
        let mut pos = self.head_scanned;
        while let Some(nl) = memchr::memchr(b'\n', &self.buf[pos..]) {
            if matches!(&self.buf[pos..pos + nl], b"" | b"\r") {
                return true;
            }
            pos += nl + 1;
        }
        self.head_scanned = pos;
        false
    }

    /// Drops the first `n` bytes, remembering whether what is left starts a line.
    fn drop_front(&mut self, n: usize) {
        if n > 0 {
            self.line_start = self.buf[n - 1] == b'\n';
            self.buf.drain(..n);
        }
    }

    fn run(&mut self, end: bool, out: &mut Pieces) {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Epilogue) {
                Phase::Epilogue => {
                    self.buf.clear();
                    return;
                }
                Phase::Preamble => match self.delimiter(end) {
                    Ok(Some(d)) => {
                        self.after_delimiter(d);
                    }
                    Ok(None) => {
                        // Keep what may be the start of a delimiter: the body's
                        // very start, or a line break and what follows it.
                        let span = self.dash.len() + 4;
                        let keep_from = if self.preamble_untouched && self.buf.len() <= span {
                            0
                        } else {
                            last_line_break(&self.buf, span)
                        };
                        self.preamble_untouched &= keep_from == 0;
                        self.drop_front(keep_from);
                        self.phase = Phase::Preamble;
                        return;
                    }
                    Err(at) => {
                        let from = line_start_before(&self.buf, at);
                        self.preamble_untouched &= from == 0;
                        self.drop_front(from);
                        self.phase = Phase::Preamble;
                        return;
                    }
                },
                Phase::Head => {
                    // Reading the head is costly (headers, parameters): wait for its end.
                    if !end && self.buf.len() <= MAX_PART_HEAD && !self.head_ended() {
                        self.phase = Phase::Head;
                        return;
                    }
                    let head = multipart::read_head(&self.buf);
                    match head.content_start {
                        Some(start) => {
                            self.start_part(&head, out);
                            self.drop_front(start);
                            self.phase = Phase::Content(Content::new(&head));
                        }
                        None if end || self.buf.len() > MAX_PART_HEAD => {
                            Self::problem(out, "part headers not ended by an empty line");
                            // What follows is content to a lenient back end: inspect it as a field.
                            self.start_part(&head, out);
                            let mut c = Content::new(&PartHead::default());
                            let buf = std::mem::take(&mut self.buf);
                            c.push(&buf, out);
                            self.phase = Phase::Content(c);
                            if end {
                                continue;
                            }
                            return;
                        }
                        None => {
                            self.phase = Phase::Head;
                            return;
                        }
                    }
                }
                Phase::Content(mut c) => match self.delimiter(end) {
                    Ok(Some(d)) => {
                        let content_end = multipart::strip_line_end(&self.buf, 0, d.at);
                        c.push(&self.buf[..content_end], out);
                        c.finish(out);
                        self.after_delimiter(d);
                    }
                    other => {
                        // Everything before a possible delimiter is content. What
                        // is held starts with its line break, so a delimiter found
                        // later is known to start a line, as the buffered parser wants.
                        let hold_from = match other {
                            Err(at) => line_start_before(&self.buf, at),
                            _ => last_line_break(&self.buf, self.dash.len() + 4),
                        };
                        // A delimiter line that never ends is content too.
                        let hold_from = if self.buf.len() - hold_from > MAX_PART_HEAD {
                            self.buf.len()
                        } else {
                            hold_from
                        };
                        c.push(&self.buf[..hold_from], out);
                        self.drop_front(hold_from);
                        if end {
                            let rest = std::mem::take(&mut self.buf);
                            c.push(&rest, out);
                            c.finish(out);
                            Self::problem(out, "no closing boundary delimiter");
                            self.phase = Phase::Epilogue;
                            continue;
                        }
                        self.phase = Phase::Content(c);
                        return;
                    }
                },
            }
        }
    }

    fn after_delimiter(&mut self, d: multipart::Delimiter) {
        match d.content_start {
            Some(start) => {
                self.drop_front(start.min(self.buf.len()));
                self.head_scanned = 0;
                self.phase = Phase::Head;
            }
            None => {
                self.buf.clear();
                self.phase = Phase::Epilogue;
            }
        }
    }

    fn start_part(&mut self, head: &PartHead, out: &mut Pieces) {
        self.parts += 1;
        if head.has_disposition {
            out.value(Part::BodyArgName, Some(&head.name), head.name.clone());
        } else {
            Self::problem(out, "part without Content-Disposition");
        }
        for f in &head.filenames {
            out.value(Part::Filename, Some(&head.name), f.clone());
        }
    }

    fn finish(&mut self, out: &mut Pieces) {
        if matches!(self.phase, Phase::Preamble) {
            Self::problem(out, "no boundary delimiter in the body");
        }
        self.run(true, out);
        if self.parts == 0 && out.problems.is_empty() {
            Self::problem(out, "no parts");
        }
    }
}

/// Where the line holding a delimiter at `at` starts, its line break included
/// (0 when the delimiter starts the buffer).
fn line_start_before(buf: &[u8], at: usize) -> usize {
    match at.checked_sub(1) {
        None => 0,
        Some(nl) if nl > 0 && buf[nl - 1] == b'\r' => nl - 1,
        Some(nl) => nl,
    }
}

/// Where the last line break within the final `span` bytes starts (its
/// `\r\n` or `\n`), or the end when there is none: nothing before it can
/// begin a delimiter.
fn last_line_break(buf: &[u8], span: usize) -> usize {
    let from = buf.len().saturating_sub(span);
    match memchr::memrchr(b'\n', &buf[from..]) {
        Some(i) => line_start_before(buf, from + i + 1),
        // A final `\r` may be the start of the line break before a delimiter.
        None if buf.ends_with(b"\r") => buf.len() - 1,
        None => buf.len(),
    }
}

#[cfg(test)]
mod tests;
