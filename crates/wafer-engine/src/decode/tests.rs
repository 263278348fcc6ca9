use super::*;
use crate::testing::XorShift;

/// Whether a decoder's result borrowed its input.
macro_rules! borrowed {
    ($c:expr) => {
        matches!($c, Cow::Borrowed(_))
    };
}

// ---- percent decoding -------------------------------------------------------

#[test]
fn percent_decode_one_pass() {
    assert_eq!(url::percent_decode("a%20b%zz"), "a b%zz");
    assert_eq!(url::percent_decode("%41%42%43"), "ABC");
    assert_eq!(url::percent_decode("%2e%2E%2f"), "../");
    assert_eq!(url::percent_decode("a+b"), "a+b", "+ is not a space here");
    assert_eq!(url::percent_decode("%252e"), "%2e", "one pass only");
}

#[test]
fn percent_decode_leaves_bad_escapes() {
    for s in ["%", "%4", "%4g", "100%", "%%41", "%%", "a%"] {
        let d = url::percent_decode(s);
        if s == "%%41" {
            assert_eq!(d, "%A");
        } else {
            assert_eq!(d, s);
            assert!(borrowed!(d), "{s:?} should borrow");
        }
    }
}

#[test]
fn percent_decode_borrows_when_unchanged() {
    assert!(borrowed!(url::percent_decode("plain text")));
    assert!(borrowed!(url::percent_decode("50% off")));
}

#[test]
fn percent_decode_keeps_existing_non_ascii() {
    assert_eq!(url::percent_decode("é%20ü"), "é ü");
    assert_eq!(url::percent_decode("%C3%A9"), "é");
}

#[test]
fn percent_decode_invalid_utf8_becomes_replacement() {
    assert_eq!(url::percent_decode("a%ffb"), "a\u{fffd}b");
    assert_eq!(url::percent_decode("%C3"), "\u{fffd}", "truncated sequence");
    assert_eq!(url::percent_decode("%80%80"), "\u{fffd}\u{fffd}");
}

#[test]
fn percent_decode_repairs_overlong() {
    assert_eq!(url::percent_decode("..%c0%af..%c0%afetc"), "../../etc");
    assert_eq!(url::percent_decode("%c0%ae%c0%ae/"), "../");
    assert_eq!(url::percent_decode("%C1%9C"), "\\");
    assert_eq!(url::percent_decode("%e0%80%af"), "/");
    assert_eq!(url::percent_decode("%f0%80%80%af"), "/");
    assert_eq!(url::percent_decode("%c0%80"), "\0", "overlong NUL");
}

// ---- %uXXXX -----------------------------------------------------------------

#[test]
fn percent_u_decodes_iis_escapes() {
    assert_eq!(url::percent_u_decode("%u0041%U0042"), "AB");
    assert_eq!(url::percent_u_decode("%u003cscript%u003E"), "<script>");
    assert_eq!(url::percent_u_decode("x%u00e9y"), "xéy");
    assert_eq!(url::percent_u_decode("%uD83D%uDE00"), "\u{1F600}");
    assert_eq!(url::percent_u_decode("%ud83d%ude00!"), "\u{1F600}!");
}

#[test]
fn percent_u_folds_fullwidth_ascii() {
    assert_eq!(url::percent_u_decode("%uFF0E%uff0E%uFF0F"), "../");
    assert_eq!(url::percent_u_decode("%uff1cscript%uff1e"), "<script>");
    // Just outside the range: a real character.
    assert_eq!(url::percent_u_decode("%uFF5F"), "\u{FF5F}");
}

#[test]
fn percent_u_leaves_bad_escapes() {
    for s in [
        "%u", "%u1", "%u12", "%u123", "%u12g4", "%x0041", "%uD800", "%uDC00", "%uD83Dx", "100%u",
    ] {
        let d = url::percent_u_decode(s);
        assert_eq!(d, s);
        assert!(borrowed!(d));
    }
    // A lone high surrogate stays; what follows it still decodes.
    assert_eq!(url::percent_u_decode("%uD83D%u0041"), "%uD83DA");
    assert_eq!(url::percent_u_decode("%20"), "%20", "%XX is not ours");
}

// ---- UTF-8 repair -----------------------------------------------------------

#[test]
fn bytes_to_string_repairs_and_replaces() {
    use utf8::bytes_to_string as b2s;
    assert_eq!(b2s(b"plain".to_vec()), "plain");
    assert_eq!(b2s(vec![0xC0, 0xAF]), "/");
    assert_eq!(b2s(vec![0xC0, 0xAE, 0xC0, 0xAE]), "..");
    assert_eq!(b2s(vec![0xC1, 0x81]), "A");
    assert_eq!(b2s(vec![0xE0, 0x80, 0xAF]), "/");
    assert_eq!(b2s(vec![0xE0, 0x81, 0x9C]), "\\");
    assert_eq!(b2s(vec![0xE0, 0x9F, 0xBF]), "\u{7ff}");
    // E0 A0.. is valid (not overlong): decoded normally.
    assert_eq!(b2s(vec![0xE0, 0xA0, 0x80]), "\u{800}");
    // Overlong surrogate: not a character.
    assert_eq!(
        b2s(vec![0xF0, 0x8D, 0xA0, 0x80]),
        "\u{fffd}\u{fffd}\u{fffd}\u{fffd}"
    );
    // Lead without continuation.
    assert_eq!(b2s(vec![b'a', 0xC0, b'b']), "a\u{fffd}b");
    assert_eq!(b2s(vec![0xC0]), "\u{fffd}");
    assert_eq!(b2s(vec![0xE0, 0x80]), "\u{fffd}\u{fffd}");
    assert_eq!(b2s(vec![0xFF, 0xFE]), "\u{fffd}\u{fffd}");
    // Valid multi-byte around the damage survives.
    assert_eq!(
        b2s("é".bytes().chain([0xC0, 0xAF]).chain("ü".bytes()).collect()),
        "é/ü"
    );
    // CESU-8 surrogates are not repaired.
    assert!(
        b2s(vec![0xED, 0xA0, 0xBD, 0xED, 0xB8, 0x80])
            .chars()
            .all(|c| c == '\u{fffd}')
    );
}

// ---- HTML entities ----------------------------------------------------------

#[test]
fn html_named_entities() {
    use html::decode_entities as d;
    assert_eq!(d("&lt;script&gt;"), "<script>");
    assert_eq!(d("&quot;&apos;&amp;"), "\"'&");
    assert_eq!(
        d("javascript&colon;alert&lpar;1&rpar;"),
        "javascript:alert(1)"
    );
    assert_eq!(
        d("&sol;&bsol;&semi;&comma;&period;&equals;&excl;&num;"),
        "/\\;,.=!#"
    );
    assert_eq!(
        d("&dollar;&percnt;&plus;&grave;&lsqb;&rsqb;&lcub;&rcub;"),
        "$%+`[]{}"
    );
    assert_eq!(d("&Hat;&ast;&verbar;&lowbar;&quest;&commat;"), "^*|_?@");
    assert_eq!(d("java&Tab;script&NewLine;"), "java\tscript\n");
    assert_eq!(d("&nbsp;"), "\u{a0}");
    assert_eq!(d("&LT;&GT;&AMP;&QUOT;"), "<>&\"");
}

#[test]
fn html_names_are_case_sensitive_and_unknown_ones_stay() {
    use html::decode_entities as d;
    assert_eq!(d("&Colon;"), "&Colon;");
    assert_eq!(d("&unknown;"), "&unknown;");
    assert_eq!(d("&;"), "&;");
    assert_eq!(d("AT&T"), "AT&T");
    assert!(borrowed!(d("fish & chips")));
}

#[test]
fn html_legacy_names_without_semicolon() {
    use html::decode_entities as d;
    assert_eq!(d("&lt"), "<");
    assert_eq!(d("&ltscript&gt"), "<script>");
    assert_eq!(d("&quot;x&quot"), "\"x\"");
    assert_eq!(d("a&ampb"), "a&b");
    // Not legacy: needs the `;`.
    assert_eq!(d("&colon"), "&colon");
    assert_eq!(d("&lpar1"), "&lpar1");
    // A known prefix of an unknown name with `;`: the browser's reading.
    assert_eq!(d("&ltfoo;"), "<foo;");
}

#[test]
fn html_numeric_references() {
    use html::decode_entities as d;
    assert_eq!(d("&#60;&#62;"), "<>");
    assert_eq!(d("&#x3c;&#X3C;&#x3C"), "<<<");
    assert_eq!(d("&#0000060;&#x00003c;"), "<<");
    assert_eq!(d("&#60&#62"), "<>", "no `;`");
    assert_eq!(d("&#106&#97&#118&#97"), "java");
    assert_eq!(d("&#x1F600;"), "\u{1F600}");
    assert_eq!(d("&#60x"), "<x");
}

#[test]
fn html_invalid_numeric_references_stay() {
    use html::decode_entities as d;
    for s in [
        "&#",
        "&#;",
        "&#x",
        "&#x;",
        "&#xzz;",
        "&#1114112;",
        "&#x110000;",
        "&#xD800;",
        "&#55296;",
        "&#99999999999999999999999;",
        "&",
        "&&",
    ] {
        let r = d(s);
        assert_eq!(r, s);
        assert!(borrowed!(r));
    }
    assert_eq!(d("&#xD800;&#60;"), "&#xD800;<");
}

// ---- JS / CSS escapes -------------------------------------------------------

#[test]
fn js_hex_and_unicode_escapes() {
    use js::decode_escapes as d;
    assert_eq!(d(r"\x3cscript\x3E"), "<script>");
    assert_eq!(d(r"\u0061lert\u00281\u0029"), "alert(1)");
    assert_eq!(d(r"\u{61}\u{000000062}\u{1F600}"), "ab\u{1F600}");
    assert_eq!(d(r"\uD83D\uDE00"), "\u{1F600}");
    assert_eq!(d(r"\ud83d\ude00"), "\u{1F600}");
}

#[test]
fn js_bad_escapes_stay() {
    use js::decode_escapes as d;
    for s in [
        r"\",
        r"a\",
        r"\x",
        r"\x4",
        r"\xg1",
        r"\u",
        r"\u12",
        r"\u12g4",
        r"\u{",
        r"\u{}",
        r"\u{61",
        r"\u{110000}",
        r"\u{zz}",
        r"\uD800",
        r"\uDC00",
        r"\uD83D\u0041x",
        r"\q",
        r"\w\s",
    ] {
        let r = d(s);
        if s == r"\uD83D\u0041x" {
            assert_eq!(r, r"\uD83DAx", "the lone surrogate stays, the rest decodes");
        } else {
            assert_eq!(r, s, "{s:?}");
        }
    }
}

#[test]
fn js_octal_and_simple_escapes() {
    use js::decode_escapes as d;
    assert_eq!(d(r"\74script\76"), "<script>");
    assert_eq!(d(r"\141\154\145\162\164"), "alert");
    assert_eq!(d(r"\0"), "\0");
    assert_eq!(d(r"\08"), "\u{0}8", "octal stops at a non-octal digit");
    assert_eq!(d(r"\400"), "\u{20}0", "at most \\377");
    assert_eq!(d(r"\8"), r"\8");
    assert_eq!(d(r"a\nb"), r"a\nb", "followed by a letter: kept");
    assert_eq!(d(r"\n\t\r\b\f\v"), "\n\t\r\u{8}\u{c}\u{b}");
    assert_eq!(d(r"x\n1"), "x\n1");
    assert_eq!(d(r#"\\ \/ \' \""#), r#"\ / ' ""#);
    assert_eq!(d("a\\\nb\\\r\nc"), "abc", "line continuations");
}

#[test]
fn js_keeps_windows_paths_readable() {
    use js::decode_escapes as d;
    assert_eq!(d(r"..\..\boot.ini"), r"..\..\boot.ini");
    assert_eq!(d(r"c:\windows\repair\sam"), r"c:\windows\repair\sam");
    assert_eq!(d(r"c:\temp\new\file"), r"c:\temp\new\file");
    assert_eq!(d(r"\etc\cache\drivers"), r"\etc\cache\drivers");
    assert!(borrowed!(d(r"C:\Windows\System32\config")));
}

#[test]
fn css_escapes_in_their_unambiguous_forms() {
    use js::decode_escapes as d;
    assert_eq!(d(r"\3c script\3e "), "<script>");
    assert_eq!(d("\\3c\tx"), "<x");
    assert_eq!(d("\\3c\r\nx"), "<x", "CRLF is one terminator");
    assert_eq!(d(r"\00003cx"), "<x");
    assert_eq!(d(r"\000065xpression"), "expression");
    assert_eq!(d(r"\65 xpression"), "expression");
    // Without a terminator and under six digits it is read as JavaScript.
    assert_eq!(d(r"\61v"), "1v");
    // Out of range or NUL: not CSS; the JavaScript reading (or nothing) applies.
    assert_eq!(d(r"\ffffff"), r"\ffffff");
    assert_eq!(d(r"\0 "), "\0 ");
}

// ---- comments ---------------------------------------------------------------

#[test]
fn comments_c_style() {
    use comments::replace_comments as d;
    assert_eq!(d("UN/**/ION SEL/*x*/ECT"), "UN ION SEL ECT");
    assert_eq!(d("1/*unterminated"), "1 ");
    assert_eq!(d("a/**//**/b"), "a  b");
    assert_eq!(d("/*/ still comment */x"), " x");
    assert_eq!(d("a/b*c"), "a/b*c");
    assert!(borrowed!(d("a/b*c - d")));
}

#[test]
fn comments_mysql_versioned_keep_content() {
    use comments::replace_comments as d;
    assert_eq!(d("1/*!50000UNION*/SELECT"), "1 UNION SELECT");
    assert_eq!(d("/*!UNION*/ /*!12345SELECT*/"), " UNION   SELECT ");
    assert_eq!(d("/*M!100000union*/"), " union ");
    assert_eq!(d("/*!50000union/*x*/select*/"), " union select ");
    assert_eq!(d("/*!50000 union select"), "  union select", "unterminated");
    // `*/` outside an executable comment is not a marker.
    assert_eq!(d("a*/b"), "a*/b");
}

#[test]
fn comments_html_and_line_comments() {
    use comments::replace_comments as d;
    assert_eq!(d("<scr<!-- x -->ipt>"), "<scr ipt>");
    assert_eq!(d("a<!-- unterminated"), "a ");
    assert_eq!(d("admin'-- "), "admin' ");
    assert_eq!(d("admin'--"), "admin' ");
    assert_eq!(d("1-- x\nunion"), "1 \nunion");
    assert_eq!(d("1--\tx"), "1 ");
    assert_eq!(d("a--b"), "a--b", "MySQL needs whitespace after --");
    assert_eq!(d("1---\nx"), "1- \nx");
    assert_eq!(d("1#x\nunion#y"), "1 \nunion ");
    assert_eq!(d("x-->"), "x-->");
}

// ---- paths ------------------------------------------------------------------

#[test]
fn canonicalize_paths() {
    use path::canonicalize as c;
    assert_eq!(c("/a/./b/../c"), "/a/c");
    assert_eq!(c("/a//b///c"), "/a/b/c");
    assert_eq!(c("\\a\\b"), "/a/b");
    assert_eq!(c("/a;jsessionid=1/b"), "/a/b");
    assert_eq!(c("/a/..;/admin"), "/admin");
    assert_eq!(c("/;x/a"), "/a");
    assert_eq!(c("/../../../etc/passwd"), "/etc/passwd");
    assert_eq!(c("/a/b/.."), "/a/");
    assert_eq!(c("/a/b/."), "/a/b/");
    assert_eq!(c("/a/b/"), "/a/b/");
    assert_eq!(c("/a/.."), "/");
    assert_eq!(c("/.."), "/");
    assert_eq!(c("//"), "/");
    assert_eq!(c("/a\\..\\..\\b"), "/b");
    assert_eq!(c("/a/....//b"), "/a/..../b");
    assert_eq!(c("/a/.../b"), "/a/.../b");
}

#[test]
fn canonicalize_relative_paths_keep_unresolved_dotdot() {
    use path::canonicalize as c;
    assert_eq!(c("../../etc/passwd"), "../../etc/passwd");
    assert_eq!(c("a/../../b"), "../b");
    assert_eq!(c("a/./b"), "a/b");
    assert_eq!(c("..\\..\\boot.ini"), "../../boot.ini");
    assert_eq!(c("./a"), "a");
}

#[test]
fn canonicalize_borrows_when_canonical() {
    use path::canonicalize as c;
    for p in ["", "/", "/a/b", "/a/b/", "a/b", "/a.b/c..d/.e", "/a/..../b"] {
        let r = c(p);
        assert_eq!(r, p);
        assert!(borrowed!(r), "{p:?}");
    }
}

// ---- normalize and the evasion chain ---------------------------------------

#[test]
fn normalize_undoes_double_and_triple_encoding() {
    assert_eq!(normalize("%253Cscript%253E"), "<script>");
    assert_eq!(normalize("%25253Cscript%25253E"), "<script>");
    assert_eq!(
        normalize("%2525u003c"),
        "<",
        "%u hidden under percent encoding"
    );
    assert_eq!(
        normalize("%26lt%3Bscript%26gt%3B"),
        "<script>",
        "entity under percent"
    );
    assert_eq!(normalize("&amp;lt;"), "<", "double entity");
    assert_eq!(normalize("%5cx3c"), "<", "JS escape under percent");
    assert_eq!(normalize("&#92;u003c"), "<", "JS escape under an entity");
    assert_eq!(normalize("%u0025%u0033%u0043"), "<");
    assert_eq!(normalize("a%00b"), "ab", "NULs removed");
    assert!(borrowed!(normalize("nothing to see")));
}

#[test]
fn normalize_is_bounded() {
    // Four levels of encoding: three passes undo three of them.
    assert_eq!(normalize("%2525253C"), "%3C");
}

#[test]
fn normalize_handles_overlong_and_iis_forms() {
    assert_eq!(
        normalize("..%c0%af..%c0%afetc%c0%afpasswd"),
        "../../etc/passwd"
    );
    assert_eq!(
        normalize("..%u2215"),
        "..\u{2215}",
        "division slash is not folded"
    );
    assert_eq!(normalize("%uff0e%uff0e%uff0f"), "../");
    assert_eq!(normalize("%u003Cimg%u0020src%u003Dx%u003E"), "<img src=x>");
    assert_eq!(normalize("java&#x73;cript&colon;"), "javascript:");
    assert_eq!(normalize("&#x6A&#x61&#x76&#x61"), "java");
}

#[test]
fn path_tricks_after_normalize() {
    let canon = |s: &str| path::canonicalize(&normalize(s)).into_owned();
    assert_eq!(canon("/a/%2e%2e/%2e%2e/etc/passwd"), "/etc/passwd");
    assert_eq!(canon("/a/%252e%252e/%252e%252e/etc/passwd"), "/etc/passwd");
    assert_eq!(canon("/static%2f..%2f..%2fadmin"), "/admin");
    assert_eq!(canon("/static%5c..%5cadmin"), "/admin");
    assert_eq!(canon("/x/%c0%ae%c0%ae/admin"), "/admin");
    assert_eq!(canon("/x/..;/admin"), "/admin");
    assert_eq!(canon("/x/%2e%2e%3b/admin"), "/admin");
    assert_eq!(canon("/%61dmin"), "/admin");
    assert_eq!(
        canon("/a/....//....//etc/passwd"),
        "/a/..../..../etc/passwd"
    );
    assert_eq!(canon("/..%2f..%2f..%2fetc/passwd"), "/etc/passwd");
    // As a value (relative), the traversal stays visible.
    assert_eq!(canon("..%2f..%2fetc%2fpasswd"), "../../etc/passwd");
}

#[test]
fn transform_chains_borrow_until_a_step_changes() {
    let chain = [
        Transform::UrlDecode,
        Transform::Lowercase,
        Transform::ReplaceComments,
    ];
    assert!(borrowed!(Transform::apply_chain(&chain, "plain")));
    assert_eq!(Transform::apply_chain(&chain, "UN%2F**%2FION"), "un ion");
    assert_eq!(Transform::UrlDecodeUni.apply("%u0041"), "A");
    assert_eq!(Transform::HtmlEntityDecode.apply("&lt;"), "<");
    assert_eq!(Transform::JsDecode.apply(r"\x41"), "A");
    assert_eq!(Transform::NormalizePath.apply("/a/../b"), "/b");
}

// ---- robustness -------------------------------------------------------------

type Decoder = fn(&str) -> Cow<'_, str>;

const DECODERS: &[(&str, Decoder)] = &[
    ("percent_decode", url::percent_decode),
    ("percent_u_decode", url::percent_u_decode),
    ("decode_entities", html::decode_entities),
    ("decode_escapes", js::decode_escapes),
    ("replace_comments", comments::replace_comments),
    ("canonicalize", path::canonicalize),
    ("normalize", normalize),
];

/// Prefixes of escapes, cut at every length, alone and followed by more.
const TRUNCATED: &[&str] = &[
    "%",
    "%4",
    "%u",
    "%u1",
    "%u12",
    "%u123",
    "%uD83D",
    "%uD83D%",
    "%uD83D%u",
    "%uD83D%uDE0",
    "&",
    "&#",
    "&#x",
    "&#X1",
    "&l",
    "&lt",
    "&colon",
    "\\",
    "\\x",
    "\\x4",
    "\\u",
    "\\u{",
    "\\u{1",
    "\\u{10FFFF",
    "\\uD83D",
    "\\uD83D\\",
    "\\uD83D\\u",
    "\\3",
    "\\12345",
    "\\\r",
    "/*",
    "/*!",
    "/*!5",
    "/*M",
    "/*M!",
    "*/",
    "<!",
    "<!-",
    "<!--",
    "--",
    "-",
    "#",
    "/.",
    "/..",
    ";",
    "\\..",
    "%c0",
    "%e0%80",
    "%f0%80%80",
];

fn check_all(s: &str) {
    for (name, f) in DECODERS {
        let out = f(s);
        // Output is text (guaranteed by the type) and, where nothing changed, the same text.
        if let Cow::Borrowed(b) = &out {
            assert_eq!(*b, s, "{name} borrowed something else for {s:?}");
        }
    }
}

#[test]
fn truncated_escapes_never_panic() {
    for t in TRUNCATED {
        check_all(t);
        for pad in ["", "a", "\u{e9}", "%", "\\", "&", "/", "\u{1F600}"] {
            check_all(&format!("{t}{pad}"));
            check_all(&format!("{pad}{t}"));
            check_all(&format!("{t}{t}{pad}"));
        }
    }
}

#[test]
fn every_byte_value_never_panics() {
    // Every byte as a percent escape, raw (lossily), and after each escape lead.
    let mut all = String::new();
    for b in 0..=255u8 {
        all.push_str(&format!("%{b:02x}"));
    }
    check_all(&all);
    let raw: Vec<u8> = (0..=255u8).collect();
    let lossy = String::from_utf8_lossy(&raw).into_owned();
    check_all(&lossy);
    for lead in [
        "%", "%u", "&", "&#", "&#x", "\\", "\\u", "\\x", "/*", "<!--", "--",
    ] {
        for c in (0..=0x7fu8)
            .map(char::from)
            .chain(['\u{e9}', '\u{fffd}', '\u{1F600}'])
        {
            check_all(&format!("{lead}{c}"));
            check_all(&format!("{lead}{c}{c}{c}{c}{c}{c}"));
        }
    }
    // Every two-byte overlong candidate through percent decoding.
    for a in 0xC0..=0xFFu8 {
        for b in (0x00..=0xFFu8).step_by(7) {
            check_all(&format!("%{a:02x}%{b:02x}%{b:02x}%{b:02x}"));
        }
    }
}

/// Strings built from pieces that matter to the decoders, glued at random.
fn generated(rng: &mut XorShift) -> String {
    const PIECES: &[&str] = &[
        "%",
        "%2",
        "%25",
        "%2e",
        "%2f",
        "%5c",
        "%c0",
        "%af",
        "%e0",
        "%80",
        "%u",
        "%uD83D",
        "%uDE00",
        "%uff0e",
        "%00",
        "&",
        "&#",
        "&#x",
        "&lt",
        "&lt;",
        "&amp;",
        ";",
        "#",
        "\\",
        "\\x",
        "\\u",
        "\\u{",
        "}",
        "\\0",
        "\\n",
        "\\\\",
        "/",
        "//",
        "/.",
        "..",
        "/*",
        "*/",
        "/*!",
        "<!--",
        "-->",
        "--",
        " ",
        "\t",
        "\n",
        "a",
        "Z",
        "0",
        "9",
        "f",
        "D",
        "é",
        "\u{1F600}",
        "\u{fffd}",
    ];
    let n = rng.below(24);
    let mut s = String::new();
    for _ in 0..n {
        s.push_str(PIECES[rng.below(PIECES.len())]);
    }
    s
}

#[test]
fn generated_strings_hold_the_properties() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for _ in 0..20_000 {
        let s = generated(&mut rng);
        check_all(&s);
        // Canonicalization is idempotent.
        let once = path::canonicalize(&s).into_owned();
        assert_eq!(
            path::canonicalize(&once),
            once.as_str(),
            "canonicalize({s:?})"
        );
        // The canonical form has no `.`/`..` segments except leading ones in a relative path.
        if once.starts_with('/') {
            assert!(
                !once.split('/').any(|seg| seg == "." || seg == ".."),
                "{s:?} -> {once:?}"
            );
            assert!(!once.contains("//") && !once.contains('\\') && !once.contains(';'));
        }
        // Comment replacement leaves no comment openers behind.
        let no_comments = comments::replace_comments(&s);
        assert!(
            !no_comments.contains("/*") && !no_comments.contains("<!--"),
            "{s:?}"
        );
        // Normalization is bounded: never longer than its input (decoding only shrinks,
        // except U+FFFD replacing one invalid byte, at most 3x).
        assert!(normalize(&s).len() <= s.len() * 3, "{s:?}");
        // No decoder outputs NUL via normalize.
        assert!(!normalize(&s).contains('\0'));
    }
}

#[test]
fn percent_decode_round_trips_encoded_text() {
    let mut rng = XorShift(42);
    for _ in 0..2_000 {
        let s = generated(&mut rng);
        let encoded: String = s.bytes().map(|b| format!("%{b:02X}")).collect();
        assert_eq!(url::percent_decode(&encoded), s.as_str());
        let u_encoded: String = s
            .encode_utf16()
            .map(|u| format!("%u{u:04x}"))
            .collect::<String>();
        // Fullwidth forms fold, by design; the generator's pieces contain none.
        assert_eq!(url::percent_u_decode(&u_encoded), s.as_str());
    }
}

/// The ASCII byte loops of the whitespace and shell transforms against their
/// `char` loops, which define them.
#[test]
fn ascii_fast_paths_agree_with_the_char_loops() {
    let pieces = [
        "a", "B", " ", "  ", "\t", "\n", "\r", "\x0b", "\x0c", "\\", "\"", "'", "^", ",", ";", "x",
        "Z", "0", "-", "é", "\u{a0}",
    ];
    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    for _ in 0..20_000 {
        let n = rng.below(10);
        // Mostly ASCII, sometimes not, so both paths run.
        let limit = if rng.below(4) == 0 {
            pieces.len()
        } else {
            pieces.len() - 2
        };
        let s: String = (0..n).map(|_| pieces[rng.below(limit)]).collect();
        assert_eq!(
            super::compress_whitespace(&s),
            super::compress_whitespace_chars(&s),
            "{s:?}"
        );
        assert_eq!(
            super::remove_whitespace(&s),
            super::remove_whitespace_chars(&s),
            "{s:?}"
        );
        assert_eq!(super::cmdline(&s), super::cmdline_chars(&s), "{s:?}");
    }
    assert_eq!(
        super::cmdline("C\"A\"t /ETC/pass'w'd;id"),
        "cat /etc/passwd id"
    );
    assert_eq!(super::compress_whitespace("a \t\n b"), "a b");
    assert_eq!(super::remove_whitespace("s e\tl\ne c t"), "select");
    assert!(matches!(
        super::cmdline("cat /etc/passwd"),
        Cow::Borrowed(_)
    ));
}
