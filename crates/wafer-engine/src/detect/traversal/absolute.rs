//! An argument whose whole value is an absolute filesystem path: the
//! application is being asked to open that file, no `../` needed (attack
//! tools read `/etc/services` or the app's own source this way). Weighed by
//! where the path points and by the parameter's name: a path under `/etc`
//! or `C:\Windows` is evidence in any argument, one under `/home` or `/usr`
//! (which web routes also use) only in a file-like parameter or when it
//! names a source, config or log file.

/// How strongly a value reads as a file path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Strength {
    /// Paranoia 1.
    Strong,
    /// Paranoia 2: a path shape a route or a label could also have.
    Weak,
}

/// Top directories only a filesystem has.
const SYSTEM: &[&str] = &[
    "etc", "proc", "sys", "boot", "root", "dev", "bin", "sbin", "lib", "lib64",
];
/// Filesystem locations web routes rarely imitate.
const FS_ONLY: &[&str] = &["var", "opt", "srv", "tmp", "mnt"];
/// Locations that are also common route prefixes (`/home`, `/usr/...`).
const SHARED: &[&str] = &["home", "usr", "users", "private"];
/// Under `/var` and `/usr`, places as telling as `/etc`.
const SYSTEM_SUBDIRS: &[&str] = &[
    "var/log",
    "var/lib",
    "var/spool",
    "var/mail",
    "var/run",
    "var/backups",
    "var/cache",
    "var/db",
    "usr/local/etc",
];
/// Windows top directories that are system or server locations.
const WINDOWS_DIRS: &[&str] = &[
    "windows",
    "winnt",
    "inetpub",
    "users",
    "program files",
    "programdata",
    "documents and settings",
    "xampp",
    "wamp",
    "boot.ini",
];
/// Extensions of files an app reads itself: source, config, logs, keys, data.
const FILE_EXTS: &[&str] = &[
    "php",
    "py",
    "rb",
    "pl",
    "jsp",
    "asp",
    "aspx",
    "js",
    "ts",
    "java",
    "go",
    "conf",
    "cfg",
    "cnf",
    "ini",
    "log",
    "env",
    "yml",
    "yaml",
    "xml",
    "json",
    "toml",
    "properties",
    "sh",
    "sql",
    "db",
    "sqlite",
    "key",
    "pem",
    "inc",
    "bak",
    "config",
    "txt",
    "htaccess",
];

/// Is this argument name one that carries a file (`file`, `path`, `page`, `tpl`...)?
pub(super) fn fileish_name(name: &str) -> bool {
    const SHORT: &[&str] = &[
        "f", "p", "fn", "pg", "inc", "tpl", "src", "dir", "doc", "cat", "lang", "view", "show",
        "read", "load", "name", "conf", "log",
    ];
    const PARTS: &[&str] = &[
        "file",
        "path",
        "page",
        "templ",
        "include",
        "document",
        "folder",
        "directory",
        "resource",
        "source",
        "locale",
        "layout",
        "module",
        "config",
        "download",
        "attach",
        "style",
        "theme",
        "skin",
    ];
    // A JSON key path: the last key.
    let name = name
        .rsplit(['.', '[', ']'])
        .find(|s| !s.is_empty())
        .unwrap_or(name);
    let lower = name.to_ascii_lowercase();
    SHORT.contains(&lower.as_str()) || PARTS.iter().any(|p| lower.contains(p))
}

/// The value, trimmed, when it is one absolute path: how strong, and a
/// description of where it points.
pub(super) fn judge(value: &str, name: Option<&str>) -> Option<(Strength, String)> {
    let v = value.trim();
    let fileish = name.is_some_and(fileish_name);
    if v.len() < 4 || v.contains(['\n', '#', '&', '=', '<', '>', '"', '\'']) {
        return None;
    }
    let b = v.as_bytes();
    if b[0] == b'/' {
        return unix(v, fileish);
    }
    if b[0].is_ascii_alphabetic() && b[1] == b':' && matches!(b[2], b'\\' | b'/') {
        return windows(&v[3..], fileish).map(|s| (s, format!("Windows path {}", &v[..2])));
    }
    if v.starts_with("\\\\") && b[2].is_ascii_alphanumeric() {
        let segs = v[2..].split(['\\', '/']).filter(|s| !s.is_empty()).count();
        // A share on another host: reading it leaks credentials (NTLM) even
        // when the file is harmless.
        return (segs >= 2).then(|| (Strength::Strong, "UNC share path".to_owned()));
    }
    None
}

fn strength(strong: bool) -> Strength {
    if strong {
        Strength::Strong
    } else {
        Strength::Weak
    }
}

fn last_segment(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn has_file_ext(path: &str) -> bool {
    match last_segment(path).rsplit_once('.') {
        // A dot file (`.env`, `.profile`), or a listed extension.
        Some(("", rest)) => !rest.is_empty(),
        Some((_, ext)) => FILE_EXTS.iter().any(|e| ext.eq_ignore_ascii_case(e)),
        None => false,
    }
}

fn unix(v: &str, fileish: bool) -> Option<(Strength, String)> {
    if v.contains(char::is_whitespace) || v.contains("//") || v.contains(':') {
        return None;
    }
    let rest = v.trim_start_matches('/');
    let mut segs = rest.split('/').filter(|s| !s.is_empty());
    let top = segs.next()?.to_ascii_lowercase();
    let below = segs.count();
    let lower = rest.to_ascii_lowercase();
    let system = SYSTEM.contains(&top.as_str())
        || SYSTEM_SUBDIRS
            .iter()
            .any(|d| lower.starts_with(d) && lower[d.len()..].starts_with('/'));
    // `/etc` alone, and shell globs (`/etc/pa??wd`), only under system roots;
    // elsewhere `?` starts a route's query.
    if !system && (below == 0 || v.contains(['?', '*'])) {
        return None;
    }
    let ext = has_file_ext(v);
    let s = if system {
        Strength::Strong
    } else if FS_ONLY.contains(&top.as_str()) {
        // A document (`intro.md`, `logo.png`) under /srv is content an app
        // may serve by path; source, config, logs and bare names are not.
        let document = !ext && last_segment(v).contains('.');
        strength((fileish && !document) || (below >= 2 && ext))
    } else if SHARED.contains(&top.as_str()) {
        // `LOCATION_PATHNAME: /home/dashboard/x` is a route: only a file
        // name (`.env`, `main.py`) makes it a file, whatever the parameter.
        strength(below >= 2 && ext)
    } else {
        return None;
    };
    Some((s, format!("absolute path into /{top}")))
}

fn windows(rest: &str, fileish: bool) -> Option<Strength> {
    let rest = rest.trim_start_matches(['\\', '/']);
    let top = rest.split(['\\', '/']).next()?.to_ascii_lowercase();
    if top.is_empty() {
        return None;
    }
    let system = WINDOWS_DIRS.contains(&top.as_str());
    // As under `/opt` or `/tmp`: outside the system's directories a path is
    // a file read only in a file-like parameter, or when it names a file two
    // levels down (`C:\new\report.txt` in `state` may be a label).
    let below = rest.split(['\\', '/']).filter(|s| !s.is_empty()).count() - 1;
    Some(strength(
        system || fileish || (below >= 2 && has_file_ext(rest)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighs_paths_by_place_and_name() {
        let s = |v: &str, n: &str| judge(v, Some(n)).map(|(s, _)| s);
        assert_eq!(s("/etc/services", "q"), Some(Strength::Strong));
        assert_eq!(s("/var/log/syslog", "x"), Some(Strength::Strong));
        assert_eq!(s("/tmp/sess_1", "file"), Some(Strength::Strong));
        assert_eq!(s("/tmp/sess_1", "id"), Some(Strength::Weak));
        assert_eq!(s("/srv/site/docs/intro.md", "file"), Some(Strength::Weak));
        assert_eq!(
            s("/srv/site/app/config.php", "file"),
            Some(Strength::Strong)
        );
        assert_eq!(s("/home/dashboard", "next"), Some(Strength::Weak));
        assert_eq!(s("/home/dashboard", "path"), Some(Strength::Weak));
        assert_eq!(
            s("/home/dashboard/Products", "pathname"),
            Some(Strength::Weak)
        );
        assert_eq!(s("/etc", "x"), Some(Strength::Strong));
        assert_eq!(s("/bin/c?t", "x"), Some(Strength::Strong));
        assert_eq!(s("/home/u/app/.env", "next"), Some(Strength::Strong));
        assert_eq!(s("c:\\windows\\win.ini", "x"), Some(Strength::Strong));
        assert_eq!(s("C:\\new\\report.txt", "state"), Some(Strength::Weak));
        assert_eq!(s("C:\\new\\report.txt", "file"), Some(Strength::Strong));
        assert_eq!(
            s("D:\\site\\app\\web.config.php", "q"),
            Some(Strength::Strong)
        );
        assert_eq!(s("\\\\srv\\share\\a.doc", "x"), Some(Strength::Strong));
        for (v, n) in [
            ("/products/shoes", "path"),
            ("/home", "next"),
            ("see /etc/hosts", "q"),
            ("/account?x=1", "next"),
            ("//cdn.example/a.js", "src"),
            ("16:9", "ratio"),
        ] {
            assert_eq!(s(v, n), None, "{v}");
        }
        assert!(fileish_name("data.attachment"));
        assert!(!fileish_name("next"));
    }
}
