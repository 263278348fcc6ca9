//! GraphQL documents: the values a query carries, without its syntax.
//!
//! A GraphQL request is a document (`query { user(id: "7") { name } }`),
//! sent as `application/graphql` or as the `query` member of a JSON body
//! (`{"query": "...", "variables": {...}, "operationName": ...}`, or an array
//! of those when batched). Inspected as one text, the document's own syntax
//! (braces, `... on User`, `fragment`, `__typename`, field names such as
//! `select`, `union` or `order`) reads as injection. What reaches the
//! application's resolvers is the argument values, so those are what we hand
//! to the detectors: every string, number and enum literal in field and
//! directive arguments, in nested input objects and lists, and in variable
//! defaults. Variables' values arrive as ordinary JSON arguments
//! (`variables.id`) from the JSON walker.
//!
//! Names: `graphql.<field path>.<argument>[.<input field or index>...]`,
//! field names as written (not aliases), from the operation's root, a
//! fragment's fields under `graphql.<fragment name>`; directive arguments
//! as `<field path>.@<directive>.<argument>`; a variable default as
//! `graphql.$<variable>`. In a batch, the JSON path of the query comes
//! first: `1.graphql.user.id`.
//!
//! Fail safe: a document larger than [`MAX_BYTES`], nested deeper than
//! [`MAX_DEPTH`], or that does not parse as an executable document gives
//! `None`, and the caller inspects the text as it did before (one value).
//! The parser never panics: every byte access is checked, the recursion is
//! bounded by the depth limit.
//!
//! Why no crate: the engine is pure and small, and the existing GraphQL
//! parsers build a full AST (type system, locations, owned strings for every
//! token) to validate and execute; we need a bounded pass that collects
//! literals, about the size of one of those crates' lexers.

use super::{BodyArg, BodyLimits, BodyProblem, ParsedBody};
use crate::request::Part;

/// Largest document parsed; bigger ones are inspected as text.
pub const MAX_BYTES: usize = 256 * 1024;
/// Deepest nesting (selection sets, lists, objects, types) followed.
pub const MAX_DEPTH: usize = 64;
/// Most values taken from one document.
const MAX_VALUES: usize = 10_000;

/// The argument values of `doc`, named, or `None` when it is not a document
/// we can parse (see the module doc).
pub fn values(doc: &str) -> Option<Vec<(String, String)>> {
    if doc.len() > MAX_BYTES {
        return None;
    }
    let mut p = Parser {
        s: doc.as_bytes(),
        text: doc,
        i: 0,
        depth: 0,
        path: Vec::new(),
        out: Vec::new(),
    };
    p.document()?;
    Some(p.out)
}

/// Whether `text` could be a GraphQL document (so a JSON `query` member that
/// holds a search phrase is not taken for one).
pub fn looks_like_document(text: &str) -> bool {
    let t = text.trim_start_matches(|c: char| c.is_whitespace() || c == ',' || c == '\u{feff}');
    t.starts_with('{')
        || ["query", "mutation", "subscription", "fragment"]
            .iter()
            .any(|k| t.starts_with(k) && !t[k.len()..].starts_with(is_name_char))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    depth: usize,
    /// Field names from the definition's root to the current field.
    path: Vec<&'a str>,
    out: Vec<(String, String)>,
}

impl<'a> Parser<'a> {
    /// Skips whitespace, commas, comments and byte-order marks.
    fn skip(&mut self) {
        while let Some(&c) = self.s.get(self.i) {
            match c {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.i += 1,
                b'#' => {
                    while self
                        .s
                        .get(self.i)
                        .is_some_and(|&c| c != b'\n' && c != b'\r')
                    {
                        self.i += 1;
                    }
                }
                0xEF if self.s.get(self.i..self.i + 3) == Some(b"\xEF\xBB\xBF") => self.i += 3,
                _ => break,
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: u8) -> Option<()> {
        self.eat(c).then_some(())
    }

    fn name(&mut self) -> Option<&'a str> {
        self.skip();
        let start = self.i;
        match self.s.get(self.i) {
            Some(c) if c.is_ascii_alphabetic() || *c == b'_' => {}
            _ => return None,
        }
        while self
            .s
            .get(self.i)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
        {
            self.i += 1;
        }
        self.text.get(start..self.i)
    }

    /// Whether the next name is `word` (not consumed).
    fn at_word(&mut self, word: &str) -> bool {
        self.skip();
        let end = self.i + word.len();
        self.s.get(self.i..end) == Some(word.as_bytes())
            && !self
                .s
                .get(end)
                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn document(&mut self) -> Option<()> {
        let mut any = false;
        while self.peek().is_some() {
            self.definition()?;
            any = true;
        }
        any.then_some(())
    }

    fn definition(&mut self) -> Option<()> {
        self.path.clear();
        if self.peek() == Some(b'{') {
            return self.selection_set();
        }
        let kind = self.name()?;
        match kind {
            "query" | "mutation" | "subscription" => {
                if self
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
                {
                    self.name()?;
                }
                if self.eat(b'(') {
                    self.variable_definitions()?;
                }
                self.directives()?;
                self.selection_set()
            }
            "fragment" => {
                let name = self.name()?;
                if !self.at_word("on") {
                    return None;
                }
                self.name()?;
                self.name()?;
                self.path.push(name);
                self.directives()?;
                self.selection_set()
            }
            _ => None,
        }
    }

    /// After `(`: `$id: ID! = "default" @dir, ...)`.
    fn variable_definitions(&mut self) -> Option<()> {
        while !self.eat(b')') {
            self.expect(b'$')?;
            let var = self.name()?;
            self.expect(b':')?;
            self.type_ref()?;
            if self.eat(b'=') {
                let name = format!("graphql.${var}");
                self.value(name)?;
            }
            self.directives()?;
        }
        Some(())
    }

    fn type_ref(&mut self) -> Option<()> {
        self.enter()?;
        if self.eat(b'[') {
            self.type_ref()?;
            self.expect(b']')?;
        } else {
            self.name()?;
        }
        self.eat(b'!');
        self.leave();
        Some(())
    }

    fn directives(&mut self) -> Option<()> {
        while self.eat(b'@') {
            let d = self.name()?;
            if self.eat(b'(') {
                let base = format!("{}.@{d}", self.prefix());
                self.arguments(&base)?;
            }
        }
        Some(())
    }

    fn prefix(&self) -> String {
        let mut p = String::from("graphql");
        for f in &self.path {
            p.push('.');
            p.push_str(f);
        }
        p
    }

    fn selection_set(&mut self) -> Option<()> {
        self.expect(b'{')?;
        self.enter()?;
        let mut any = false;
        while !self.eat(b'}') {
            self.selection()?;
            any = true;
        }
        self.leave();
        any.then_some(())
    }

    fn selection(&mut self) -> Option<()> {
        if self.peek() == Some(b'.') {
            if self.s.get(self.i..self.i + 3) != Some(b"...") {
                return None;
            }
            self.i += 3;
            // `... Name` spreads a fragment; `... on T`, `... @dir` and `... {` are inline.
            if self.at_word("on") {
                self.name()?;
                self.name()?;
            } else if self
                .peek()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
            {
                self.name()?;
                return self.directives();
            }
            self.directives()?;
            return self.selection_set();
        }
        let mut field = self.name()?;
        if self.eat(b':') {
            field = self.name()?;
        }
        self.path.push(field);
        if self.eat(b'(') {
            let base = self.prefix();
            self.arguments(&base)?;
        }
        self.directives()?;
        if self.peek() == Some(b'{') {
            self.selection_set()?;
        }
        self.path.pop();
        Some(())
    }

    /// After `(`: `name: value, ...)`, each value named `base.name`.
    fn arguments(&mut self, base: &str) -> Option<()> {
        while !self.eat(b')') {
            let arg = self.name()?;
            self.expect(b':')?;
            self.value(format!("{base}.{arg}"))?;
        }
        Some(())
    }

    fn value(&mut self, name: String) -> Option<()> {
        self.enter()?;
        match self.peek()? {
            b'$' => {
                self.i += 1;
                self.name()?;
            }
            b'"' => {
                let s = self.string()?;
                self.emit(name, s);
            }
            b'[' => {
                self.i += 1;
                let mut n = 0usize;
                while !self.eat(b']') {
                    self.value(format!("{name}.{n}"))?;
                    n += 1;
                }
            }
            b'{' => {
                self.i += 1;
                while !self.eat(b'}') {
                    let key = self.name()?;
                    self.expect(b':')?;
                    self.value(format!("{name}.{key}"))?;
                }
            }
            b'-' | b'0'..=b'9' => {
                let n = self.number()?;
                self.emit(name, n.to_owned());
            }
            _ => {
                let word = self.name()?;
                if !matches!(word, "true" | "false" | "null") {
                    self.emit(name, word.to_owned());
                }
            }
        }
        self.leave();
        Some(())
    }

    fn emit(&mut self, name: String, value: String) {
        if self.out.len() < MAX_VALUES {
            self.out.push((name, value));
        }
    }

    fn number(&mut self) -> Option<&'a str> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while p.s.get(p.i).is_some_and(u8::is_ascii_digit) {
                p.i += 1;
            }
            p.i > from
        };
        if !digits(self) {
            return None;
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return None;
            }
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        self.text.get(start..self.i)
    }

    /// A `"..."` or `"""..."""` string at `self.i`, its escapes decoded.
    fn string(&mut self) -> Option<String> {
        if self.s.get(self.i..self.i + 3) == Some(b"\"\"\"") {
            return self.block_string();
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.i)?;
            match c {
                b'"' => {
                    self.i += 1;
                    return Some(out);
                }
                b'\n' | b'\r' => return None,
                b'\\' => {
                    let e = *self.s.get(self.i + 1)?;
                    self.i += 2;
                    match e {
                        b'u' => {
                            let hex = self.text.get(self.i..self.i + 4)?;
                            let u = u32::from_str_radix(hex, 16).ok()?;
                            out.push(char::from_u32(u).unwrap_or(char::REPLACEMENT_CHARACTER));
                            self.i += 4;
                        }
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'"' | b'\\' | b'/' => out.push(char::from(e)),
                        _ => return None,
                    }
                }
                _ => {
                    let len = super::utf8_len(c);
                    out.push_str(self.text.get(self.i..self.i + len)?);
                    self.i += len;
                }
            }
        }
    }

    /// `"""..."""`: raw text, only `\"""` escaped.
    fn block_string(&mut self) -> Option<String> {
        self.i += 3;
        let start = self.i;
        loop {
            match self.s.get(self.i)? {
                b'\\' if self.s.get(self.i + 1..self.i + 4) == Some(b"\"\"\"") => self.i += 4,
                b'"' if self.s.get(self.i..self.i + 3) == Some(b"\"\"\"") => {
                    let raw = self.text.get(start..self.i)?;
                    self.i += 3;
                    return Some(raw.replace("\\\"\"\"", "\"\"\""));
                }
                _ => self.i += 1,
            }
        }
    }
}

/// An `application/graphql` body: its values as arguments, or the whole
/// document as one argument named `graphql` when it does not parse.
pub fn parse_body(body: &[u8], limits: &BodyLimits) -> ParsedBody {
    let text = String::from_utf8_lossy(body);
    let mut parsed = ParsedBody::default();
    if text.trim().is_empty() {
        return parsed;
    }
    match values(&text) {
        Some(vals) => {
            for (name, value) in vals {
                if !parsed.push_arg(arg(name, value), limits.max_args) {
                    break;
                }
            }
        }
        None => parsed.args.push(arg("graphql".into(), text.into_owned())),
    }
    parsed
}

/// In a parsed JSON body, replaces each GraphQL request's `query` member (at
/// the top, or in a batch array: `0.query`) by the document's values, named
/// under the member's container (`graphql.user.id`, `0.graphql.user.id`). A
/// member that does not parse stays as it is, one text value.
pub fn expand_json(parsed: &mut ParsedBody, limits: &BodyLimits) {
    let is_query = |a: &BodyArg| {
        a.part == Part::BodyArg && query_prefix(&a.name).is_some() && looks_like_document(&a.value)
    };
    if !parsed.args.iter().any(is_query) {
        return;
    }
    let args = std::mem::take(&mut parsed.args);
    for a in args {
        let expanded = is_query(&a).then(|| values(&a.value)).flatten();
        match expanded {
            Some(vals) => {
                let prefix = query_prefix(&a.name).unwrap_or("");
                parsed.args.extend(
                    vals.into_iter()
                        .map(|(name, value)| arg(format!("{prefix}{name}"), value)),
                );
            }
            None => parsed.args.push(a),
        }
    }
    if parsed.args.len() > limits.max_args {
        parsed.args.truncate(limits.max_args);
        if !parsed.problems.contains(&BodyProblem::TooManyArgs) {
            parsed.problems.push(BodyProblem::TooManyArgs);
        }
    }
}

/// `query` → `""`, `3.query` → `"3."`; other names are not a request's query.
fn query_prefix(name: &str) -> Option<&str> {
    let container = name.strip_suffix("query")?;
    if container.is_empty() {
        return Some("");
    }
    let index = container.strip_suffix('.')?;
    (!index.is_empty() && index.bytes().all(|c| c.is_ascii_digit())).then_some(container)
}

fn arg(name: String, value: String) -> BodyArg {
    BodyArg {
        part: Part::BodyArg,
        name,
        value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(doc: &str) -> Vec<(String, String)> {
        values(doc).unwrap_or_else(|| panic!("does not parse: {doc}"))
    }

    #[test]
    fn argument_values_are_named_by_field_path() {
        let doc = r#"
            # a comment with ' or 1=1
            query Q($id: ID = "7", $n: Int) @live {
              me: user(id: $id, role: ADMIN) {
                ...F
                posts(first: 10, filter: {title: "a", tags: ["x", "y"]}) @include(if: true) {
                  __typename
                  ... on Post { body(format: "md") }
                }
              }
            }
            fragment F on User { name(locale: "en") }
        "#;
        let got = pairs(doc);
        let want = [
            ("graphql.$id", "7"),
            ("graphql.user.role", "ADMIN"),
            ("graphql.user.posts.first", "10"),
            ("graphql.user.posts.filter.title", "a"),
            ("graphql.user.posts.filter.tags.0", "x"),
            ("graphql.user.posts.filter.tags.1", "y"),
            ("graphql.user.posts.body.format", "md"),
            ("graphql.F.name.locale", "en"),
        ];
        let got: Vec<(&str, &str)> = got.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn strings_decode_escapes_and_block_strings() {
        let got = pairs(r#"{ a(x: "q\"\u0041\n", y: """ raw \""" "text" """) }"#);
        assert_eq!(got[0].1, "q\"A\n");
        assert_eq!(got[1].1, " raw \"\"\" \"text\" ");
    }

    #[test]
    fn not_documents_give_none() {
        for doc in [
            "",
            "select * from users",
            "{ a(x: ) }",
            "{ a",
            "query { }",
            "type User { id: ID }",
            "{ a(x: \"unterminated) }",
        ] {
            assert!(values(doc).is_none(), "{doc}");
        }
        let deep = format!(
            "{}{}",
            "{ a ".repeat(MAX_DEPTH + 1),
            "}".repeat(MAX_DEPTH + 1)
        );
        assert!(values(&deep).is_none());
        let big = format!("{{ a(x: \"{}\") }}", "x".repeat(MAX_BYTES));
        assert!(values(&big).is_none());
    }

    #[test]
    fn looks_like_document_wants_a_keyword_or_brace() {
        assert!(looks_like_document("  query { a }"));
        assert!(looks_like_document("{ a }"));
        assert!(looks_like_document("mutation M { a }"));
        assert!(!looks_like_document("queryX"));
        assert!(!looks_like_document("red shoes"));
    }

    /// Random bytes and random splices of GraphQL pieces: never a panic, the
    /// output bounded, and a document that parses always yields the same.
    #[test]
    fn random_input_never_panics() {
        const PIECES: &[&str] = &[
            "{", "}", "(", ")", "[", "]", ":", "$", "@", "...", " on ", "query", "fragment", "\"",
            "\"\"\"", "\\", "\\u00", "#", "\n", "a", "x:", "1", "-", "1.5e3", "é", "名", "🙂", ",",
            "=", "!", "true", "null", "ENUM", "\u{feff}",
        ];
        let mut seed = 0x9e37_79b9_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed as usize
        };
        for round in 0..20_000 {
            let doc: String = if round % 4 == 0 {
                let bytes: Vec<u8> = (0..next() % 64).map(|_| next() as u8).collect();
                String::from_utf8_lossy(&bytes).into_owned()
            } else {
                (0..next() % 24)
                    .map(|_| PIECES[next() % PIECES.len()])
                    .collect()
            };
            if let Some(v) = values(&doc) {
                assert!(v.len() <= MAX_VALUES);
                assert_eq!(values(&doc), Some(v));
            }
            let _ = looks_like_document(&doc);
        }
    }
}
