use super::*;
use crate::testing::XorShift;

fn limits(max_depth: usize, max_args: usize) -> BodyLimits {
    BodyLimits {
        max_depth,
        max_args,
    }
}

/// (part, name, value) triples, for compact assertions.
fn triples(p: &ParsedBody) -> Vec<(Part, &str, &str)> {
    p.args
        .iter()
        .map(|a| (a.part, a.name.as_str(), a.value.as_str()))
        .collect()
}

fn values(p: &ParsedBody, part: Part) -> Vec<(&str, &str)> {
    p.args
        .iter()
        .filter(|a| a.part == part)
        .map(|a| (a.name.as_str(), a.value.as_str()))
        .collect()
}

fn malformed(p: &ParsedBody) -> bool {
    p.problems.iter().any(|x| {
        matches!(
            x,
            BodyProblem::MalformedJson(_)
                | BodyProblem::MalformedMultipart(_)
                | BodyProblem::MalformedXml(_)
        )
    })
}

// ---- urlencoded -------------------------------------------------------------

#[test]
fn urlencoded_pairs_respect_max() {
    let p = urlencoded::pairs("a=1&&b=2&c=3&d", 2);
    assert_eq!(p, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
    assert!(urlencoded::pairs("a=1", 0).is_empty());
    assert_eq!(urlencoded::pairs("a+b=%41+%42&c", 10).len(), 2);
    assert_eq!(
        urlencoded::pairs("a+b=%41+%42", 10)[0],
        ("a b".into(), "A B".into())
    );
}

#[test]
fn urlencoded_too_many_args() {
    let p = urlencoded::parse(b"a=1&b=2&c=3", &limits(32, 2));
    assert_eq!(p.args.len(), 4, "two pairs, value and name each");
    assert_eq!(p.problems, vec![BodyProblem::TooManyArgs]);
    let p = urlencoded::parse(b"a=1&b=2", &limits(32, 2));
    assert!(p.problems.is_empty());
}

// ---- JSON -------------------------------------------------------------------

#[test]
fn json_leaves_and_keys() {
    let body = br#"{"user":{"name":"bob","tags":["a",2,true,null],"age":3.5e1},"ok":false}"#;
    let p = json::parse(body, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![
            ("user.name", "bob"),
            ("user.tags.0", "a"),
            ("user.tags.1", "2"),
            ("user.tags.2", "true"),
            ("user.age", "3.5e1"),
            ("ok", "false"),
        ]
    );
    assert_eq!(
        values(&p, Part::BodyArgName),
        vec![
            ("user", "user"),
            ("user.name", "name"),
            ("user.tags", "tags"),
            ("user.age", "age"),
            ("ok", "ok"),
        ]
    );
}

#[test]
fn json_top_level_scalars_and_arrays() {
    let d = BodyLimits::default();
    let p = json::parse(br#""<script>""#, false, &d);
    assert_eq!(triples(&p), vec![(Part::BodyArg, "", "<script>")]);
    let p = json::parse(b"42", false, &d);
    assert_eq!(triples(&p), vec![(Part::BodyArg, "", "42")]);
    let p = json::parse(br#"[["x"],{"k":"v"}]"#, false, &d);
    assert!(p.problems.is_empty());
    assert_eq!(
        triples(&p),
        vec![
            (Part::BodyArg, "0.0", "x"),
            (Part::BodyArgName, "1.k", "k"),
            (Part::BodyArg, "1.k", "v"),
        ]
    );
    assert_eq!(json::parse(b"null", false, &d), ParsedBody::default());
    assert_eq!(json::parse(b"  \n", false, &d), ParsedBody::default());
}

#[test]
fn json_string_escapes_are_decoded() {
    let body = br#"{"a\u0062":"\u003cscript\u003e \"q\" \\ \/ \n \ud83d\ude00 \ud800 \q"}"#;
    let p = json::parse(body, true, &BodyLimits::default());
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("ab", "<script> \"q\" \\ / \n \u{1F600} \u{fffd} \\q")]
    );
}

#[test]
fn json_duplicate_keys_are_all_inspected() {
    let p = json::parse(
        br#"{"q":"<script>","q":"x"}"#,
        false,
        &BodyLimits::default(),
    );
    assert!(p.problems.is_empty());
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("q", "<script>"), ("q", "x")]
    );
}

#[test]
fn json_malformed_is_reported_and_salvaged() {
    let d = BodyLimits::default();
    let p = json::parse(br#"{"a":"1' or 1=1--",}"#, false, &d);
    assert!(
        matches!(&p.problems[..], [BodyProblem::MalformedJson(m)] if m.contains("column 20")),
        "{:?}",
        p.problems
    );
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "1' or 1=1--")]);
    // JSON5-style barewords and unquoted keys are still seen.
    let p = json::parse(b"{q: union_select, n: NaN}", false, &d);
    assert!(malformed(&p));
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("q", "union_select"), ("n", "NaN")]
    );
    let p = json::parse(b"not json at all", false, &d);
    assert!(malformed(&p));
}

#[test]
fn json_truncated_is_salvaged_without_complaint() {
    let d = BodyLimits::default();
    let p = json::parse(br#"{"a":"x","b":{"c":["<scr"#, true, &d);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("a", "x"), ("b.c.0", "<scr")]
    );
    // The same prefix, not truncated, is malformed.
    let p = json::parse(br#"{"a":"x","b":{"c":["<scr"#, false, &d);
    assert!(malformed(&p));
    // Truncation does not excuse a syntax error before the cut.
    let p = json::parse(br#"{"a" "x", "b": 1"#, true, &d);
    assert!(malformed(&p));
}

#[test]
fn json_invalid_utf8_is_lossy() {
    let p = json::parse(b"{\"a\":\"x\xffy\"}", false, &BodyLimits::default());
    assert!(p.problems.is_empty());
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "x\u{fffd}y")]);
}

#[test]
fn json_too_deep_stops_descending_but_still_inspects() {
    let body = br#"{"a":{"b":{"c":{"d":"deep"}}}}"#;
    let p = json::parse(body, false, &limits(2, 100));
    assert_eq!(p.problems, vec![BodyProblem::TooDeep]);
    // The root object and `a` are the two levels allowed: deeper names stay `a`.
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "deep")]);
    assert_eq!(
        values(&p, Part::BodyArgName),
        vec![("a", "a"), ("a.b", "b"), ("a", "c"), ("a", "d")]
    );
    // Past serde_json's own recursion limit: still only "too deep".
    let deep = format!("{}\"x\"{}", "[".repeat(5000), "]".repeat(5000));
    let p = json::parse(deep.as_bytes(), false, &BodyLimits::default());
    assert_eq!(p.problems, vec![BodyProblem::TooDeep]);
    assert_eq!(values(&p, Part::BodyArg).len(), 1);
}

#[test]
fn json_too_many_args_stops() {
    let body = br#"{"a":1,"b":2,"c":3}"#;
    let p = json::parse(body, false, &limits(32, 3));
    assert_eq!(p.args.len(), 3);
    assert_eq!(p.problems, vec![BodyProblem::TooManyArgs]);
}

// ---- multipart --------------------------------------------------------------

const B: &str = "XyZ";

fn mp(parts: &[&str]) -> Vec<u8> {
    let mut s = String::new();
    for p in parts {
        s.push_str("--XyZ\r\n");
        s.push_str(p);
        s.push_str("\r\n");
    }
    s.push_str("--XyZ--\r\n");
    s.into_bytes()
}

#[test]
fn multipart_fields_and_files() {
    let body = mp(&[
        "Content-Disposition: form-data; name=\"user\"\r\n\r\nbob",
        "Content-Disposition: form-data; name=\"bio\"\r\n\r\nline 1\r\nline 2",
        "Content-Disposition: form-data; name=\"up\"; filename=\"shell.php\"\r\nContent-Type: text/plain\r\n\r\n<?php system($_GET[1]); ?>",
        "Content-Disposition: form-data; name=\"pic\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n\x00\x01<script>",
    ]);
    let p = multipart::parse(&body, B, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        triples(&p),
        vec![
            (Part::BodyArg, "user", "bob"),
            (Part::BodyArgName, "user", "user"),
            (Part::BodyArg, "bio", "line 1\r\nline 2"),
            (Part::BodyArgName, "bio", "bio"),
            (Part::BodyArg, "up", "<?php system($_GET[1]); ?>"),
            (Part::BodyArgName, "up", "up"),
            (Part::Filename, "up", "shell.php"),
            // Binary file content skipped; its names still reported.
            (Part::BodyArgName, "pic", "pic"),
            (Part::Filename, "pic", "a.png"),
        ]
    );
}

#[test]
fn multipart_a_field_declared_binary_is_still_inspected() {
    let body = mp(&[
        "Content-Disposition: form-data; name=\"q\"\r\nContent-Type: image/png\r\n\r\n' or 1=1--",
    ]);
    let p = multipart::parse(&body, B, false, &BodyLimits::default());
    assert_eq!(values(&p, Part::BodyArg), vec![("q", "' or 1=1--")]);
}

#[test]
fn multipart_disposition_parameters() {
    let body = mp(&[
        "content-disposition: form-data; name=plain; filename=a.txt\r\n\r\nv1",
        "Content-Disposition: form-data; name=\"q\\\"x\"; filename=\"C:\\dir\\b.txt\"\r\n\r\nv2",
        "Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%e2%82%ac%2e.php; filename=\"e.txt\"\r\n\r\nv3",
        "Content-Disposition: form-data;\r\n name=\"folded\"\r\n\r\nv4",
    ]);
    let p = multipart::parse(&body, B, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![
            ("plain", "v1"),
            ("q\"x", "v2"),
            ("f", "v3"),
            ("folded", "v4")
        ]
    );
    assert_eq!(
        values(&p, Part::Filename),
        vec![
            ("plain", "a.txt"),
            ("q\"x", "C:\\dir\\b.txt"),
            ("f", "\u{20ac}..php"),
            ("f", "e.txt"),
        ]
    );
}

#[test]
fn multipart_lf_only_preamble_and_padding() {
    let body = b"preamble --XyZ not a delimiter\n--XyZ  \nContent-Disposition: form-data; name=a\n\nx\n--XyZextra\n--XyZ--\nepilogue";
    let p = multipart::parse(body, B, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "x\n--XyZextra")]);
}

#[test]
fn multipart_empty_content_and_headers_only() {
    let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"e\"\r\n\r\n--XyZ--";
    let p = multipart::parse(body, B, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(values(&p, Part::BodyArg), vec![("e", "")]);
}

#[test]
fn multipart_problems() {
    let d = BodyLimits::default();
    let problem = |body: &[u8], truncated: bool| -> Vec<BodyProblem> {
        multipart::parse(body, B, truncated, &d).problems
    };
    let mm = |m: &str| BodyProblem::MalformedMultipart(m.into());
    assert_eq!(
        problem(b"no delimiter", false),
        vec![mm("no boundary delimiter in the body")]
    );
    assert_eq!(problem(b"--XyZ--\r\n", false), vec![mm("no parts")]);
    let unclosed = b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nvalue";
    assert_eq!(
        problem(unclosed, false),
        vec![mm("no closing boundary delimiter")]
    );
    assert!(problem(unclosed, true).is_empty());
    let p = multipart::parse(unclosed, B, true, &d);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("a", "value")],
        "the prefix is inspected"
    );
    let no_cd = mp(&["Content-Type: text/plain\r\n\r\nhidden"]);
    let p = multipart::parse(&no_cd, B, false, &d);
    assert_eq!(p.problems, vec![mm("part without Content-Disposition")]);
    assert_eq!(values(&p, Part::BodyArg), vec![("", "hidden")]);
    let no_blank = b"--XyZ\r\nContent-Disposition: form-data; name=a\r\n--XyZ--";
    assert_eq!(
        problem(no_blank, false),
        vec![mm("part headers not ended by an empty line")]
    );
    // Cut inside the headers of the last part: the truncation explains it.
    assert!(problem(b"--XyZ\r\nContent-Disposition: form-da", true).is_empty());
    assert_eq!(
        multipart::parse(b"--\r\n", "", false, &d).problems,
        vec![mm("empty boundary")]
    );
}

#[test]
fn multipart_too_many_args() {
    let parts: Vec<String> = (0..10)
        .map(|i| format!("Content-Disposition: form-data; name=\"f{i}\"\r\n\r\nv"))
        .collect();
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    let p = multipart::parse(&mp(&refs), B, false, &limits(32, 5));
    assert_eq!(p.args.len(), 5);
    assert_eq!(p.problems, vec![BodyProblem::TooManyArgs]);
}

#[test]
fn multipart_through_body_parse() {
    let body = mp(&["Content-Disposition: form-data; name=\"a\"\r\n\r\n1"]);
    let p = parse(
        Some("multipart/form-data; boundary=\"XyZ\""),
        &body,
        false,
        &BodyLimits::default(),
    );
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "1")]);
    let p = parse(
        Some("multipart/form-data"),
        &body,
        false,
        &BodyLimits::default(),
    );
    assert!(malformed(&p));
}

// ---- XML --------------------------------------------------------------------

#[test]
fn xml_text_and_attributes() {
    let body = br#"<?xml version="1.0"?>
<root>
  <user id="7" role='admin &amp; more'>
    <name>bob &lt;b&gt; &#x3c;</name>
    <!-- a comment -->
    <note><![CDATA[<script>alert(1)</script>]]></note>
    <empty/>
  </user>
</root>"#;
    let p = xml::parse(body, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![
            ("root.user@id", "7"),
            ("root.user@role", "admin & more"),
            ("root.user.name", "bob <b> <"),
            ("root.user.note", "<script>alert(1)</script>"),
        ]
    );
}

#[test]
fn xml_text_joins_across_comments_and_splits_at_children() {
    let body = b"<q>sel<!-- -->ect<![CDATA[ 1]]><b>x</b>tail</q>";
    let p = xml::parse(body, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("q", "select 1"), ("q.b", "x"), ("q", "tail")]
    );
}

#[test]
fn xml_namespaces_are_kept_in_names() {
    let body = br#"<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><m:Get xmlns:m="urn:x"><m:id>1 or 1=1</m:id></m:Get></soap:Body></soap:Envelope>"#;
    let p = xml::parse(body, false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert!(
        values(&p, Part::BodyArg).contains(&("soap:Envelope.soap:Body.m:Get.m:id", "1 or 1=1"))
    );
}

#[test]
fn xml_doctype_and_entities_are_flagged_not_expanded() {
    let body = br#"<?xml version="1.0"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> <!-- > --> <!ELEMENT foo ANY> ]>
<foo>&xxe;</foo>"#;
    let p = xml::parse(body, false, &BodyLimits::default());
    assert_eq!(p.problems, vec![BodyProblem::XmlDoctype]);
    assert_eq!(values(&p, Part::BodyArg), vec![("foo", "&xxe;")]);
    // An ENTITY declaration alone (no DOCTYPE), in any case.
    let p = xml::parse(b"<!entity x 'y'><a>1</a>", false, &BodyLimits::default());
    assert!(p.problems.contains(&BodyProblem::XmlDoctype));
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "1")]);
}

#[test]
fn xml_malformed() {
    let d = BodyLimits::default();
    let first = |body: &[u8], truncated: bool| -> Option<String> {
        xml::parse(body, truncated, &d)
            .problems
            .into_iter()
            .find_map(|p| match p {
                BodyProblem::MalformedXml(m) => Some(m),
                _ => None,
            })
    };
    assert_eq!(
        first(b"<a><b></a>", false).as_deref(),
        Some("mismatched end tag")
    );
    assert_eq!(
        first(b"<a></b></a>", false).as_deref(),
        Some("end tag without a start tag")
    );
    assert_eq!(
        first(b"<a>x", false).as_deref(),
        Some("unclosed element <a>")
    );
    assert_eq!(
        first(b"junk<a/>", false).as_deref(),
        Some("text outside the root element")
    );
    assert_eq!(
        first(b"<a/><b/>", false).as_deref(),
        Some("more than one root element")
    );
    assert_eq!(
        first(b"<a x=1/>", false).as_deref(),
        Some("unquoted attribute value")
    );
    assert_eq!(first(b"<a>1 < 2</a>", false).as_deref(), Some("stray '<'"));
    assert_eq!(
        first(b"just text", false).as_deref(),
        Some("text outside the root element")
    );
    assert_eq!(
        first(b"<!-- only a comment -->", false).as_deref(),
        Some("no root element")
    );
    // Still inspected after the error.
    let p = xml::parse(b"<a><b>payload</a>", false, &d);
    assert_eq!(values(&p, Part::BodyArg), vec![("a.b", "payload")]);
    let p = xml::parse(b"<a>1 < 2</a>", false, &d);
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "1 < 2")]);
}

#[test]
fn xml_truncated_forgives_only_the_abrupt_end() {
    let d = BodyLimits::default();
    let p = xml::parse(b"<a><b x=\"1\">partial pay", true, &d);
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(
        values(&p, Part::BodyArg),
        vec![("a.b@x", "1"), ("a.b", "partial pay")]
    );
    for cut in [
        "<a><!-- unterminated",
        "<a><![CDATA[x",
        "<a><b x=\"1",
        "<a></a",
        "<a><",
    ] {
        let p = xml::parse(cut.as_bytes(), true, &d);
        assert!(!malformed(&p), "{cut:?}: {:?}", p.problems);
        let p = xml::parse(cut.as_bytes(), false, &d);
        assert!(malformed(&p), "{cut:?} not truncated");
    }
    let p = xml::parse(b"<a><b></a><c>cut", true, &d);
    assert!(malformed(&p), "a mismatch is not explained by truncation");
}

#[test]
fn xml_too_deep_and_too_many() {
    let p = xml::parse(b"<a><b><c><d>deep</d></c></b></a>", false, &limits(2, 100));
    assert_eq!(p.problems, vec![BodyProblem::TooDeep]);
    assert_eq!(values(&p, Part::BodyArg), vec![("a.b", "deep")]);
    let deep = format!("{}x{}", "<a>".repeat(20_000), "</a>".repeat(20_000));
    let p = xml::parse(deep.as_bytes(), false, &BodyLimits::default());
    assert_eq!(p.problems, vec![BodyProblem::TooDeep]);
    assert_eq!(p.args.len(), 1);
    let p = xml::parse(b"<r><a>1</a><a>2</a><a>3</a></r>", false, &limits(32, 2));
    assert_eq!(p.args.len(), 2);
    assert_eq!(p.problems, vec![BodyProblem::TooManyArgs]);
}

#[test]
fn xml_bom_and_invalid_utf8() {
    let p = xml::parse(b"\xef\xbb\xbf<a>x\xffy</a>", false, &BodyLimits::default());
    assert!(p.problems.is_empty(), "{:?}", p.problems);
    assert_eq!(values(&p, Part::BodyArg), vec![("a", "x\u{fffd}y")]);
}

// ---- robustness -------------------------------------------------------------

const PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"",
    b"\\",
    b"\\u",
    b"\\ud83d",
    b"a",
    b"1",
    b"null",
    b" ",
    b"\r\n",
    b"\n",
    b"--XyZ",
    b"--XyZ--",
    b"--",
    b"Content-Disposition: form-data; ",
    b"name=",
    b"filename=\"",
    b"filename*=UTF-8''%",
    b"Content-Type: image/png",
    b";",
    b"=",
    b"<",
    b">",
    b"</",
    b"/>",
    b"<a",
    b"</a>",
    b"<!--",
    b"-->",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE",
    b"<!ENTITY",
    b"[",
    b"'",
    b"&",
    b"&#x",
    b"<?",
    b"?>",
    b"\xff",
    b"\xc0",
    b"\xe2\x82",
    "é".as_bytes(),
];

fn run_all(body: &[u8], l: &BodyLimits) {
    for truncated in [false, true] {
        for (per_arg, p) in [
            (1, json::parse(body, truncated, l)),
            (1, multipart::parse(body, B, truncated, l)),
            (1, xml::parse(body, truncated, l)),
            // A form pair is a value and a name.
            (2, urlencoded::parse(body, l)),
        ] {
            assert!(p.args.len() <= l.max_args * per_arg);
            let too_many = p
                .problems
                .iter()
                .filter(|x| **x == BodyProblem::TooManyArgs)
                .count();
            assert!(too_many <= 1);
        }
    }
}

#[test]
fn body_parsers_never_panic_on_generated_input() {
    let mut rng = XorShift(0x2545_F491_4F6C_DD1D);
    let small = limits(3, 8);
    let d = BodyLimits::default();
    for _ in 0..5_000 {
        let n = rng.below(40);
        let mut body = Vec::new();
        for _ in 0..n {
            body.extend_from_slice(PIECES[rng.below(PIECES.len())]);
        }
        run_all(&body, &small);
        run_all(&body, &d);
        // Every prefix of a realistic body, as truncation would cut it.
        if n.is_multiple_of(8) {
            for cut in 0..body.len() {
                run_all(&body[..cut], &small);
            }
        }
    }
}

#[test]
fn body_parsers_never_panic_on_every_byte_and_every_prefix() {
    let all: Vec<u8> = (0..=255u8).collect();
    let d = BodyLimits::default();
    run_all(&all, &d);
    run_all(&[], &d);
    let samples: [&[u8]; 3] = [
        br#"{"a":{"b":["x\u0041\ud83d\ude00",1,true]},"c":"d"}"#,
        b"--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''%c0%af\r\nContent-Type: text/plain\r\n\r\nv\r\n--XyZ--\r\n",
        b"<?xml version=\"1.0\"?><!DOCTYPE r [<!ENTITY e \"x\">]><r a='1'><b><![CDATA[c]]></b><!-- d --></r>",
    ];
    for s in samples {
        for cut in 0..=s.len() {
            run_all(&s[..cut], &d);
            run_all(&s[..cut], &limits(0, 0));
        }
    }
}

#[test]
fn the_default_depth_is_the_anomaly_features_depth() {
    // The transaction hands its body parse to the anomaly features only when
    // both parse to the same depth (`tx::body_phase`): a default that drifted
    // would cost every scored request a second parse, with nothing failing.
    assert_eq!(
        BodyLimits::default().max_depth,
        crate::anomaly::features::MAX_DEPTH
    );
}
