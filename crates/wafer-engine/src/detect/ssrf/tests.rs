use super::*;

fn rules_in(part: Part, name: Option<&str>, v: &str) -> Vec<u32> {
    crate::detect::testing::rule_ids(check, part, name, v)
}

fn rules(v: &str) -> Vec<u32> {
    rules_in(Part::QueryArg, Some("url"), v)
}

fn blocks(v: &str) -> bool {
    crate::detect::testing::any_at_level_1(&rules(v))
}

#[test]
fn metadata_and_loopback() {
    for v in [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://100.100.100.200/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://localhost/admin",
        "http://127.0.0.1:8080/",
        "http://127.1/",
        "http://0.0.0.0/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:a9fe:a9fe]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://0x7f000001/",
        "http://017700000001/",
        "http://7147006462/",
        "http://0251.00376.000251.0000376/",
        "http://169.254.43518/",
        "http://169.16689662/",
        "http://good.example@127.0.0.1/",
        "http://google.com:80 &@127.88.23.245:22/# @google.com:80/",
        "http://127.0.0.1.nip.io/",
        "http://10-0-0-1.sslip.io/",
        "http://169\u{3002}254\u{3002}169\u{3002}254/",
        "acap://\u{2460}\u{2461}\u{2466}.\u{24EA}.\u{24EA}.\u{2460}",
        "irc://\u{24DB}\u{24DE}\u{24D2}\u{24D0}\u{24DB}\u{24D7}\u{24DE}\u{24E2}\u{24E3}",
        "http://\\l\\o\\c\\a\\l\\h\\o\\s\\t/",
        "ssh://0177.00.00.01",
        "http:127.0.0.1",
        "http:[::ffff:a9fe:a9fe]",
        "http://[fe80::1%25zone1]",
        "host.docker.internal/",
        "kubernetes.default.svc.cluster.local/",
        "localhost4.localdomain4/",
        "gopher://127.0.0.1:6379/_FLUSHALL",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
}

#[test]
fn schemes_and_rfi() {
    for v in [
        "gopher://evil.example/_x",
        "dict://evil.example:11211/stat",
        "ldap://evil.example/a",
        "jar:http://evil.co/b.zip!a",
        "netdoc:/etc/passwd",
        "local_file://something",
        "data:text/plain",
        "data:application/x-httpd-php;base64,PD9w",
        "http://203.0.113.7/shell.txt",
        "https://2001:41d0:701:1100::29c8/gecko.php",
        "http://evil.example/shell.txt?",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    // Paranoia 2: a plainly written private address; any URL in an argument.
    assert_eq!(
        rules("http://10.0.0.5/hook"),
        vec![PRIVATE_URL, RFI_ANY_URL]
    );
    assert_eq!(rules("https://shop.example/thanks"), vec![RFI_ANY_URL]);
}

#[test]
fn ordinary_values_stay_quiet() {
    for v in [
        "https://shop.example/thanks",
        "https://shop.example/checkout?step=2&next=/thanks",
        "/account/settings",
        "https://cdn.example.com/img/a.png",
        "data:image/png;base64,iVBORw0KGgo=",
        "mailto:a@b.example",
        "tel:+15551234",
        "12:30",
        "localhost",
        "mylocalhost",
        "2852039166",
        "[::ffff:a9fe:a9fe]",
        "169.16689662",
        "example.com/",
        "urn:isbn:0451450523",
        "https://user:pass@example.com/",
        "https://example.com:8443/a",
        "http://www.example.com/some/path",
        "note: http is fine",
    ] {
        assert!(!blocks(v), "{v:?} -> {:?}", rules(v));
    }
    // Development Referer and Origin headers.
    for (h, v) in [
        ("referer", "http://localhost:3000/app"),
        ("origin", "http://127.0.0.1:8080"),
        ("referer", "https://shop.example/cart"),
    ] {
        assert!(rules_in(Part::Header, Some(h), v).is_empty(), "{h}: {v}");
    }
    // ... but metadata is never a header's business.
    assert!(!rules_in(Part::Header, Some("x-callback"), "http://169.254.169.254/").is_empty());
    // Image URLs in JSON bodies.
    assert!(
        rules_in(
            Part::BodyArg,
            Some("items.0.image"),
            "https://img.example.com/p/1.jpg"
        )
        .iter()
        .all(|&r| r == RFI_ANY_URL)
    );
}

#[test]
fn ipv4_forms() {
    assert_eq!(host::parse_v4(b"127.0.0.1"), Some((0x7f00_0001, true)));
    assert_eq!(host::parse_v4(b"127.1"), Some((0x7f00_0001, false)));
    assert_eq!(host::parse_v4(b"0x7f.1"), Some((0x7f00_0001, false)));
    assert_eq!(host::parse_v4(b"2130706433"), Some((0x7f00_0001, false)));
    assert_eq!(host::parse_v4(b"256.1.1.1"), None);
    assert_eq!(host::parse_v4(b"1.2.3"), Some((0x0102_0003, false)));
    assert_eq!(host::parse_v4(b"example"), None);
    assert_eq!(host::parse_v4(b"8080"), None);
}

#[test]
fn bounded() {
    let v = "http://a@".repeat(2000);
    let _ = rules(&v);
    let _ = rules(&"://".repeat(3000));
    let _ = rules(&"é:".repeat(3000));
}

/// The finding shows the URL (or the bare host), not the prose around it.
#[test]
fn matched_is_the_url() {
    let m = |v: &str| crate::detect::testing::matched(check, Part::BodyArg, Some("u"), v);
    for (v, rule, want) in [
        (
            "see this http://127.0.0.1:8080/admin please",
            INTERNAL_URL,
            "http://127.0.0.1:8080/admin",
        ),
        (
            "fetch 'http://169.254.169.254/latest/meta-data/' now",
            METADATA,
            "http://169.254.169.254/latest/meta-data/",
        ),
        (
            "try gopher://localhost:6379/_INFO ok",
            SMUGGLING_SCHEME,
            "gopher://localhost:6379/_INFO",
        ),
        ("localhost:8080/x", INTERNAL_URL, "localhost"),
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
