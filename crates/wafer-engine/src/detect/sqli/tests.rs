use super::*;

fn hits_in(part: Part, name: Option<&str>, v: &str) -> Vec<Hit> {
    crate::detect::testing::hits(check, part, name, v)
}

/// The rule a query argument value triggers at paranoia 1 with a blocking severity.
fn blocks(v: &str) -> Option<u32> {
    hits_in(Part::QueryArg, Some("q"), v)
        .into_iter()
        .map(|h| h.rule)
        .find(|&r| {
            let d = crate::detect::rule(r);
            d.paranoia == 1 && d.severity == crate::finding::Severity::Critical
        })
}

fn rules(v: &str) -> Vec<u32> {
    hits_in(Part::QueryArg, Some("q"), v)
        .into_iter()
        .map(|h| h.rule)
        .collect()
}

#[track_caller]
fn attack(v: &str) {
    assert!(
        blocks(v).is_some(),
        "not caught: {v:?} (hits: {:?})",
        hits_in(Part::QueryArg, Some("q"), v)
            .iter()
            .map(|h| (h.rule, h.detail.clone()))
            .collect::<Vec<_>>()
    );
}

/// No finding at paranoia 1 (paranoia-2 fragments are allowed: `drop table legs`).
#[track_caller]
fn benign(v: &str) {
    let h: Vec<Hit> = hits_in(Part::QueryArg, Some("q"), v)
        .into_iter()
        .filter(|h| crate::detect::rule(h.rule).paranoia == 1)
        .collect();
    assert!(
        h.is_empty(),
        "false positive: {v:?}: {:?}",
        h.iter()
            .map(|h| (h.rule, h.detail.clone()))
            .collect::<Vec<_>>()
    );
}

#[test]
fn issue_bypass_list() {
    for v in [
        "0); show warnings; set @q=0x53454c454354; prepare s from @q; execute s;#",
        "[1 or 1=1]",
        "['1' or '1'='1']",
        "[1 union select 1,2]",
        "1 or 1<@ union select 1,2",
        "1 or true",
        "1*1--",
        "1' or '1'='1",
        "admin'--",
        "1 AND SLEEP(5)",
        "'; DROP TABLE users--",
        "1 UNION/**/SELECT 1,2",
        "1 un/**/ion sel/**/ect 1,2",
        "1\nunion\nselect 1,2",
        "1 /*!50000union*/ /*!50000select*/ 1,2",
        "1 /*!union*/ select 1",
        "1 UnIoN SeLeCt 1,2",
        "' || '1'='1",
        "1 or 1 like 1",
        "-1' group by 1,2,3--",
        "1 order by 10--",
        "' and extractvalue(1,concat(0x7e,version()))--",
        "'; exec xp_cmdshell 'dir'--",
        "1;waitfor delay '0:0:5'--",
        "\" or \"\"=\"",
        "' or 1=1#",
        "') or ('a'='a",
        "1) or (1=1",
        "' or true--",
        "x' and 1=2 union select password from users--",
        "1 and (select count(*) from users) > 0",
        "1' and substring(@@version,1,1)='5",
        "'||(select pg_sleep(5))||'",
        "1 or sleep(5)",
        "sleep(5)",
        "benchmark(10000000,md5(1))",
        "1; select * from users",
        "select * from users where id=1",
        "select @@version",
        "1' and ascii(substr((select database()),1,1))>64--",
        "email=admin@example.com' or sqlite_compileoption_used (id)--",
        "'and not sqlite_compileoption_get (id)--",
        "1' and unistr(password)::bool--",
        "password::int",
        "md5(password)::int",
        "concat (",
        "' OR 1=1 LIMIT 1 --",
        "1 procedure analyse()",
        "' into outfile '/tmp/x'--",
        "admin')--",
        "admin\"#",
        "x'<email--",
        "'sounds like rowid--",
        "1e1union select 1",
        "'=' or 'x'='x",
        "1 || 1=1",
        "' AND 1=CONVERT(int,(SELECT @@version))--",
        "1 AND 2771=1709",
        "OR 1=1",
        "';shutdown--",
        "'; insert into users values ('a','b')--",
        "1; update users set admin=1",
        "x' and updatexml(1,concat(0x7e,(select user())),1)--",
        "1 and 1=(select 1 from dual)",
        "' or 'a'<>'b",
        "`) or (`1`=`1",
        "1' and '1' between '0' and '2",
        "1' and exists(select 1)--",
        "1 having 1=1--",
        "') or 1=1 -- -",
        "1 AS \"foobar\" FROM tablevar2",
        "` AS `edit_user_id` from x",
        "ALTER TABLE `mass_mails` CHANGE `receivers` `receivers` ENUM('A','B')",
        "create table t (id int)",
    ] {
        attack(v);
    }
}

#[test]
fn issue_false_positive_list() {
    for v in [
        "123--567890",
        "autologin",
        "O'Brien",
        "rock 'n' roll",
        "select the best union of shoes from our shop",
        "Tom & Jerry",
        "50% or more",
        "2024-01-01",
        "+1 (555) 123-4567",
        "555-123-4567",
        "550e8400-e29b-41d4-a716-446655440000",
        "SGVsbG8gd29ybGQhIC8qIG5vdCBhIGNvbW1lbnQ=",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "color:#fff;",
        "body { color: #333; background: url(img.png) }",
        "report-2024 (final).pdf",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36",
        "1",
        "-5",
        "10-20",
        "Order by phone",
        "drop table legs",
        "I'd like to buy 1 or 2 of these, and maybe more",
        "Don't select it; or do, it's up to you",
        "it's 5 o'clock -- time to go",
        "\"quoted\" or \"other\"",
        "What's the union select committee?",
        "He said 'no' -- and left",
        "x = (a + b) * c",
        "rgba(0, 0, 0, 0.5)",
        "calc(100% - 10px)",
        "Math.floor(x)",
        "time.sleep(5)",
        "SELECT one from the list",
        "Rock & roll; select your favourite",
        "a -> b -> c",
        "fe80::1",
        "a::before",
        "If you select this, and that's fine; show me more",
        "Price: 10 - 20 USD (or less)",
        "name: John; age: 30; city: New York",
        "The benchmark (2024) results",
        "I'm 100% sure, or 99%",
        "#hashtag and more",
        "email me @ john",
        "1 of 2",
        "the 'quoted' word",
        "version 2 (beta)",
    ] {
        benign(v);
    }
}

#[test]
fn contexts_are_named_in_the_detail() {
    let h = hits_in(Part::QueryArg, Some("id"), "1' or '1'='1");
    assert_eq!(h.len(), 1);
    let d = h[0].detail.as_deref().unwrap();
    assert!(d.contains("after '"), "{d}");
    assert!(d.contains("condition"), "{d}");
}

#[test]
fn weak_shapes_do_not_block_at_paranoia_1() {
    assert_eq!(rules("1--"), vec![HINT]);
    assert_eq!(rules("@@version"), vec![HINT]);
    assert!(blocks("round(2.5)").is_none());
    assert_eq!(rules("round(2.5)"), vec![FRAGMENT]);
    assert!(blocks("round(").is_some());
    assert_eq!(rules("AND deleted = 0)"), vec![FRAGMENT]);
}

#[test]
fn path_segments_are_checked() {
    let h = hits_in(Part::Path, None, "/get/OR '{\"a\":\"b\"}' ? 'a'");
    assert!(h.iter().any(|h| h.rule == CONDITION), "{h:?}");
    assert!(hits_in(Part::Path, None, "/vulnerabilities/sqli/").is_empty());
}

#[test]
fn browser_headers_are_quiet() {
    for (n, v) in [
        (
            "user-agent",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
        ),
        (
            "sec-ch-ua",
            "\"Chromium\";v=\"114\", \"Not.A/Brand\";v=\"8\"",
        ),
        ("accept", "text/html,application/xhtml+xml,*/*;q=0.8"),
        (
            "referer",
            "https://www.example.com/search?q=o%27brien&page=2",
        ),
        ("if-none-match", "W/\"5e-1a2b3c\""),
    ] {
        assert!(hits_in(Part::Header, Some(n), v).is_empty(), "{n}: {v}");
    }
}

#[test]
fn long_values_are_bounded_and_windowed() {
    let mut v = "word ".repeat(200);
    v.push_str("1 union select 1,2");
    assert!(blocks(&v).is_some());
    let huge = "a b ".repeat(10_000) + " union select 1";
    // Beyond the 8 KiB cap: not seen (documented gap), and fast.
    assert!(blocks(&huge).is_none());
}

#[test]
fn backslash_before_a_quote_is_tried_both_ways() {
    // MySQL reads \' as an escaped quote; PostgreSQL and MSSQL do not.
    let h = hits_in(
        Part::BodyArg,
        Some("email"),
        "admin@example.com\\' or glob (id,id)--",
    );
    assert!(h.iter().any(|h| h.rule == CONDITION), "{h:?}");
    let d = h[0].detail.as_deref().unwrap();
    assert!(d.contains("backslash literal"), "{d}");
}

#[test]
fn names_carrying_an_encoded_value_are_checked() {
    let h = hits_in(Part::BodyArgName, Some("x"), "pay=1 union select 1,2");
    assert!(h.iter().any(|h| h.rule == UNION));
    assert!(hits_in(Part::BodyArgName, Some("x"), "filter[name]=value").is_empty());
}

#[test]
fn binary_values_are_skipped() {
    let mut v = String::from("' or 1=1--");
    v.push_str(&"\u{1}\u{2}\u{fffd}".repeat(10));
    assert!(hits_in(Part::Body, None, &v).is_empty());
}

#[test]
fn header_values_need_sql_characters() {
    assert!(header_worth_scanning(b"' or 1=1--"));
    assert!(header_worth_scanning(b"1 UNION SELECT 1"));
    assert!(header_worth_scanning(b"1 AND SLEEP(5)"));
    assert!(!header_worth_scanning(
        b"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
    ));
    let h = hits_in(
        Part::Header,
        Some("user-agent"),
        "Mozilla/5.0' or sleep(5)#",
    );
    assert!(
        h.iter().any(|h| h.rule == FUNCTION || h.rule == CONDITION),
        "{h:?}"
    );
}

#[test]
fn tokenizer_folds_and_classifies() {
    fn kinds(v: &str, ctx: Ctx) -> Vec<Kind> {
        let mut toks = lex::Tokens::new();
        let mut out = Vec::new();
        lex::each_window(v.as_bytes(), ctx, false, &mut toks, |t, _| {
            out.extend(t.iter().map(|t| t.kind));
            false
        });
        out
    }
    use lex::Op;
    use words::{Fk, Kw};
    assert_eq!(
        kinds("1 UNION ALL SELECT", Ctx::Bare),
        [Kind::Num, Kind::Word(Kw::Union), Kind::Word(Kw::Select)]
    );
    assert_eq!(
        kinds("x' or 'a'='a", Ctx::Quoted(b'\'')),
        [
            Kind::Str,
            Kind::Word(Kw::Or),
            Kind::Str,
            Kind::Op(Op::Cmp),
            Kind::Str
        ]
    );
    assert_eq!(
        kinds("sel/**/ect sleep (5) order by 0x41", Ctx::Bare),
        [
            Kind::Word(Kw::Select),
            Kind::Func(Fk::Delay),
            Kind::LParen,
            Kind::Num,
            Kind::RParen,
            Kind::Word(Kw::OrderBy),
            Kind::Num
        ]
    );
    assert_eq!(
        kinds("/*!50000union*/ -1 -- c", Ctx::Bare),
        [Kind::Word(Kw::Union), Kind::Num, Kind::Comment]
    );
    assert_eq!(
        kinds("[dbo].[users] @@version @x `t`", Ctx::Bare),
        [Kind::Ident, Kind::SysVar, Kind::Var, Kind::Ident]
    );
    assert_eq!(kinds("it's", Ctx::Quoted(b'"')), []);
}

/// A comparison whose left operand is the very first token (no token before
/// the operator) once underflowed an index; every short operator-led value
/// must be judged without a panic.
#[test]
fn comparisons_at_the_first_token_do_not_underflow() {
    let ops = [
        "=", "==", "<", ">", "<=", ">=", "<>", "!=", "<=>", "like", "is", "in", "regexp",
    ];
    let sides = ["", "1", "'", "'a'", "x", "\"", "-1", "(", "null"];
    for op in ops {
        for l in sides {
            for r in sides {
                for sep in ["", " "] {
                    let v = format!("{l}{sep}{op}{sep}{r}");
                    let _ = hits_in(Part::QueryArg, Some("q"), &v);
                    let _ = hits_in(Part::QueryArg, Some("q"), &format!("{v}--"));
                    let _ = hits_in(Part::QueryArg, Some("q"), &format!("'{v}"));
                }
            }
        }
    }
}

/// What each rule's finding shows as matched: the breakout and what follows,
/// never the prose the value started with.
#[test]
fn matched_is_the_breakout_only() {
    let m = |part: Part, v: &str| crate::detect::testing::matched(check, part, Some("q"), v);
    for (part, v, attack, prose) in [
        (
            Part::QueryArg,
            "hello world' OR 1=1-- x",
            "' OR 1=1",
            "hello world",
        ),
        (
            Part::QueryArg,
            "see you 1' union select name, pass from users--",
            "' union select name, pass from users",
            "see you",
        ),
        (
            Part::BodyArg,
            "nice product'; drop table users; --",
            "'; drop table users",
            "nice product",
        ),
        (Part::QueryArg, "1 and sleep(5)", "sleep(5)", "1 and"),
        // A path segment's span is placed in the whole path.
        (
            Part::Path,
            "/shop/items/1' or '1'='1/view",
            "' or '1'='1",
            "/shop/items",
        ),
        // A name's value after `=` likewise.
        (
            Part::QueryArgName,
            "sort=x' or 'a'='a",
            "' or 'a'='a",
            "sort=",
        ),
    ] {
        let got = m(part, v);
        assert!(!got.is_empty(), "{v:?} not caught");
        for (rule, text) in &got {
            assert!(text.contains(attack), "{rule} in {v:?}: matched {text:?}");
            assert!(!text.contains(prose), "{rule} in {v:?}: matched {text:?}");
        }
    }
}

/// Token offsets are bytes: a span next to multi-byte text (or a 0xA0 byte
/// inside `\u{a0}`, which the lexer reads as a blank) stays on char boundaries.
#[test]
fn spans_keep_char_boundaries() {
    for v in [
        "é' or 1=1--",
        "名前' or '1'='1",
        "x\u{a0}' union select 1,2--",
        "' or 1=1 -- ü",
        "1\u{a0}or\u{a0}1=1",
    ] {
        // `hits` asserts every span is a char-boundary range of the value.
        let _ = crate::detect::testing::hits(check, Part::QueryArg, Some("q"), v);
    }
}
