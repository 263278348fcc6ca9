//! Generated cases for the server-side include, mail and LDAP detectors
//! (issue 18): each family's grammar (directives, headers, SMTP and IMAP
//! commands, filter breakouts) × encodings × separators × placements, run
//! through the built-in engine at its defaults. Each sub-family must be
//! blocked with a finding of its class in at least 95 % of cases, and the
//! benign look-alikes generated beside them (comments, HTML comments, prose
//! and math with parentheses, multi-line text) must all pass.

use wafer_engine::{Action, Class, Engine, Request};

#[derive(Clone, Copy, Debug)]
enum Encoding {
    /// As typed: only what the transport cannot carry is escaped.
    Plain,
    /// Every non-alphanumeric byte as `%XX`.
    Percent,
    /// Every non-alphanumeric byte as `%25XX`.
    DoublePercent,
    /// Every non-alphanumeric byte as `%u00XX` (`\u00XX` in JSON).
    Unicode,
    /// Line breaks and brackets as backslash escapes (`\r\n`, `\x3c`).
    Escapes,
}

const ENCODINGS: [Encoding; 5] = [
    Encoding::Plain,
    Encoding::Percent,
    Encoding::DoublePercent,
    Encoding::Unicode,
    Encoding::Escapes,
];

#[derive(Clone, Copy, Debug)]
enum Placement {
    Query,
    Form,
    Json,
    Header,
    Cookie,
}

const PLACEMENTS: [Placement; 5] = [
    Placement::Query,
    Placement::Form,
    Placement::Json,
    Placement::Header,
    Placement::Cookie,
];

fn hex(out: &mut String, prefix: &str, b: u8) {
    out.push_str(&format!("{prefix}{b:02X}"));
}

/// Whether `enc` reaches the application at `place`: no one percent-decodes
/// a JSON string twice.
fn carried(enc: Encoding, place: Placement) -> bool {
    !matches!((enc, place), (Encoding::DoublePercent, Placement::Json))
}

/// `payload` under `enc`, then made fit for `place` (a header or cookie
/// cannot carry a raw line break, a URL no space: those are percent-escaped).
fn encode(payload: &str, enc: Encoding, place: Placement) -> String {
    let json = matches!(place, Placement::Json);
    let mut s = String::new();
    for c in payload.chars() {
        let b = c as u32;
        let special = c.is_ascii() && !c.is_ascii_alphanumeric();
        match enc {
            Encoding::Percent if special => hex(&mut s, "%", b as u8),
            Encoding::DoublePercent if special => hex(&mut s, "%25", b as u8),
            Encoding::Unicode if special && json => s.push_str(&format!("\\\\u{b:04x}")),
            Encoding::Unicode if special => s.push_str(&format!("%u{b:04X}")),
            Encoding::Escapes if c == '\r' => s.push_str("\\\\r"),
            Encoding::Escapes if c == '\n' => s.push_str("\\\\n"),
            Encoding::Escapes if matches!(c, '<' | '(' | ')') => hex(&mut s, "\\\\x", b as u8),
            _ => s.push(c),
        }
    }
    // In JSON a `\\` above is one backslash on the wire; elsewhere it is literal.
    if !json {
        s = s.replace("\\\\", "\\");
    }
    transport(&s, place)
}

fn transport(s: &str, place: Placement) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match (place, c) {
            (Placement::Json, '"') => out.push_str("\\\""),
            (Placement::Json, '\r') => out.push_str("\\r"),
            (Placement::Json, '\n') => out.push_str("\\n"),
            (Placement::Json, '\t') => out.push_str("\\t"),
            (Placement::Json, '\0') => out.push_str("\\u0000"),
            (Placement::Json, _) => out.push(c),
            (Placement::Cookie | Placement::Header, c) if c.is_ascii_control() || c == ';' => {
                hex(&mut out, "%", c as u8)
            }
            (Placement::Cookie | Placement::Header, c) => out.push(c),
            (Placement::Query | Placement::Form, c)
                if c.is_ascii_control() || matches!(c, ' ' | '&' | '#' | '+' | '"' | '\'') =>
            {
                hex(&mut out, "%", c as u8)
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// A request carrying `wire` (already encoded) as field `name` at `place`.
fn request(place: Placement, name: &str, wire: &str) -> Request {
    let base = Request::new("GET", "/")
        .header("Host", "shop.example")
        .header(
            "User-Agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8");
    let post = |ct: &str, body: String| {
        Request::new("POST", "/contact")
            .header("Host", "shop.example")
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            )
            .header("Content-Type", ct)
            .header("Content-Length", &body.len().to_string())
            .body(body.into_bytes())
    };
    match place {
        Placement::Query => Request::new("GET", &format!("/search?{name}={wire}&page=2"))
            .header("Host", "shop.example")
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            ),
        Placement::Form => post(
            "application/x-www-form-urlencoded",
            format!("{name}={wire}&lang=en"),
        ),
        Placement::Json => post(
            "application/json",
            format!("{{\"{name}\":\"{wire}\",\"lang\":\"en\"}}"),
        ),
        Placement::Header => base.header(&format!("X-{name}"), wire),
        Placement::Cookie => base.header("Cookie", &format!("session=ab12cd; {name}={wire}")),
    }
}

struct Tally {
    family: &'static str,
    class: Class,
    total: usize,
    hit: usize,
    misses: Vec<String>,
}

impl Tally {
    fn new(family: &'static str, class: Class) -> Self {
        Tally {
            family,
            class,
            total: 0,
            hit: 0,
            misses: Vec::new(),
        }
    }

    fn attack(&mut self, engine: &Engine, place: Placement, name: &str, wire: &str) {
        let v = engine.inspect(&request(place, name, wire));
        self.total += 1;
        if v.action == Action::Block && v.findings.iter().any(|f| f.class == self.class) {
            self.hit += 1;
        } else if self.misses.len() < 15 {
            self.misses
                .push(format!("{place:?} {name}={wire} (score {})", v.score));
        }
    }

    fn assert_rate(&self) {
        let rate = 100.0 * self.hit as f64 / self.total.max(1) as f64;
        println!("{}: {}/{} = {rate:.1} %", self.family, self.hit, self.total);
        for m in &self.misses {
            println!("  missed: {m}");
        }
        assert!(
            rate >= 95.0,
            "{}: {rate:.1} % of {} detected; misses:\n{}",
            self.family,
            self.total,
            self.misses.join("\n")
        );
    }
}

/// Benign values: none may be blocked, whatever the placement and encoding.
fn assert_benign(
    engine: &Engine,
    family: &str,
    places: &[Placement],
    names: &[&str],
    values: &[&str],
) {
    let mut blocked = Vec::new();
    let mut n = 0;
    for (i, v) in values.iter().enumerate() {
        for &place in places {
            for enc in [Encoding::Plain, Encoding::Percent] {
                let name = names[i % names.len()];
                let wire = encode(v, enc, place);
                let verdict = engine.inspect(&request(place, name, &wire));
                n += 1;
                if verdict.action == Action::Block {
                    let why: Vec<String> = verdict
                        .findings
                        .iter()
                        .map(|f| format!("{} {}", f.rule_id, f.class))
                        .collect();
                    blocked.push(format!("{place:?} {name}={wire}: {}", why.join(", ")));
                }
            }
        }
    }
    println!("{family} benign: {} of {n} blocked", blocked.len());
    assert!(
        blocked.is_empty(),
        "{family} benign blocked:\n{}",
        blocked.join("\n")
    );
}

/// Every `k`-th combination, so the families stay a few thousand requests.
fn sample(i: &mut usize, k: usize) -> bool {
    *i += 1;
    (*i).is_multiple_of(k)
}

#[test]
fn ssi() {
    let engine = Engine::builtin();
    let directives: &[(&str, &[&str])] = &[
        (
            "exec",
            &[
                "cmd=\"id\"",
                "cmd='cat /etc/passwd'",
                "cgi=\"/cgi-bin/printenv\"",
                "cmd=ls",
            ],
        ),
        (
            "include",
            &[
                "virtual=\"/etc/passwd\"",
                "file=\"../../config.php\"",
                "virtual='/index.html'",
            ],
        ),
        (
            "echo",
            &[
                "var=\"DOCUMENT_NAME\"",
                "var=DATE_LOCAL",
                "encoding=\"none\" var=\"QUERY_STRING\"",
            ],
        ),
        ("config", &["timefmt=\"%Y\"", "errmsg=\"x\""]),
        ("fsize", &["file=\"index.shtml\""]),
        ("flastmod", &["virtual=\"/etc/shadow\""]),
        ("set", &["var=\"x\" value=\"1\""]),
        ("printenv", &[""]),
    ];
    let spacings: &[(&str, &str, &str)] = &[
        ("", " ", " -->"),
        (" ", "  ", "-->"),
        ("\t", "\t", ""),
        ("", "\n", " -->"),
    ];
    let prefixes = ["", "hello ", "\"><", "x'>"];
    let names = ["q", "comment", "name", "page", "msg"];
    let mut t = Tally::new("ssi", Class::Ssi);
    let mut i = 0;
    for (d, attrs) in directives {
        for attr in *attrs {
            for (k, (lead, gap, tail)) in spacings.iter().enumerate() {
                for (pi, prefix) in prefixes.iter().enumerate() {
                    let name = if k % 2 == 0 {
                        d.to_string()
                    } else {
                        d.to_uppercase()
                    };
                    let gap = if attr.is_empty() { "" } else { gap };
                    let p = format!("{prefix}<!--{lead}#{name}{gap}{attr}{tail}");
                    for enc in ENCODINGS {
                        for place in PLACEMENTS {
                            if carried(enc, place) && sample(&mut i, 2) {
                                t.attack(
                                    &engine,
                                    place,
                                    names[(pi + k) % names.len()],
                                    &encode(&p, enc, place),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    t.assert_rate();
}

#[test]
fn ssi_benign() {
    let engine = Engine::builtin();
    assert_benign(
        &engine,
        "ssi",
        &PLACEMENTS,
        &["q", "comment", "html"],
        &[
            "<!-- a comment -->",
            "<!-- #1 best seller -->",
            "see issue #include in the tracker",
            "<!--[if IE]><p>old</p><![endif]-->",
            "# Include the header file",
            "C# exec summary, printenv notes",
            "<!-- TODO: #exec the job later -->",
            "<!--#-->",
        ],
    );
}

const BREAKS: [&str; 3] = ["\r\n", "\n", "\r\n\r\n"];

#[test]
fn mail_header() {
    let engine = Engine::builtin();
    let headers = [
        "Bcc: victim@example.org",
        "Cc: list@example.net",
        "To: a@example.com, b@example.com",
        "From: ceo@example.com",
        "Reply-To: attacker@example.net",
        "Content-Type: multipart/mixed; boundary=xyz",
        "Subject: You won",
        "MIME-Version: 1.0",
        "bcc:spy@example.org",
    ];
    let prefixes = ["user@example.com", "Hello", "", "John Smith"];
    let names = ["email", "subject", "name", "to", "from", "q"];
    let mut t = Tally::new("mail-header", Class::Mail);
    let mut i = 0;
    for (hi, h) in headers.iter().enumerate() {
        for brk in BREAKS {
            for prefix in prefixes {
                let p = format!("{prefix}{brk}{h}");
                for enc in ENCODINGS {
                    for place in PLACEMENTS {
                        if carried(enc, place) && sample(&mut i, 2) {
                            t.attack(
                                &engine,
                                place,
                                names[(hi + i) % names.len()],
                                &encode(&p, enc, place),
                            );
                        }
                    }
                }
            }
        }
    }
    t.assert_rate();
}

#[test]
fn smtp() {
    let engine = Engine::builtin();
    let commands = [
        "MAIL FROM:<attacker@example.net>",
        "RCPT TO:<victim@example.org>",
        "DATA",
        "HELO evil.example",
        "EHLO mail.example.net",
        "RSET",
        "QUIT",
        "VRFY root",
        "EXPN staff",
        "AUTH LOGIN",
        "NOOP",
        "rcpt to: <b@example.org>",
    ];
    let prefixes = ["user@example.com", "x", ""];
    let names = ["email", "to", "from", "q", "sender", "id"];
    let mut t = Tally::new("smtp", Class::Mail);
    let mut i = 0;
    for (ci, c) in commands.iter().enumerate() {
        // One command, or this one then the next (a session).
        for pair in [false, true] {
            for brk in BREAKS {
                for prefix in prefixes {
                    let mut p = format!("{prefix}{brk}{c}");
                    if pair {
                        p = format!("{p}{brk}{}", commands[(ci + 1) % commands.len()]);
                    }
                    for enc in ENCODINGS {
                        for place in PLACEMENTS {
                            if carried(enc, place) && sample(&mut i, 2) {
                                t.attack(
                                    &engine,
                                    place,
                                    names[(ci + i) % names.len()],
                                    &encode(&p, enc, place),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    t.assert_rate();
}

#[test]
fn imap() {
    let engine = Engine::builtin();
    let commands = [
        "LOGIN admin secret",
        "SELECT INBOX",
        "EXAMINE \"Sent Items\"",
        "FETCH 1:* (FLAGS BODY[HEADER])",
        "UID FETCH 1 BODY[]",
        "CAPABILITY",
        "LOGOUT",
        "STORE 1 +FLAGS (\\Deleted)",
        "LIST \"\" \"*\"",
        "DELETE INBOX",
        "COPY 1:5 Archive",
        "SEARCH ALL",
    ];
    let tags = ["a1", "A001", "x", "V100", "t.2"];
    let prefixes = ["INBOX", "Drafts", ""];
    let names = ["mailbox", "folder", "q", "id", "mbox"];
    let mut t = Tally::new("imap", Class::Mail);
    let mut i = 0;
    for (ci, c) in commands.iter().enumerate() {
        for tag in tags {
            for brk in BREAKS {
                for prefix in prefixes {
                    let p = format!("{prefix}{brk}{tag} {c}");
                    for enc in ENCODINGS {
                        for place in PLACEMENTS {
                            if carried(enc, place) && sample(&mut i, 3) {
                                t.attack(
                                    &engine,
                                    place,
                                    names[(ci + i) % names.len()],
                                    &encode(&p, enc, place),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    t.assert_rate();
}

#[test]
fn mail_benign() {
    let engine = Engine::builtin();
    assert_benign(
        &engine,
        "mail",
        // Multi-line text is written in bodies; a line break in a query
        // argument, header or cookie is already a protocol finding (900030).
        &[Placement::Form, Placement::Json],
        &["comment", "message", "notes", "body"],
        &[
            "Hi,\nthanks for the quick delivery.\nBest, Ann",
            "To do:\n- buy milk\n- call Bob",
            "Name: John Smith\nPhone: 555 0100",
            "We select the best beans\nand list them weekly",
            "Data\nScience\nQuit smoking",
            "Subject to change\nterms apply",
            "first line\r\nsecond line: more details\r\nthird",
            "Meeting from 10 to 12\nroom 4",
            "a@example.com\nb@example.org",
            "Dear sir,\r\n\r\nplease find my address below.\r\n12 High St",
        ],
    );
    // JSON text carried in one-line fields: escaped line breaks, labels.
    assert_benign(
        &engine,
        "mail (escaped breaks)",
        &PLACEMENTS,
        &["q", "state", "note"],
        &[
            r"Meeting notes\nDate: Monday\nPriority: high",
            r"C:\new\report.txt",
            r"first\r\nsecond: third",
            r"Ship to\nJohn Smith\n12 High St",
        ],
    );
}

#[test]
fn ldap() {
    let engine = Engine::builtin();
    let breakouts = [
        "*)(uid=*))(|(uid=*",
        ")(|(password=*)",
        ")(&(objectClass=*)",
        "*)(cn=*",
        "))(|(cn=*",
        ")(!(cn=nobody)",
        "*(|(mail=*))",
        "*))%00",
        ")(|(objectclass=*))",
        "*)(userPassword=*)",
        ")(cn>=a)",
        "*)(|(uid=*)(cn=*))",
    ];
    let prefixes = ["", "admin", "*", "jdoe*"];
    let spacings = ["", " "];
    let names = ["user", "username", "q", "login", "cn", "uid"];
    let mut t = Tally::new("ldap", Class::Ldapi);
    let mut i = 0;
    for (bi, b) in breakouts.iter().enumerate() {
        for prefix in prefixes {
            for sp in spacings {
                let b = if sp.is_empty() {
                    b.to_string()
                } else {
                    b.replacen(")(", ") (", 1)
                };
                let p = format!("{prefix}{b}");
                // The NUL case is written as sent: `%00` is its wire form.
                let p = p.replace("%00", "\0");
                for enc in ENCODINGS.into_iter().map(Some).chain([None]) {
                    for place in PLACEMENTS {
                        if enc.is_some_and(|e| !carried(e, place)) || !sample(&mut i, 2) {
                            continue;
                        }
                        let wire = match enc {
                            Some(e) => encode(&p, e, place),
                            // LDAP hex escapes for the brackets, star and NUL.
                            None => transport(
                                &p.replace('(', "\\28")
                                    .replace(')', "\\29")
                                    .replace('*', "\\2a")
                                    .replace('\0', "\\00"),
                                place,
                            ),
                        };
                        t.attack(&engine, place, names[(bi + i) % names.len()], &wire);
                    }
                }
            }
        }
    }
    t.assert_rate();
}

#[test]
fn ldap_benign() {
    let engine = Engine::builtin();
    assert_benign(
        &engine,
        "ldap",
        &PLACEMENTS,
        &["q", "comment", "expr", "name"],
        &[
            "(a+b)(c-d)",
            "f(x)(y)",
            "Smith (2019) (pp. 4-5)",
            "call (555) 010-1234",
            "John (admin) Doe",
            "x = (y * 2) / (z - 1)",
            ":-) (just kidding)",
            "[docs](https://example.com/?a=b)",
            "price (incl. VAT)",
            "((nested))",
            "sizes (S)(M)(L)",
        ],
    );
}
