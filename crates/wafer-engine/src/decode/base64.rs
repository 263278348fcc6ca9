//! Base64, where it is plausible: values that look like base64 and decode to
//! printable text are inspected a second time, decoded, because applications
//! decode such parameters (state blobs, "data" fields) and attackers know it.
//!
//! "Plausible" is strict, so the common base64 values (session ids, tokens,
//! hashes) cost one scan and no decoding: at least 16 characters, all in the
//! base64 alphabets, and the result must be UTF-8 text that is almost all
//! printable and contains something other than letters and digits (text with
//! no punctuation cannot carry an injection).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

const MIN_LEN: usize = 16;
const MAX_LEN: usize = 64 * 1024;

const LENIENT: GeneralPurposeConfig = GeneralPurposeConfig::new()
    .with_decode_padding_mode(DecodePaddingMode::Indifferent)
    .with_decode_allow_trailing_bits(true);
const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, LENIENT);
const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, LENIENT);

/// The decoded text, if `value` is plausibly base64-encoded text.
pub fn plausible_text(value: &str) -> Option<String> {
    let v = value.trim();
    if !(MIN_LEN..=MAX_LEN).contains(&v.len()) {
        return None;
    }
    let (mut std_only, mut url_only) = (false, false);
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'=' => {}
            b'+' | b'/' => std_only = true,
            b'-' | b'_' => url_only = true,
            _ => return None,
        }
    }
    if std_only && url_only {
        return None;
    }
    let body = v.trim_end_matches('=');
    if body.len() % 4 == 1 || body.contains('=') {
        return None;
    }
    let engine = if url_only { &URL_SAFE } else { &STANDARD };
    let bytes = engine.decode(body).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || c.is_whitespace())
        .count();
    let punctuated = text.chars().any(|c| !c.is_alphanumeric() && c != ' ');
    (printable * 100 >= text.chars().count() * 95 && punctuated).then_some(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_payloads_are_decoded() {
        // "' UNION SELECT password FROM users--"
        assert_eq!(
            plausible_text("JyBVTklPTiBTRUxFQ1QgcGFzc3dvcmQgRlJPTSB1c2Vycy0t").as_deref(),
            Some("' UNION SELECT password FROM users--")
        );
        // "<script>alert(1)</script>", URL-safe alphabet without padding.
        assert_eq!(
            plausible_text("PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg").as_deref(),
            Some("<script>alert(1)</script>")
        );
    }

    #[test]
    fn ordinary_tokens_are_left_alone() {
        for v in [
            "3f9a0c2b7d1e4f5a6b7c8d9e0f1a2b3c", // hex id: decodes to binary
            "dGhpc2lzcGxhaW50ZXh0",             // "thisisplaintext": no punctuation
            "short",
            "hello world, not base64",
            "GA1.2.1234567890.1700000000",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2ln",
            "",
        ] {
            assert_eq!(plausible_text(v), None, "{v}");
        }
    }
}
