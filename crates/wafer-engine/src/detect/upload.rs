//! Server-side script hidden in a file upload declared as binary.
//!
//! **Inspects:** the raw multipart body's file parts that are binary by their
//! declared type or by their content (the parser skips the content of the
//! latter), and binary bodies and windows of them.
//! **Finds:** a PHP, JSP or ASP opening tag inside such a part: the classic
//! "shell.png" that is a script to the server once it is stored under the web
//! root or included. Real image and archive data do not contain these tokens
//! (each is five or more specific bytes; the short `<?=` only counts before a
//! variable or a call), so this holds at paranoia 1.

use super::Hit;
use crate::body::sniff::is_binary;
use crate::body::{self, BodyKind};
use crate::request::{Location, Part};
use memchr::memmem;
use regex::bytes::Regex;
use std::sync::OnceLock;

super::detector_rules! {
    Php;
    SCRIPT_IN_BINARY_UPLOAD = 1601, Critical, 1, "server-side script (PHP / JSP / ASP tag) inside a file upload declared binary";
}

/// How much of a file part is searched: scripts prepended to or appended
/// after image data sit near either end, and this bounds the work.
const SCAN_BYTES: usize = 64 * 1024;

fn script_tag() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i-u)<\?php(?:\s|$)|<\?=\s*(?:\$[a-z_]|[a-z_]\w*\s*\()|<%@\s*(?:page|include|taglib|language)\b|<jsp:(?:scriptlet|declaration|expression)\b|<script\s+(?:language\s*=\s*['\x22]?php|runat\s*=)",
        )
        .expect("static pattern")
    })
}

/// Checks every binary-typed file part of a multipart body.
pub fn check_multipart(content_type: Option<&str>, raw: &[u8], out: &mut Vec<Hit>) {
    let Some(ct) = content_type else { return };
    if body::kind_of(Some(ct)) != BodyKind::Multipart {
        return;
    }
    let Some(boundary) = body::multipart_boundary(ct).filter(|b| !b.is_empty()) else {
        return;
    };
    let delimiter = format!("--{boundary}");
    let delimiter = delimiter.as_bytes();
    for at in memmem::find_iter(raw, delimiter) {
        let part = part_at(raw, at + delimiter.len(), delimiter);
        if let Some(tag) = binary_file_content(part).and_then(find_script) {
            out.push(Hit {
                rule: SCRIPT_IN_BINARY_UPLOAD,
                location: Location::new(Part::Body, None),
                // The value is the script tag found: all of it matched.
                value: String::from_utf8_lossy(tag).into_owned(),
                span: None,
                detail: None,
                weak: false,
            });
            return;
        }
    }
}

/// Checks binary content (a body, or a window of one) for script tags.
pub fn check_binary(content: &[u8], out: &mut Vec<Hit>) {
    if let Some(tag) = find_script(content) {
        out.push(Hit {
            rule: SCRIPT_IN_BINARY_UPLOAD,
            location: Location::new(Part::Body, None),
            value: String::from_utf8_lossy(tag).into_owned(),
            span: None,
            detail: None,
            weak: false,
        });
    }
}

/// A script tag near the start or the end of a file's content.
fn find_script(content: &[u8]) -> Option<&[u8]> {
    let head = &content[..content.len().min(SCAN_BYTES)];
    let tail = &content[content.len().saturating_sub(SCAN_BYTES)..];
    script_tag()
        .find(head)
        .or_else(|| script_tag().find(tail))
        .map(|m| m.as_bytes())
}

/// The bytes from `start` to the next delimiter (or the end).
fn part_at<'a>(raw: &'a [u8], start: usize, delimiter: &[u8]) -> &'a [u8] {
    let rest = raw.get(start..).unwrap_or(&[]);
    let end = memmem::find(rest, delimiter).unwrap_or(rest.len());
    &rest[..end]
}

/// The content of a part that names a file and is binary, by its declared
/// type or by its content; `None` for anything else.
fn binary_file_content(part: &[u8]) -> Option<&[u8]> {
    let (head_end, sep) = memmem::find(part, b"\r\n\r\n")
        .map(|i| (i, 4))
        .or_else(|| memmem::find(part, b"\n\n").map(|i| (i, 2)))?;
    let head = String::from_utf8_lossy(&part[..head_end]).to_ascii_lowercase();
    let content = &part[head_end + sep..];
    let declared_binary = head.lines().any(|line| {
        line.trim_start()
            .strip_prefix("content-type:")
            .is_some_and(|v| body::kind_of(Some(v.trim())) == BodyKind::Opaque)
    });
    let binary = declared_binary || is_binary(content);
    (head.contains("filename") && binary).then_some(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(ct: &str, body: &str) -> Vec<u32> {
        let mut out = Vec::new();
        check_multipart(Some(ct), body.as_bytes(), &mut out);
        out.iter().map(|h| h.rule).collect()
    }

    const CT: &str = "multipart/form-data; boundary=XyZ";

    fn file_part(ct: &str, content: &str) -> String {
        format!(
            "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: {ct}\r\n\r\n{content}\r\n--XyZ--\r\n"
        )
    }

    #[test]
    fn php_in_an_image_part_is_found() {
        let body = file_part("image/png", "\u{89}PNG\r\n\r\n<?php\r\nsystem($_GET[c]);");
        assert_eq!(ids(CT, &body), vec![SCRIPT_IN_BINARY_UPLOAD]);
        let body = file_part("image/gif", "GIF89a<%@ page import=\"java.io.*\" %>");
        assert_eq!(ids(CT, &body), vec![SCRIPT_IN_BINARY_UPLOAD]);
        let body = file_part("image/gif", "GIF89a<?=`$_GET[0]`?><?= system('id') ?>");
        assert_eq!(ids(CT, &body), vec![SCRIPT_IN_BINARY_UPLOAD]);
    }

    #[test]
    fn plain_images_and_xml_metadata_are_not() {
        // XMP metadata in JPEGs carries a processing instruction, not PHP.
        let body = file_part(
            "image/jpeg",
            "\u{ff}\u{d8}<?xpacket begin='' id='W5M0'?><%><?=x7",
        );
        assert!(ids(CT, &body).is_empty());
        // A text part is the rules' business, not this check's.
        let body = file_part("text/plain", "<?php echo 1;");
        assert!(ids(CT, &body).is_empty());
        // No boundary, not multipart, or truncated headers: nothing, no panic.
        assert!(ids("multipart/form-data", "<?php system(1);").is_empty());
        assert!(ids("text/plain", "<?php system(1);").is_empty());
        assert!(ids(CT, "--XyZ\r\nContent-Type: image/png").is_empty());
    }
}
