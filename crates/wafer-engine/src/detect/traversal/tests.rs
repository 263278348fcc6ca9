use super::*;

fn rules_in(part: Part, v: &str) -> Vec<u32> {
    crate::detect::testing::rule_ids(check, part, Some("f"), v)
}

fn rules(v: &str) -> Vec<u32> {
    rules_in(Part::QueryArg, v)
}

fn blocks_in(part: Part, v: &str) -> bool {
    crate::detect::testing::any_at_level_1(&rules_in(part, v))
}

fn blocks(v: &str) -> bool {
    blocks_in(Part::QueryArg, v)
}

#[test]
fn traversal_to_files() {
    for v in [
        "../../../etc/passwd",
        "..\\..\\windows\\win.ini",
        "....//....//etc/passwd",
        "..;/..;/etc/shadow",
        "x/../../../../proc/self/environ",
        "../../../../etc/passwd.png",
        "..//..//..//boot.ini",
        "../../.ssh/id_rsa",
        "../../app/.env",
    ] {
        let r = rules(v);
        assert!(r.contains(&TRAVERSAL_TO_FILE), "{v:?} -> {r:?}");
    }
}

#[test]
fn traversal_strength() {
    for v in [
        "../../x",
        "..\\pineapple",
        "....//x",
        ".../x",
        "..;.\\.;\\.",
        "a/..;/b",
    ] {
        assert!(blocks(v), "{v:?} -> {:?}", rules(v));
    }
    // One plain `../`: paranoia 2.
    for v in ["../images/a.png", "css/../img/x.png"] {
        assert_eq!(rules(v), vec![TRAVERSAL_ONE], "{v:?}");
    }
    // ... but not in an upload's file name.
    assert!(blocks_in(Part::Filename, "../1.7z"));
    assert!(blocks_in(Part::Path, "/../x"));
    assert!(!blocks_in(Part::Path, "/a/b/../c"));
}

#[test]
fn sensitive_files_alone() {
    for v in [
        "/etc/passwd",
        "/etc/shadow",
        "c:\\windows\\win.ini",
        "/proc/self/cmdline",
        ".env",
        ".git/config",
        "/var/www/.htpasswd",
        "/home/u/.ssh/id_rsa",
        "/path/to/.docker/secrets",
        "/sys/class",
    ] {
        assert!(
            rules(v).contains(&SENSITIVE_FILE),
            "{v:?} -> {:?}",
            rules(v)
        );
    }
    for p in [
        "/.claude/settings.json",
        "/.cursor/mcp.json",
        "/app/.claude/settings.local.json",
        "/.git/HEAD",
        "/.env.production",
        "/wp-config.php",
        "/vulnerabilities/sqli/.git/",
        "/.aiignore",
        "/wp-content/debug.log",
    ] {
        assert!(
            blocks_in(Part::Path, p),
            "{p:?} -> {:?}",
            rules_in(Part::Path, p)
        );
    }
    // Hidden path segments in general: paranoia 2.
    assert_eq!(rules_in(Part::Path, "/.foo/bar"), vec![HIDDEN_PATH]);
    assert!(rules_in(Part::Path, "/.well-known/security.txt").is_empty());
}

#[test]
fn wrappers() {
    for v in [
        "php://filter/convert.base64-encode/resource=index.php",
        "file:///etc/passwd",
        "phar://x.phar/a",
        "zip://shell.jpg#x.php",
        "expect://id",
        "jar:file:/path/to/myApp.jar!/a.txt",
        "x=PHP://input",
    ] {
        assert!(rules(v).contains(&WRAPPER), "{v:?} -> {:?}", rules(v));
    }
    for v in [
        "https://example.com/",
        "profile:/x",
        "myfile://x",
        "see file: /tmp",
    ] {
        assert!(!rules(v).contains(&WRAPPER), "{v:?}");
    }
}

#[test]
fn benign_look_alikes() {
    for v in [
        "wait... what",
        "1.2..3",
        "report..final.pdf",
        "https://shop.example/a/b/c.html",
        "../",
        "..",
        "...",
        "so.../",
        "Loading...",
        "/images/a.png",
        "github.com/x/.github",
        "edit your .env file",
        "/api/v1/users/42",
        "12/05/2024",
        "https://www.example.com/environment",
        "text/html,application/xhtml+xml",
        "/get/..foo",
        "firstname.dockery@host.tld",
        "history.history",
        "/css/style.css",
        "/jquery.history.min.js",
    ] {
        assert!(!blocks(v), "{v:?} -> {:?}", rules(v));
        if v.starts_with('/') {
            assert!(
                !blocks_in(Part::Path, v),
                "path {v:?} -> {:?}",
                rules_in(Part::Path, v)
            );
        }
    }
    // Referer with an ordinary relative link.
    assert!(rules_in(Part::Header, "https://shop.example/docs/guide/index.html").is_empty());
}

#[test]
fn long_values_are_bounded() {
    let v = "../".repeat(10_000) + "etc/passwd";
    let _ = rules(&v);
    let _ = rules(&"\\".repeat(9000));
    let _ = rules(&":".repeat(9000));
}

/// The finding shows the `../` run and the file, placed in the value as
/// written (backslashes and doubled slashes are folded only for judging).
#[test]
fn matched_is_the_climb_and_the_file() {
    let m = |part: Part, v: &str| crate::detect::testing::matched(check, part, Some("f"), v);
    for (part, v, rule, want) in [
        (
            Part::QueryArg,
            "images/../../../../etc/passwd",
            TRAVERSAL_TO_FILE,
            "../../../../etc/passwd",
        ),
        (
            Part::QueryArg,
            "images/../../../../etc/passwd",
            TRAVERSAL,
            "../../../../",
        ),
        (
            Part::QueryArg,
            "images/../../../../etc/passwd",
            SENSITIVE_FILE,
            "etc/passwd",
        ),
        (
            Part::QueryArg,
            "docs\\..\\..\\windows\\win.ini",
            TRAVERSAL_TO_FILE,
            "..\\..\\windows\\win.ini",
        ),
        (Part::QueryArg, "a//b/..//..//x/y", TRAVERSAL, "..//..//"),
        (
            Part::QueryArg,
            "see php://filter/resource=index.php now",
            WRAPPER,
            "php://filter/resource=index.php",
        ),
        (
            Part::Path,
            "/static/.hiddenthing/x",
            HIDDEN_PATH,
            ".hiddenthing",
        ),
        (Part::Path, "/static/.svn/entries", SENSITIVE_FILE, ".svn/"),
    ] {
        let got = m(part, v);
        let text = got
            .iter()
            .find(|(r, _)| *r == rule)
            .map(|(_, t)| t.as_str())
            .unwrap_or_else(|| panic!("{rule} not reported for {v:?}: {got:?}"));
        assert_eq!(text, want, "{rule} in {v:?}");
    }
}
