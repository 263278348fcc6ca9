//! XML bodies (SOAP, XML-RPC, SAML, plain XML APIs).
//!
//! A small tolerant tokenizer of our own rather than a crate: we never want
//! entity expansion or DTD processing (the XXE and billion-laughs surface),
//! we want to keep going after the first error, and we need little of XML.
//!
//! Arguments: the text of an element (its direct text, CDATA included, joined
//! across comments and processing instructions, as `textContent` would;
//! whitespace-only text is skipped) is a `BodyArg` named by the element path
//! (`root.user.name`, prefixes kept: `soap:Envelope.soap:Body`); text before
//! and after a child element are separate arguments. Attribute values are
//! `BodyArg`s named `path@attr`. Character references and the predefined
//! entities are decoded (by the lenient HTML decoder, a superset); CDATA is
//! taken as is; unknown entities (`&xxe;`) stay as written, never expanded.
//!
//! Problems: a `<!DOCTYPE` or `<!ENTITY` anywhere is `XmlDoctype` (parsing goes
//! on past it); nesting deeper than `max_depth` is `TooDeep` once, after
//! which names stop growing but text is still inspected; more than
//! `max_args` arguments is `TooManyArgs` and the parse stops. Malformed XML
//! (the first problem found: mismatched or stray end tags, junk, text outside
//! the root, a second root, unquoted attributes...) is `MalformedXml`.
//! With `truncated` only what an abrupt end explains (unclosed elements,
//! unterminated comments, tags, CDATA) is forgiven.

use super::utf8_len;
use super::{BodyArg, BodyLimits, BodyProblem, ParsedBody};
use crate::decode::html::decode_entities;
use crate::request::Part;

pub fn parse(body: &[u8], truncated: bool, limits: &BodyLimits) -> ParsedBody {
    let text = String::from_utf8_lossy(body);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut p = Parser {
        s: text,
        b: text.as_bytes(),
        i: 0,
        truncated,
        limits,
        out: ParsedBody::default(),
        stack: Vec::new(),
        path: String::new(),
        roots: 0,
        malformed: false,
        doctype: false,
        too_deep: false,
        full: false,
    };
    if text.trim().is_empty() {
        return p.out;
    }
    p.run();
    p.out
}

struct Element {
    name: String,
    /// `path` length before this element (restored when it closes).
    base: usize,
    /// Direct text not yet reported.
    text: String,
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    truncated: bool,
    limits: &'a BodyLimits,
    out: ParsedBody,
    stack: Vec<Element>,
    /// Dotted path of the innermost named element.
    path: String,
    /// Root elements seen.
    roots: usize,
    malformed: bool,
    doctype: bool,
    too_deep: bool,
    full: bool,
}

impl Parser<'_> {
    fn run(&mut self) {
        while self.i < self.b.len() && !self.full {
            if self.b[self.i] != b'<' {
                let end =
                    memchr::memchr(b'<', &self.b[self.i..]).map_or(self.b.len(), |j| self.i + j);
                let run = &self.s[self.i..end];
                self.i = end;
                self.text(&decode_entities(run));
                continue;
            }
            let rest = &self.b[self.i + 1..];
            if rest.starts_with(b"?") {
                self.skip_past(b"?>", "unterminated processing instruction");
            } else if rest.starts_with(b"!--") {
                self.skip_past(b"-->", "unterminated comment");
            } else if rest.starts_with(b"![CDATA[") {
                let start = self.i + 9;
                let end = find(self.b, start, b"]]>");
                let content = &self.s[start..end.unwrap_or(self.b.len())];
                self.text(content);
                match end {
                    Some(e) => self.i = e + 3,
                    None => {
                        self.i = self.b.len();
                        self.eof_problem("unterminated CDATA section");
                    }
                }
            } else if starts_with_ci(rest, b"!DOCTYPE") || starts_with_ci(rest, b"!ENTITY") {
                self.flag_doctype();
                self.skip_declaration();
            } else if rest.starts_with(b"!") {
                self.problem("unknown markup declaration");
                self.skip_declaration();
            } else if rest.starts_with(b"/") {
                self.end_tag();
            } else if rest.first().is_some_and(|&c| is_name_start(c)) {
                self.start_tag();
            } else if rest.is_empty() {
                self.i += 1;
                self.eof_problem("unterminated tag");
            } else {
                // A `<` that starts nothing is text to a lenient reader.
                self.problem("stray '<'");
                self.i += 1;
                self.text("<");
            }
        }
        if self.full {
            return;
        }
        if let Some(open) = self.stack.last() {
            let msg = format!("unclosed element <{}>", open.name);
            self.eof_problem(&msg);
        }
        while !self.stack.is_empty() && !self.full {
            self.pop();
        }
        if self.roots == 0 {
            self.problem("no root element");
        }
    }

    /// Text at the current position: the innermost element's, or junk outside the root.
    fn text(&mut self, t: &str) {
        match self.stack.last_mut() {
            Some(e) => e.text.push_str(t),
            None if !t.trim().is_empty() => self.problem("text outside the root element"),
            None => {}
        }
    }

    fn start_tag(&mut self) {
        self.i += 1;
        let name = self.name();
        if self.stack.is_empty() {
            self.roots += 1;
            if self.roots == 2 {
                self.problem("more than one root element");
            }
        }
        // Text before a child is reported on its own.
        self.flush();
        let base = self.path.len();
        if self.stack.len() < self.limits.max_depth {
            if !self.path.is_empty() {
                self.path.push('.');
            }
            self.path.push_str(&name);
        } else if !self.too_deep {
            self.too_deep = true;
            self.out.problems.push(BodyProblem::TooDeep);
        }
        self.stack.push(Element {
            name,
            base,
            text: String::new(),
        });
        let self_closing = self.attributes();
        if self_closing {
            self.pop();
        }
    }

    /// Reads the attributes of the open start tag up to its end; true for `/>`.
    fn attributes(&mut self) -> bool {
        loop {
            self.skip_ws();
            let rest = &self.b[self.i..];
            match rest {
                [] => {
                    self.eof_problem("unterminated start tag");
                    return false;
                }
                [b'>', ..] => {
                    self.i += 1;
                    return false;
                }
                [b'/', b'>', ..] => {
                    self.i += 2;
                    return true;
                }
                [b'<', ..] => {
                    self.problem("unterminated start tag");
                    return false;
                }
                _ => {}
            }
            let attr = self.name();
            if attr.is_empty() {
                self.problem("junk in a start tag");
                self.i += utf8_len(self.b[self.i]);
                continue;
            }
            self.skip_ws();
            let value = if self.b.get(self.i) == Some(&b'=') {
                self.i += 1;
                self.skip_ws();
                self.attribute_value()
            } else {
                self.problem("attribute without a value");
                String::new()
            };
            let name = format!("{}@{attr}", self.path);
            self.push(name, value);
        }
    }

    fn attribute_value(&mut self) -> String {
        match self.b.get(self.i) {
            Some(&q @ (b'"' | b'\'')) => {
                let start = self.i + 1;
                let end = memchr::memchr(q, &self.b[start..]).map(|j| start + j);
                let raw = &self.s[start..end.unwrap_or(self.b.len())];
                match end {
                    Some(e) => self.i = e + 1,
                    None => {
                        self.i = self.b.len();
                        self.eof_problem("unterminated attribute value");
                    }
                }
                decode_entities(raw).into_owned()
            }
            _ => {
                self.problem("unquoted attribute value");
                let start = self.i;
                while self.i < self.b.len()
                    && !self.b[self.i].is_ascii_whitespace()
                    && self.b[self.i] != b'>'
                {
                    self.i += 1;
                }
                decode_entities(&self.s[start..self.i]).into_owned()
            }
        }
    }

    fn end_tag(&mut self) {
        self.i += 2;
        let name = self.name();
        match memchr::memchr(b'>', &self.b[self.i..]) {
            Some(j) => self.i += j + 1,
            None => {
                self.i = self.b.len();
                self.eof_problem("unterminated end tag");
            }
        }
        match self.stack.iter().rposition(|e| e.name == name) {
            Some(at) => {
                if at + 1 != self.stack.len() {
                    self.problem("mismatched end tag");
                }
                while self.stack.len() > at && !self.full {
                    self.pop();
                }
            }
            None => self.problem("end tag without a start tag"),
        }
    }

    /// Closes the innermost element, reporting its text.
    fn pop(&mut self) {
        self.flush();
        if let Some(e) = self.stack.pop() {
            self.path.truncate(e.base);
        }
    }

    /// Reports the innermost element's pending text.
    fn flush(&mut self) {
        let Some(e) = self.stack.last_mut() else {
            return;
        };
        if e.text.trim().is_empty() {
            e.text.clear();
            return;
        }
        let text = std::mem::take(&mut e.text);
        self.push(self.path.clone(), text);
    }

    fn push(&mut self, name: String, value: String) {
        if self.full {
            return;
        }
        let arg = BodyArg {
            part: Part::BodyArg,
            name,
            value,
        };
        self.full = !self.out.push_arg(arg, self.limits.max_args);
    }

    /// An element or attribute name at the current position (possibly empty).
    fn name(&mut self) -> String {
        let start = self.i;
        while self.i < self.b.len()
            && !self.b[self.i].is_ascii_whitespace()
            && !b"/>=<\"'".contains(&self.b[self.i])
        {
            self.i += 1;
        }
        self.s[start..self.i].to_owned()
    }

    fn skip_ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    /// Skips past `end`, or to the end of the body if it never comes.
    fn skip_past(&mut self, end: &[u8], unterminated: &str) {
        match find(self.b, self.i + 1, end) {
            Some(j) => self.i = j + end.len(),
            None => {
                self.i = self.b.len();
                self.eof_problem(unterminated);
            }
        }
    }

    /// Skips a `<!…>` declaration: quoted strings and a `[…]` internal subset
    /// (with its own declarations, comments and `>`s) are stepped over.
    fn skip_declaration(&mut self) {
        let mut depth = 0usize;
        let mut j = self.i + 2;
        while j < self.b.len() {
            match self.b[j] {
                q @ (b'"' | b'\'') => match memchr::memchr(q, &self.b[j + 1..]) {
                    Some(k) => j += k + 1,
                    None => break,
                },
                b'[' => depth += 1,
                b']' => depth = depth.saturating_sub(1),
                b'<' if self.b[j..].starts_with(b"<!--") => match find(self.b, j + 4, b"-->") {
                    Some(k) => j = k + 2,
                    None => break,
                },
                b'<' if starts_with_ci(&self.b[j + 1..], b"!ENTITY") => self.flag_doctype(),
                b'>' if depth == 0 => {
                    self.i = j + 1;
                    return;
                }
                _ => {}
            }
            j += 1;
        }
        self.i = self.b.len();
        self.eof_problem("unterminated declaration");
    }

    fn flag_doctype(&mut self) {
        if !self.doctype {
            self.doctype = true;
            self.out.problems.push(BodyProblem::XmlDoctype);
        }
    }

    /// The first malformation is reported; later ones add nothing.
    fn problem(&mut self, msg: &str) {
        if !self.malformed {
            self.malformed = true;
            self.out
                .problems
                .push(BodyProblem::MalformedXml(msg.to_owned()));
        }
    }

    /// A problem an abrupt end of the body explains.
    fn eof_problem(&mut self, msg: &str) {
        if !self.truncated {
            self.problem(msg);
        }
    }
}

fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

fn starts_with_ci(b: &[u8], prefix: &[u8]) -> bool {
    b.len() >= prefix.len() && b[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(b.get(from..)?, needle).map(|j| from + j)
}
