//! What a body *is*, whatever its `Content-Type` claims.
//!
//! Many frameworks parse a body by its content or ignore the declared type
//! (PHP reads `php://input`, Express's parsers can be told to take any type,
//! gRPC-web gateways decode what they get), so a body declared binary is
//! not evidence that no back end reads it as a form. The engine therefore
//! decides by content for every body whose declared type it would not parse
//! itself: only content that looks like real binary data (a known file
//! signature, or NULs and control bytes) is treated as binary.

/// What a body's first bytes look like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sniffed {
    UrlEncoded,
    Json,
    Xml,
    Text,
    Binary,
}

/// How much of the body the decision reads.
pub const SNIFF_BYTES: usize = 4096;

/// File signatures of binary formats uploads and APIs commonly carry.
const MAGIC: &[&[u8]] = &[
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"GIF87a",
    b"GIF89a",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"BZh",
    b"\xfd7zXZ\x00",
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!\x1a\x07",
    b"\x28\xb5\x2f\xfd",
    b"%PDF-",
    b"RIFF",
    b"\x00asm",
    b"\x7fELF",
    b"OggS",
    b"fLaC",
    b"ID3",
    b"wOFF",
    b"wOF2",
    b"II*\x00",
    b"MM\x00*",
];

/// Classifies `head` (the first [`SNIFF_BYTES`] of a body, or all of it).
pub fn sniff(head: &[u8]) -> Sniffed {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if MAGIC.iter().any(|m| head.starts_with(m)) || is_iso_media(head) || looks_binary(head) {
        return Sniffed::Binary;
    }
    let trimmed = head.trim_ascii_start();
    match trimmed.first() {
        Some(b'{' | b'[') => Sniffed::Json,
        Some(b'<') => Sniffed::Xml,
        Some(_) if looks_like_form(trimmed) => Sniffed::UrlEncoded,
        _ => Sniffed::Text,
    }
}

/// MP4, MOV, HEIC, AVIF: a size then `ftyp`.
fn is_iso_media(head: &[u8]) -> bool {
    head.get(4..8) == Some(b"ftyp")
}

/// NUL bytes, or more than a tenth of control bytes and invalid UTF-8.
pub fn looks_binary(bytes: &[u8]) -> bool {
    if memchr::memchr(0, bytes).is_some() {
        return true;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut total = 0usize;
    let mut odd = 0usize;
    for c in text.chars() {
        total += 1;
        if c == '\u{FFFD}' || (c.is_control() && !c.is_whitespace()) {
            odd += 1;
        }
    }
    // The last char may be a sequence cut by the sniff window, not a bad byte.
    odd = odd.saturating_sub(usize::from(text.ends_with('\u{FFFD}')));
    odd * 10 > total
}

/// `name=value` first, the way a form or query string starts: a short name
/// of URL-safe characters, then `=`.
fn looks_like_form(b: &[u8]) -> bool {
    let name_len = b
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || b"_.-[]%+*$:@".contains(&c))
        .count();
    (1..=256).contains(&name_len) && b.get(name_len) == Some(&b'=')
}

/// Binary framings whose fields are the application's strings in the clear
/// (gRPC, protobuf): their printable runs are inspected. Other binary
/// content (images, archives, fonts, executables, catalogues) is searched for
/// server-side script tags only: its printable runs are noise that reads like
/// anything (a test over 700 system files blocked 11 % of them).
pub fn carries_text_fields(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return false;
    };
    let ct = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ct.starts_with("application/grpc")
        || ct.ends_with("protobuf")
        || ct.ends_with("+proto")
        || ct == "application/x-google-protobuf"
}

/// The runs of at least `min` printable characters in binary data, one per
/// line (what `strings` prints): the text that protobuf, gRPC and other
/// binary framings carry in the clear. At most `max` bytes are returned.
pub fn printable_runs(bytes: &[u8], min: usize, max: usize) -> String {
    let mut out = String::new();
    let mut start = None;
    let printable = |c: u8| (0x20..0x7f).contains(&c) || c == b'\t';
    for (i, &c) in bytes
        .iter()
        .enumerate()
        .chain(std::iter::once((bytes.len(), &0)))
    {
        let p = i < bytes.len() && printable(c);
        match (p, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                if i - s >= min {
                    if out.len() + (i - s) + 1 > max {
                        break;
                    }
                    // Printable ASCII is UTF-8.
                    out.push_str(std::str::from_utf8(&bytes[s..i]).unwrap_or(""));
                    out.push('\n');
                }
                start = None;
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides() {
        assert_eq!(sniff(b"q=%27+UNION+SELECT+1--&x=2"), Sniffed::UrlEncoded);
        assert_eq!(
            sniff(b"q=' UNION SELECT password FROM users--"),
            Sniffed::UrlEncoded
        );
        assert_eq!(sniff(b"  {\"a\": 1}"), Sniffed::Json);
        assert_eq!(sniff(b"[1,2]"), Sniffed::Json);
        assert_eq!(sniff(b"<?xml version=\"1.0\"?><a/>"), Sniffed::Xml);
        assert_eq!(sniff(b"hello world, how are you"), Sniffed::Text);
        assert_eq!(sniff(b"a b=c"), Sniffed::Text);
        assert_eq!(sniff(b""), Sniffed::Text);
    }

    #[test]
    fn binary_by_signature_or_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nq=1"), Sniffed::Binary);
        assert_eq!(sniff(b"\x1f\x8b\x08\x00q=1"), Sniffed::Binary);
        assert_eq!(sniff(b"\x00\x00\x00\x18ftypmp42"), Sniffed::Binary);
        assert_eq!(sniff(b"q=1\x00"), Sniffed::Binary);
        let noise: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert_eq!(sniff(&noise), Sniffed::Binary);
        // A UTF-8 sequence cut at the end of the window is not binary.
        let mut text = "é".repeat(100).into_bytes();
        text.pop();
        assert_eq!(sniff(&text), Sniffed::Text);
    }

    #[test]
    fn only_grpc_and_protobuf_count_as_text_carriers() {
        for ct in [
            "application/grpc",
            "application/grpc+proto",
            "application/grpc-web+proto",
            "application/x-protobuf; messageType=x",
            "application/protobuf",
        ] {
            assert!(carries_text_fields(Some(ct)), "{ct}");
        }
        for ct in ["application/octet-stream", "image/png", "application/zip"] {
            assert!(!carries_text_fields(Some(ct)), "{ct}");
        }
        assert!(!carries_text_fields(None));
    }

    #[test]
    fn strings_of_a_protobuf_like_message() {
        let msg = b"\x0a\x01\x02q=' UNION SELECT password FROM users--\x10\x01\x1a\x02ab";
        let s = printable_runs(msg, 6, 1 << 20);
        assert_eq!(s, "q=' UNION SELECT password FROM users--\n");
        assert_eq!(printable_runs(b"abcdefgh", 6, 1 << 20), "abcdefgh\n");
        assert_eq!(printable_runs(b"abcdefgh\x00abcdefgh", 6, 12), "abcdefgh\n");
    }
}
