//! What a model is trained on: requests taken as normal, from JSON-lines
//! corpora ([`crate::corpus`]; lines labelled `attack` are
//! left out), from nginx/Apache combined access logs, or from the event store
//! (allowed requests kept by "record all").

use std::io::BufRead;
use std::path::{Path, PathBuf};

use wafer_engine::Request;

use crate::corpus::{Case, build_request};

/// A file that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("opening {}", .path.display())]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// How many lines went where.
#[derive(Debug, Default)]
pub struct ReadReport {
    pub lines: usize,
    pub used: usize,
    /// Labelled attacks, or log lines answered with an error status.
    pub skipped: usize,
    /// Lines that were neither JSON nor a combined log line.
    pub unreadable: usize,
}

/// Reads one file, guessing its kind from its first line.
pub fn read_file(
    path: &Path,
    out: &mut Vec<Request>,
    report: &mut ReadReport,
) -> Result<(), SourceError> {
    let file = std::fs::File::open(path).map_err(|source| SourceError::Open {
        path: path.to_owned(),
        source,
    })?;
    let mut json = None;
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|source| SourceError::Read {
            path: path.to_owned(),
            source,
        })?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        report.lines += 1;
        let is_json = *json.get_or_insert(line.starts_with('{'));
        let req = if is_json {
            corpus_line(line)
        } else {
            access_log_line(line)
        };
        match req {
            Line::Normal(r) => {
                out.push(*r);
                report.used += 1;
            }
            Line::Skipped => report.skipped += 1,
            Line::Unreadable => report.unreadable += 1,
        }
    }
    Ok(())
}

enum Line {
    Normal(Box<Request>),
    Skipped,
    Unreadable,
}

fn corpus_line(line: &str) -> Line {
    let Ok(case) = serde_json::from_str::<Case>(line) else {
        return Line::Unreadable;
    };
    if case.label.as_deref() == Some("attack") {
        return Line::Skipped;
    }
    match build_request(&case) {
        Ok(r) => Line::Normal(Box::new(r)),
        Err(_) => Line::Unreadable,
    }
}

/// `1.2.3.4 - user [01/Dec/2026:10:00:00 +0000] "GET /p?q=1 HTTP/1.1" 200 512 "ref" "ua"`.
/// Only the request line, status, referer and user agent are used; requests
/// answered 4xx/5xx are left out (probes and errors are not normal traffic).
fn access_log_line(line: &str) -> Line {
    let quoted: Vec<&str> = line.split('"').collect();
    // [prefix, request, status+size, referer, " ", user agent, ...]
    if quoted.len() < 3 {
        return Line::Unreadable;
    }
    let mut request = quoted[1].split(' ');
    let (Some(method), Some(target)) = (request.next(), request.next()) else {
        return Line::Unreadable;
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || !target.starts_with('/')
    {
        return Line::Unreadable;
    }
    let status: Option<u16> = quoted[2]
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok());
    match status {
        Some(s) if s >= 400 => return Line::Skipped,
        Some(_) => {}
        None => return Line::Unreadable,
    }
    let mut req = Request::new(method, target).header("Host", "localhost");
    if let Some(r) = quoted.get(3).filter(|r| !r.is_empty() && **r != "-") {
        req = req.header("Referer", r);
    }
    if let Some(ua) = quoted.get(5).filter(|u| !u.is_empty() && **u != "-") {
        req = req.header("User-Agent", ua);
    }
    Line::Normal(Box::new(req))
}

/// A stored event as the request it was (no body: events keep none).
pub fn from_event(ev: &crate::events::Event) -> Request {
    let target = if ev.query.is_empty() {
        ev.path.clone()
    } else {
        format!("{}?{}", ev.path, ev.query)
    };
    let mut req = Request::new(&ev.method, &target);
    if ev.headers.is_empty() {
        req = req
            .header("Host", &ev.host)
            .header("User-Agent", &ev.user_agent);
    }
    for (k, v) in &ev.headers {
        req.headers.push((k.clone(), v.clone()));
    }
    req
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combined_log_lines_become_requests() {
        let ok = r#"203.0.113.9 - - [01/Dec/2026:10:00:00 +0000] "GET /shop/item?id=7 HTTP/1.1" 200 512 "https://a.example/" "Mozilla/5.0 (X11)""#;
        let Line::Normal(r) = access_log_line(ok) else {
            panic!("not read")
        };
        assert_eq!(
            (r.method.as_str(), r.target.as_str()),
            ("GET", "/shop/item?id=7")
        );
        assert_eq!(r.header_value("user-agent"), Some("Mozilla/5.0 (X11)"));
        assert_eq!(r.header_value("referer"), Some("https://a.example/"));
        let probe = r#"198.51.100.1 - - [01/Dec/2026:10:00:01 +0000] "GET /wp-login.php HTTP/1.1" 404 0 "-" "curl""#;
        assert!(matches!(access_log_line(probe), Line::Skipped));
        for junk in [
            "",
            "hello",
            r#"x "GET" 200"#,
            r#"x "get /a HTTP/1.1" 200 1 "-" "-""#,
            r#"x "GET /a HTTP/1.1" abc"#,
        ] {
            assert!(matches!(access_log_line(junk), Line::Unreadable), "{junk}");
        }
    }

    #[test]
    fn corpus_attacks_are_left_out() {
        let benign =
            r#"{"method":"GET","uri":"/a?b=1","headers":[["User-Agent","x"]],"label":"benign"}"#;
        let attack = r#"{"method":"GET","uri":"/a?b=1'--","label":"attack","class":"sqli"}"#;
        assert!(matches!(corpus_line(benign), Line::Normal(_)));
        assert!(matches!(corpus_line(attack), Line::Skipped));
        assert!(matches!(corpus_line("{nope"), Line::Unreadable));
    }
}
