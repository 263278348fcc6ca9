//! A small JavaScript lexer and the questions we ask of its tokens.
//!
//! The lexer knows what matters to tell code from prose: identifiers,
//! numbers, the three string forms, regular expression literals (told apart
//! from division by the previous token, as the language's grammar does),
//! comments (`//`, `/* */`, and the HTML-like `<!--` line comment), and which
//! `=` assigns. The analysis walks the tokens with one token of history and a
//! few of lookahead (a cloned lexer), so nothing is allocated.
//!
//! The central test is *grammatical position*: `alert(1)` at the start of a
//! value, after `;`, `=`, `(`, an operator, a keyword such as `return`, or a
//! line break is a call; after an ordinary word ("price alert(s)", "please
//! confirm (yes)") it is not JavaScript at all, since two expressions cannot
//! follow each other on one line. A call's first argument must also be able to
//! start an expression, so stack traces (`at new Function (<anonymous>)`) and
//! prose in parentheses do not count.

/// Most tokens one analysis reads.
const MAX_TOKENS: usize = 2048;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Tok<'a> {
    Ident(&'a str),
    Num,
    /// A quoted string's contents (unterminated: to the end of the line).
    Str(&'a str),
    /// A template literal's contents.
    Template(&'a str),
    Regex,
    /// `=`, `+=`, `-=` ... (not `==` or `=>`).
    Assign,
    /// `==`, `===`, `!=`, `<=`, `>=`, `=>`.
    Op,
    Punct(u8),
}

#[derive(Clone, Debug)]
pub(super) struct Lexer<'a> {
    s: &'a str,
    pos: usize,
    /// Whether the previous token ended an expression (so `/` divides).
    prev_value: bool,
    /// Where the last token read starts.
    start: usize,
}

/// Words after which an expression may start (and `/` opens a regex).
fn is_expr_keyword(w: &str) -> bool {
    matches!(
        w,
        "return"
            | "typeof"
            | "void"
            | "new"
            | "delete"
            | "throw"
            | "in"
            | "of"
            | "instanceof"
            | "case"
            | "do"
            | "else"
            | "yield"
            | "await"
    )
}

/// Keywords followed by `(` that are not calls.
fn is_control_keyword(w: &str) -> bool {
    matches!(
        w,
        "if" | "for" | "while" | "switch" | "catch" | "function" | "with" | "return" | "typeof"
    ) || is_expr_keyword(w)
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

impl<'a> Lexer<'a> {
    pub(super) fn new(s: &'a str) -> Self {
        Lexer {
            s,
            pos: 0,
            prev_value: false,
            start: 0,
        }
    }

    /// A lexer for code that follows a value (the rest after a closing quote).
    pub(super) fn after_value(s: &'a str) -> Self {
        Lexer {
            s,
            pos: 0,
            prev_value: true,
            start: 0,
        }
    }

    /// Skips whitespace and comments; true if a line break was crossed.
    fn skip(&mut self) -> bool {
        let b = self.s.as_bytes();
        let mut nl = false;
        loop {
            let Some(&c) = b.get(self.pos) else {
                return nl;
            };
            match c {
                b'\n' | b'\r' => {
                    nl = true;
                    self.pos += 1;
                }
                c if c.is_ascii_whitespace() => self.pos += 1,
                b'/' if b.get(self.pos + 1) == Some(&b'/') => self.line_comment(),
                b'/' if b.get(self.pos + 1) == Some(&b'*') => {
                    let body = &b[self.pos + 2..];
                    let end = memchr::memmem::find(body, b"*/");
                    let len = end.unwrap_or(body.len());
                    nl |= memchr::memchr2(b'\n', b'\r', &body[..len]).is_some();
                    self.pos += 2 + end.map_or(len, |e| e + 2);
                }
                b'<' if b[self.pos..].starts_with(b"<!--") => self.line_comment(),
                b'-' if (nl || self.pos == 0) && b[self.pos..].starts_with(b"-->") => {
                    self.line_comment();
                }
                _ => return nl,
            }
        }
    }

    fn line_comment(&mut self) {
        let b = self.s.as_bytes();
        self.pos = memchr::memchr2(b'\n', b'\r', &b[self.pos..]).map_or(b.len(), |o| self.pos + o);
    }

    /// The next token and whether a line break preceded it.
    pub(super) fn next_tok(&mut self) -> Option<(Tok<'a>, bool)> {
        let nl = self.skip();
        let s = self.s;
        let b = s.as_bytes();
        let start = self.pos;
        self.start = start;
        let c = *b.get(start)?;
        let mut i = start + 1;
        let tok = match c {
            c if c.is_ascii_alphabetic() || c == b'_' || c == b'$' || c >= 0x80 => {
                while i < b.len() && is_ident_byte(b[i]) {
                    i += 1;
                }
                Tok::Ident(&s[start..i])
            }
            b'0'..=b'9' => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'.' || b[i] == b'_')
                {
                    i += 1;
                }
                Tok::Num
            }
            b'.' if b.get(i).is_some_and(u8::is_ascii_digit) => {
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                    i += 1;
                }
                Tok::Num
            }
            b'\'' | b'"' => {
                while i < b.len() && b[i] != c && b[i] != b'\n' && b[i] != b'\r' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                i = if end < b.len() && b[end] == c {
                    end + 1
                } else {
                    end
                };
                Tok::Str(&s[start + 1..end])
            }
            b'`' => {
                while i < b.len() && b[i] != b'`' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                let end = i.min(b.len());
                i = (end + 1).min(b.len());
                Tok::Template(&s[start + 1..end])
            }
            b'/' if !self.prev_value => match regex_end(b, start) {
                Some(e) => {
                    i = e;
                    while i < b.len() && b[i].is_ascii_alphabetic() {
                        i += 1;
                    }
                    Tok::Regex
                }
                None => Tok::Punct(b'/'),
            },
            b'=' => match b.get(i) {
                Some(b'=') => {
                    while b.get(i) == Some(&b'=') {
                        i += 1;
                    }
                    Tok::Op
                }
                Some(b'>') => {
                    i += 1;
                    Tok::Op
                }
                _ => Tok::Assign,
            },
            b'<' | b'>' | b'!' if b.get(i) == Some(&b'=') => {
                while b.get(i) == Some(&b'=') {
                    i += 1;
                }
                Tok::Op
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'&' | b'|' | b'^' if b.get(i) == Some(&b'=') => {
                i += 1;
                Tok::Assign
            }
            _ => Tok::Punct(c),
        };
        self.pos = i.min(b.len());
        self.prev_value = match tok {
            Tok::Ident(w) => !is_expr_keyword(w),
            Tok::Num | Tok::Str(_) | Tok::Template(_) | Tok::Regex => true,
            Tok::Punct(p) => matches!(p, b')' | b']' | b'}'),
            Tok::Assign | Tok::Op => false,
        };
        Some((tok, nl))
    }

    /// The next byte that is not ASCII whitespace (0 at the end).
    fn peek_byte(&self) -> u8 {
        let b = self.s.as_bytes();
        let mut i = self.pos;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        b.get(i).copied().unwrap_or(0)
    }

    fn next_t(&mut self) -> Option<Tok<'a>> {
        self.next_tok().map(|t| t.0)
    }
}

/// The end (past the closing `/`) of a regex literal starting at `start`.
fn regex_end(b: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    let mut class = false;
    if matches!(b.get(i), Some(b'/' | b'*') | None) {
        return None;
    }
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => return Some(i + 1),
            b'\n' | b'\r' => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// Functions that run a string as code, or prove execution (the probes).
const EXEC: &[&str] = &[
    "alert",
    "prompt",
    "confirm",
    "eval",
    "setTimeout",
    "setInterval",
    "setImmediate",
    "execScript",
    "Function",
    "globalEval",
    "getScript",
    "importScripts",
];

pub(super) fn is_exec_name(w: &str) -> bool {
    EXEC.contains(&w) || w.eq_ignore_ascii_case("msgbox")
}

fn exec_name(w: &str) -> Option<&'static str> {
    if w.eq_ignore_ascii_case("msgbox") {
        return Some("msgbox");
    }
    EXEC.iter().find(|&&n| n == w).copied()
}

/// Names for the global object (and `document`), as reached through `[...]`.
fn global_name(w: &str) -> Option<&'static str> {
    [
        "window",
        "self",
        "top",
        "parent",
        "frames",
        "globalThis",
        "this",
        "document",
        "content",
        "opener",
    ]
    .into_iter()
    .find(|&n| n == w)
}

/// `document.<member>` that reads secrets or writes the page.
fn document_member(w: &str) -> Option<&'static str> {
    [
        "cookie",
        "domain",
        "write",
        "writeln",
        "location",
        "createElement",
        "execCommand",
        "body",
        "querySelector",
        "getElementById",
        "documentElement",
        "forms",
        "open",
    ]
    .into_iter()
    .find(|&n| n == w)
}

/// What an analysis found; the first name seen of each kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Evidence {
    /// A call that runs code or proves execution (`alert(`, `eval(`,
    /// `window['x'](`, a tagged-template call).
    pub(super) exec: Option<&'static str>,
    /// Reaching the Function constructor or an AngularJS sandbox escape.
    pub(super) ctor: Option<&'static str>,
    /// A DOM sink: cookie, page writes, navigation, exfiltration.
    pub(super) sink: Option<&'static str>,
    /// `window[...]` and the like, without a call.
    pub(super) bracket: bool,
    /// Any function call in code position.
    pub(super) call: bool,
    /// Where in the analysed text the token that gave `exec`, `ctor` and
    /// `sink` starts (the name called, the sink's object).
    pub(super) exec_at: Option<usize>,
    pub(super) ctor_at: Option<usize>,
    pub(super) sink_at: Option<usize>,
    pub(super) bracket_at: Option<usize>,
}

impl Evidence {
    pub(super) fn strong(&self) -> Option<&'static str> {
        self.exec.or(self.ctor)
    }

    /// Where the strongest evidence ([`strong`](Self::strong), else the sink) starts.
    pub(super) fn strong_at(&self) -> Option<usize> {
        if self.exec.is_some() {
            self.exec_at
        } else if self.ctor.is_some() {
            self.ctor_at
        } else {
            self.sink_at
        }
    }

    /// Takes what `o`, found in a piece `shift` bytes into this analysis's text, adds.
    fn merge(&mut self, o: Evidence, shift: usize) {
        let at = |x: Option<usize>| x.map(|a| a + shift);
        if self.exec.is_none() && o.exec.is_some() {
            (self.exec, self.exec_at) = (o.exec, at(o.exec_at));
        }
        if self.ctor.is_none() && o.ctor.is_some() {
            (self.ctor, self.ctor_at) = (o.ctor, at(o.ctor_at));
        }
        if self.sink.is_none() && o.sink.is_some() {
            (self.sink, self.sink_at) = (o.sink, at(o.sink_at));
        }
        if !self.bracket && o.bracket {
            (self.bracket, self.bracket_at) = (true, at(o.bracket_at));
        }
        self.call |= o.call;
    }
}

/// Whether the tokens after a `(` can be an argument list (consumes them).
fn args_plausible(la: &mut Lexer<'_>) -> bool {
    let Some((t1, _)) = la.next_tok() else {
        return true;
    };
    let value = match t1 {
        Tok::Punct(b')') => return true,
        Tok::Ident(w) => !is_expr_keyword(w) && !matches!(w, "function" | "async"),
        Tok::Num | Tok::Str(_) | Tok::Template(_) | Tok::Regex => true,
        Tok::Punct(b'(' | b'[' | b'{' | b'!' | b'~' | b'+' | b'-' | b'.') => false,
        _ => return false,
    };
    if !value {
        return true;
    }
    match la.next_tok() {
        None => true,
        Some((Tok::Ident(_) | Tok::Num | Tok::Str(_), false)) => false,
        Some(_) => true,
    }
}

/// Whether the next token starts a call (and its arguments look like some).
fn is_call(la: &mut Lexer<'_>) -> bool {
    match la.next_t() {
        Some(Tok::Template(_)) => true,
        Some(Tok::Punct(b'(')) => args_plausible(la),
        // `alert?.(1)`
        Some(Tok::Punct(b'?')) => {
            la.next_t() == Some(Tok::Punct(b'.')) && la.next_t() == Some(Tok::Punct(b'('))
        }
        _ => false,
    }
}

/// Skips a balanced `[...]` whose `[` was just read; false if it never closes.
fn skip_brackets(la: &mut Lexer<'_>) -> bool {
    let mut depth = 1;
    for _ in 0..256 {
        match la.next_t() {
            None => return false,
            Some(Tok::Punct(b'[')) => depth += 1,
            Some(Tok::Punct(b']')) => {
                depth -= 1;
                if depth == 0 {
                    return true;
                }
            }
            _ => {}
        }
    }
    false
}

/// Whether the right-hand side of an assignment to `location` navigates
/// somewhere an attacker chose (a string, `name`, a URL expression), rather
/// than being a word as in `location=Paris`.
fn navigates(la: &mut Lexer<'_>) -> bool {
    match la.next_t() {
        Some(Tok::Str(_) | Tok::Template(_)) => true,
        Some(Tok::Ident(w)) => {
            matches!(w, "name" | "window" | "top" | "self" | "document" | "atob")
                || matches!(la.next_t(), Some(Tok::Punct(b'+' | b'.' | b'(')))
        }
        _ => false,
    }
}

/// Analyses `src` as JavaScript. `after_value`: the code follows a value (a
/// closed string), so a leading `/` divides. `depth` bounds the recursion
/// into template substitutions.
pub(super) fn analyze(src: &str, after_value: bool, depth: u8) -> Evidence {
    let mut lx = if after_value {
        Lexer::after_value(src)
    } else {
        Lexer::new(src)
    };
    let mut ev = Evidence::default();
    let mut prev: Option<Tok<'_>> = after_value.then_some(Tok::Str(""));
    let mut prev2: Option<Tok<'_>> = None;
    let mut ctor_string = false;
    // Parenthesis depth, and which open levels are method calls (`.map(`).
    let mut depth_now: u32 = 0;
    let mut member_calls: u64 = 0;
    let mut first_call: Option<usize> = None;
    for _ in 0..MAX_TOKENS {
        let Some((tok, nl)) = lx.next_tok() else {
            break;
        };
        let (tok_at, had) = (lx.start, ev);
        let expr_ok = nl
            || match prev {
                None => true,
                Some(Tok::Ident(k)) => is_expr_keyword(k),
                Some(Tok::Punct(b')' | b']')) => false,
                Some(Tok::Punct(_) | Tok::Assign | Tok::Op) => true,
                _ => false,
            };
        let after_dot = prev == Some(Tok::Punct(b'.'));
        match tok {
            // Fast path: every question below needs one of these after the
            // word (or is about `location` / `XMLHttpRequest`); prose has none.
            Tok::Ident(w)
                if !matches!(
                    lx.peek_byte(),
                    b'(' | b'`' | b'.' | b'[' | b'=' | b'?' | b')' | b',' | b'/' | b'+'
                ) && w != "location"
                    && w != "XMLHttpRequest" => {}
            Tok::Ident(w) => {
                let n1 = lx.clone().next_t();
                if (expr_ok || after_dot)
                    && let Some(name) = exec_name(w)
                {
                    let mut la = lx.clone();
                    let called = match n1 {
                        Some(Tok::Punct(b'.')) => {
                            la.next_t();
                            matches!(la.next_t(), Some(Tok::Ident("call" | "apply" | "bind")))
                                && is_call(&mut la)
                        }
                        // `(alert)(1)`
                        Some(Tok::Punct(b')')) if prev == Some(Tok::Punct(b'(')) => {
                            la.next_t();
                            is_call(&mut la)
                        }
                        _ => is_call(&mut la),
                    };
                    // `[1].map(alert)`, `'x'.replace(/.+/,eval)`: handed over to be called.
                    let in_member_args = (1..64).contains(&depth_now)
                        && member_calls & (1 << depth_now) != 0
                        && matches!(prev, Some(Tok::Punct(b'(' | b',')));
                    let callback = in_member_args
                        && matches!(n1, Some(Tok::Punct(b')' | b',')))
                        && matches!(name, "alert" | "eval" | "prompt" | "confirm");
                    if called || callback {
                        ev.exec.get_or_insert(name);
                    }
                }
                // `onerror=alert;throw 1`, `window.onload=eval`: a handler set to a primitive.
                if (expr_ok || after_dot)
                    && n1 == Some(Tok::Assign)
                    && w.len() > 2
                    && w.starts_with("on")
                    && w.bytes().skip(2).all(|c| c.is_ascii_lowercase())
                {
                    let mut la = lx.clone();
                    la.next_t();
                    if let Some(Tok::Ident(v)) = la.next_t()
                        && let Some(name) = exec_name(v)
                    {
                        ev.exec.get_or_insert(name);
                    }
                }
                if w == "import" && expr_ok && n1 == Some(Tok::Punct(b'(')) {
                    ev.exec.get_or_insert("import()");
                }
                if after_dot
                    && matches!(w, "call" | "apply" | "bind")
                    && matches!(n1, Some(Tok::Template(_)))
                {
                    ev.exec.get_or_insert("tagged template call");
                }
                if w == "constructor" {
                    let mut la = lx.clone();
                    match (la.next_t(), la.next_t()) {
                        (Some(Tok::Punct(b'.')), Some(Tok::Ident("constructor")))
                        | (Some(Tok::Punct(b'[')), Some(Tok::Str("constructor"))) => {
                            ev.ctor.get_or_insert("constructor.constructor");
                        }
                        (Some(Tok::Punct(b'(')), _) if after_dot => {
                            ev.ctor.get_or_insert(".constructor(...)");
                        }
                        // `_c.constructor`alert(1)`()`: the template is the body.
                        (Some(Tok::Template(_)), _) if after_dot => {
                            ev.ctor.get_or_insert(".constructor`...`");
                        }
                        (Some(Tok::Punct(b'.')), Some(Tok::Ident("prototype"))) => {
                            ev.sink.get_or_insert("constructor.prototype");
                        }
                        _ => {}
                    }
                }
                // AngularJS sandbox escape: `'a'.constructor.prototype.charAt=[].join`
                if after_dot && w == "charAt" && n1 == Some(Tok::Assign) {
                    ev.ctor.get_or_insert("charAt=[].join");
                }
                if (expr_ok || after_dot) && w == "$eval" && n1 == Some(Tok::Punct(b'(')) {
                    ev.ctor.get_or_insert("$eval()");
                }
                if expr_ok
                    && let Some(g) = global_name(w)
                    && n1 == Some(Tok::Punct(b'['))
                {
                    let mut la = lx.clone();
                    la.next_t();
                    if skip_brackets(&mut la) {
                        let mut next = la.clone().next_t();
                        if next == Some(Tok::Punct(b'[')) {
                            la.next_t();
                            if skip_brackets(&mut la) {
                                next = la.clone().next_t();
                            }
                        }
                        match next {
                            Some(Tok::Punct(b'(') | Tok::Template(_)) => {
                                ev.exec.get_or_insert(match g {
                                    "window" => "window[...]()",
                                    "self" => "self[...]()",
                                    "top" => "top[...]()",
                                    "parent" => "parent[...]()",
                                    "frames" => "frames[...]()",
                                    "globalThis" => "globalThis[...]()",
                                    "this" => "this[...]()",
                                    "document" => "document[...]()",
                                    _ => "global[...]()",
                                });
                            }
                            Some(Tok::Assign) => {
                                ev.sink.get_or_insert("assignment to window[...]");
                            }
                            _ => ev.bracket = true,
                        }
                    } else {
                        ev.bracket = true;
                    }
                }
                if w == "document" && (expr_ok || after_dot) && n1 == Some(Tok::Punct(b'.')) {
                    let mut la = lx.clone();
                    la.next_t();
                    if let Some(Tok::Ident(m)) = la.next_t()
                        && let Some(m) = document_member(m)
                    {
                        ev.sink.get_or_insert(match m {
                            "cookie" => "document.cookie",
                            "domain" => "document.domain",
                            "write" | "writeln" => "document.write",
                            "location" => "document.location",
                            _ => "document.<member>",
                        });
                    }
                }
                if w == "location" {
                    let global_member = after_dot
                        && matches!(prev2, Some(Tok::Ident(g)) if global_name(g).is_some());
                    let mut la = lx.clone();
                    let assigned = match la.next_t() {
                        Some(Tok::Assign) => navigates(&mut la),
                        Some(Tok::Punct(b'.')) => match la.next_t() {
                            Some(Tok::Ident("href")) => {
                                la.next_t() == Some(Tok::Assign) && navigates(&mut la)
                            }
                            Some(Tok::Ident("assign" | "replace")) => is_call(&mut la),
                            _ => false,
                        },
                        _ => false,
                    };
                    if global_member || ((expr_ok || after_dot) && assigned) {
                        ev.sink.get_or_insert("location");
                    }
                }
                if after_dot
                    && matches!(w, "innerHTML" | "outerHTML" | "src")
                    && n1 == Some(Tok::Assign)
                {
                    ev.sink.get_or_insert(match w {
                        "src" => ".src=",
                        _ => "innerHTML=",
                    });
                }
                if (expr_ok || after_dot)
                    && matches!(
                        w,
                        "fetch"
                            | "atob"
                            | "btoa"
                            | "unescape"
                            | "fromCharCode"
                            | "sendBeacon"
                            | "insertAdjacentHTML"
                            | "appendChild"
                    )
                    && is_call(&mut lx.clone())
                {
                    ev.sink.get_or_insert(match w {
                        "fromCharCode" => "String.fromCharCode()",
                        "atob" | "btoa" | "unescape" => "atob()",
                        "fetch" | "sendBeacon" => "fetch()",
                        _ => "DOM insertion",
                    });
                }
                let storage = matches!(w, "localStorage" | "sessionStorage") && {
                    let mut la = lx.clone();
                    match la.next_t() {
                        Some(Tok::Punct(b'[')) => true,
                        Some(Tok::Punct(b'.')) => matches!(
                            la.next_t(),
                            Some(Tok::Ident("getItem" | "setItem" | "removeItem" | "clear"))
                        ),
                        _ => false,
                    }
                };
                let xhr = w == "XMLHttpRequest" && prev == Some(Tok::Ident("new"));
                if (storage || xhr) && (expr_ok || after_dot) {
                    ev.sink.get_or_insert("storage or XMLHttpRequest");
                }
                if (expr_ok || after_dot)
                    && !is_control_keyword(w)
                    && n1 == Some(Tok::Punct(b'('))
                    && is_call(&mut lx.clone())
                {
                    ev.call = true;
                    first_call.get_or_insert(tok_at);
                }
            }
            Tok::Str("constructor") => ctor_string = true,
            Tok::Template(t) if depth < 2 => {
                let mut from = 0;
                while let Some(o) = t[from..].find("${") {
                    let inner = &t[from + o + 2..];
                    let end = inner.find('}').unwrap_or(inner.len());
                    // `t` lies inside `src`, just after the template's backtick.
                    let shift = (t.as_ptr() as usize).saturating_sub(src.as_ptr() as usize);
                    ev.merge(
                        analyze(&inner[..end], false, depth + 1),
                        shift + from + o + 2,
                    );
                    from += o + 2 + end;
                }
            }
            _ => {}
        }
        // Evidence this token gave starts at it (a template's, inside it, is placed already).
        if had.exec.is_none() && ev.exec.is_some() && ev.exec_at.is_none() {
            ev.exec_at = Some(tok_at);
        }
        if had.ctor.is_none() && ev.ctor.is_some() && ev.ctor_at.is_none() {
            ev.ctor_at = Some(tok_at);
        }
        if had.sink.is_none() && ev.sink.is_some() && ev.sink_at.is_none() {
            ev.sink_at = Some(tok_at);
        }
        if !had.bracket && ev.bracket && ev.bracket_at.is_none() {
            ev.bracket_at = Some(tok_at);
        }
        match tok {
            Tok::Punct(b'(') => {
                depth_now += 1;
                if depth_now < 64 {
                    let member =
                        matches!(prev, Some(Tok::Ident(_))) && prev2 == Some(Tok::Punct(b'.'));
                    member_calls =
                        (member_calls & !(1 << depth_now)) | (u64::from(member) << depth_now);
                }
            }
            Tok::Punct(b')') => depth_now = depth_now.saturating_sub(1),
            _ => {}
        }
        prev2 = prev;
        prev = Some(tok);
    }
    if ctor_string && ev.call && ev.ctor.is_none() {
        ev.ctor = Some("'constructor' as a property name");
        // Found only at the end: the span starts at the first call's callee.
        ev.ctor_at = Some(first_call.unwrap_or(0));
    }
    ev
}

/// Whether the code after a closing quote continues the expression or
/// statement (`;`, an operator, `)`, a line break): a string breakout.
pub(super) fn continues_after_string(rest: &str) -> bool {
    let mut lx = Lexer::after_value(rest);
    match lx.next_tok() {
        Some((_, true)) => true,
        Some((Tok::Assign | Tok::Op, _)) => true,
        Some((Tok::Punct(c), _)) => matches!(
            c,
            b';' | b','
                | b'+'
                | b'-'
                | b'*'
                | b'/'
                | b'%'
                | b'|'
                | b'&'
                | b')'
                | b']'
                | b'}'
                | b'?'
                | b':'
                | b'<'
                | b'>'
                | b'^'
        ),
        _ => false,
    }
}

/// JSFuck-style code: `![]`, `+[]`, `!+[]` building strings from nothing.
pub(super) fn jsfuck_atoms(s: &str) -> usize {
    let b = s.as_bytes();
    memchr::memmem::find_iter(b, b"[]")
        .filter(|&i| i > 0 && matches!(b[i - 1], b'!' | b'+'))
        .take(16)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Evidence {
        analyze(s, false, 0)
    }

    #[test]
    fn exec_calls_in_code_position() {
        assert_eq!(ev("alert(1)").exec, Some("alert"));
        assert_eq!(ev("x;alert`1`").exec, Some("alert"));
        assert_eq!(ev("new Function()").exec, Some("Function"));
        assert_eq!(ev("eval('2 + 2')").exec, Some("eval"));
        assert_eq!(ev("setInterval(code, 1)").exec, Some("setInterval"));
        assert_eq!(ev("top.eval(name)").exec, Some("eval"));
        assert_eq!(ev("(alert)(1)").exec, Some("alert"));
        assert_eq!(ev("alert.call(null,1)").exec, Some("alert"));
        assert_eq!(
            ev("[].sort.call`${alert}1337`").exec,
            Some("tagged template call")
        );
        assert_eq!(ev("window['ale'+'rt'](1)").exec, Some("window[...]()"));
        assert_eq!(
            ev("this[/al/.source+/ert/.source](/XSS/.source);//").exec,
            Some("this[...]()")
        );
        assert_eq!(
            ev("self[\"$\"][\"globalEval\"](\"alert(1)\")").exec,
            Some("self[...]()")
        );
        assert_eq!(ev("x\nalert(1)").exec, Some("alert"));
        assert_eq!(ev("`${alert(1)}`").exec, Some("alert"));
        assert_eq!(ev("alert?.(1)").exec, Some("alert"));
        assert_eq!(ev("[1].map(alert)").exec, Some("alert"));
        assert_eq!(ev("'x'.replace(/.+/,eval)").exec, Some("eval"));
        assert_eq!(ev("onerror=alert;throw 1").exec, Some("alert"));
        assert_eq!(
            ev("window.onerror=eval;throw'=alert(1)'").exec,
            Some("eval")
        );
        assert_eq!(ev("${alert(1)}").exec, Some("alert"));
        assert_eq!(ev("Select (confirm, cancel)").exec, None);
    }

    #[test]
    fn prose_is_not_code() {
        assert_eq!(ev("price alert(s) for shoes").exec, None);
        assert_eq!(ev("please confirm (or cancel)").exec, None);
        assert_eq!(ev("confirm (or cancel)").exec, None);
        assert_eq!(ev("at new Function (<anonymous>)").exec, None);
        assert_eq!(ev("at eval (eval at x.js:1:2)").exec, None);
        assert_eq!(ev("I don't alert(1) people").exec, None);
        assert_eq!(ev("ALERT(1)").exec, None);
        assert!(!ev("function(){}").call);
        assert_eq!(ev("location=Paris").sink, None);
        assert_eq!(ev("the online shop").sink, None);
    }

    #[test]
    fn sinks_and_constructors() {
        assert_eq!(ev("document.cookie").sink, Some("document.cookie"));
        assert_eq!(ev("document /*x*/ . cookie").sink, Some("document.cookie"));
        assert_eq!(ev("window.location").sink, Some("location"));
        assert_eq!(ev("location='//evil'").sink, Some("location"));
        assert_eq!(ev("location=name").sink, Some("location"));
        assert_eq!(ev("x.innerHTML=y").sink, Some("innerHTML="));
        assert_eq!(
            ev("constructor.constructor('alert(1)')()").ctor,
            Some("constructor.constructor")
        );
        assert!(
            ev("'a'.constructor.prototype.charAt=[].join")
                .ctor
                .is_some()
        );
        assert!(ev("self['x']").bracket);
        assert!(
            ev("a='constructor';b={};a.sub.call.call(b[a])")
                .ctor
                .is_some()
        );
    }

    #[test]
    fn breakouts() {
        assert!(continues_after_string(";alert(1)//"));
        assert!(continues_after_string("-alert(1)-'"));
        assert!(continues_after_string(")}; x"));
        assert!(!continues_after_string("s a nice day"));
        assert!(!continues_after_string(" Reilly"));
        assert_eq!(jsfuck_atoms("(![]+[])[+!+[]]"), 3);
        assert_eq!(jsfuck_atoms("a[] = 1"), 0);
    }
}
