//! Whether a body is binary data, whatever its `Content-Type` claims.
//!
//! A body declared binary is not evidence that no back end reads it (PHP reads
//! `php://input`, Express's parsers can be told to take any type), and a body
//! declared text can be binary. Content decides what is inspected: real binary
//! data (a known file signature, NULs, control bytes) is noise to the text
//! signatures (its printable runs read like anything), so it gets what a back
//! end could still read out of it: `name=value` pairs a lenient form parser
//! would take, server-side script tags, and the strings of gRPC and protobuf.

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

/// True when `head` (a body's first [`SNIFF_BYTES`], or all of it) is binary data.
pub fn is_binary(head: &[u8]) -> bool {
    let head = &head[..head.len().min(SNIFF_BYTES)];
    has_file_signature(head) || looks_binary(head)
}

/// Starts like a known binary file format (image, archive, font, media...).
pub fn has_file_signature(head: &[u8]) -> bool {
    MAGIC.iter().any(|m| head.starts_with(m)) || is_iso_media(head)
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
    if bytes.is_ascii() {
        odd_tenth_ascii(bytes)
    } else {
        odd_tenth_chars(bytes)
    }
}

/// [`odd_tenth_chars`] by bytes, for ASCII (most bodies): no U+FFFD there,
/// and the controls that are not whitespace are the bytes below a space
/// that are not ASCII white space.
fn odd_tenth_ascii(bytes: &[u8]) -> bool {
    let odd = bytes
        .iter()
        .filter(|&&b| (b < 0x20 && !crate::decode::ascii_space(b)) || b == 0x7f)
        .count();
    odd * 10 > bytes.len()
}

/// More than a tenth of the characters are U+FFFD (invalid UTF-8) or
/// controls that are not white space.
fn odd_tenth_chars(bytes: &[u8]) -> bool {
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

/// The `name=value` pairs a lenient form parser would take out of binary
/// data (percent-decoded), where the name is one a form could have: a short
/// run of letters, digits and `_.-[]`. Binary noise between `&`s has no such
/// names; a pair planted after a file signature or among control bytes does.
/// A value is given as its runs of printable text (split at control bytes
/// and bytes past ASCII), the first always, the others from 4 characters:
/// binary formats end their strings with NUL and catalogues hold URLs whose
/// last parameter runs on into other records, which whole read like header
/// injection; and the bytes after a planted name in image data are noise.
/// (700 system files as raw bodies: 1 % blocked with whole values, 0.14 %
/// line by line, none this way.) An attack split by a control byte is still
/// seen piece by piece.
pub fn embedded_form_args(bytes: &[u8]) -> Vec<(String, String)> {
    const MIN_VALUE_RUN: usize = 4;
    let is_name = |n: &[u8]| {
        (1..=64).contains(&n.len())
            && n.iter()
                .all(|&c| c.is_ascii_alphanumeric() || b"_.-[]".contains(&c))
    };
    let decode = |b: &[u8]| super::urlencoded::form_decode(&String::from_utf8_lossy(b));
    let mut out = Vec::new();
    for piece in bytes.split(|&c| c == b'&') {
        let Some(eq) = memchr::memchr(b'=', piece) else {
            continue;
        };
        let (name, value) = (&piece[..eq], &piece[eq + 1..]);
        if !is_name(name) {
            continue;
        }
        let name = decode(name);
        let printable = |c: &u8| (0x20..0x7f).contains(c) || *c == b'\t';
        for (i, run) in value.split(|c| !printable(c)).enumerate() {
            if i == 0 || run.len() >= MIN_VALUE_RUN {
                out.push((name.clone(), decode(run)));
            }
        }
    }
    out
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
    let ct = super::media_type(ct);
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

    /// The byte path for ASCII input answers as the `char` path does.
    #[test]
    fn ascii_fast_path_agrees_with_the_char_definition() {
        let mut rng = crate::testing::XorShift(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let n = rng.below(64);
            // Mostly text, with a control byte now and then.
            let bytes: Vec<u8> = (0..n)
                .map(|_| match rng.below(8) {
                    0 => rng.below(0x20) as u8,
                    1 => 0x7f,
                    _ => b' ' + rng.below(0x5f) as u8,
                })
                .collect();
            assert_eq!(
                odd_tenth_ascii(&bytes),
                odd_tenth_chars(&bytes),
                "{bytes:?}"
            );
        }
    }

    #[test]
    fn text_of_every_kind_is_not_binary() {
        for t in [
            &b"q=%27+UNION+SELECT+1--&x=2"[..],
            b"q=' UNION SELECT password FROM users--",
            b"  {\"a\": 1}",
            b"<?xml version=\"1.0\"?><a/>",
            b"hello world, how are you",
            b"",
        ] {
            assert!(!is_binary(t), "{}", String::from_utf8_lossy(t));
        }
    }

    #[test]
    fn binary_by_signature_or_bytes() {
        assert!(is_binary(b"\x89PNG\r\n\x1a\nq=1"));
        assert!(is_binary(b"\x1f\x8b\x08\x00q=1"));
        assert!(is_binary(b"\x00\x00\x00\x18ftypmp42"));
        assert!(is_binary(b"q=1\x00"));
        let noise: Vec<u8> = (0..2000u32).map(|i| (i * 7919 % 251) as u8).collect();
        assert!(is_binary(&noise));
        // A UTF-8 sequence cut at the end of the window is not binary.
        let mut text = "é".repeat(100).into_bytes();
        text.pop();
        assert!(!is_binary(&text));
    }

    #[test]
    fn form_pairs_planted_in_binary_data_are_found() {
        let mut b = b"\x89PNG\r\n\x1a\n\x00\x01&q=%27+UNION+SELECT+1--&\x02".to_vec();
        b.extend((0..500u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8 | 0x80));
        b.extend_from_slice(b"&id=7&\xff\xfe=x&=y&a b=z&n=x\x00' OR 1=1\r\n\x01ab\xff");
        assert_eq!(
            embedded_form_args(&b),
            vec![
                ("q".to_owned(), "' UNION SELECT 1--".to_owned()),
                ("id".to_owned(), "7".to_owned()),
                ("n".to_owned(), "x".to_owned()),
                ("n".to_owned(), "' OR 1=1".to_owned()),
            ]
        );
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
