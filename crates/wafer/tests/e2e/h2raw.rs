//! HTTP/2 by hand: prior-knowledge h2c frames written byte by byte, so a test
//! can send what no HTTP/2 library would (connection-specific headers, DATA
//! past the declared length), and the one thing read back: how stream 1 ended.

use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub(crate) const DATA: u8 = 0;
pub(crate) const HEADERS: u8 = 1;
const RST_STREAM: u8 = 3;
const SETTINGS: u8 = 4;
const GOAWAY: u8 = 7;
pub(crate) const END_STREAM: u8 = 0x1;
pub(crate) const END_HEADERS: u8 = 0x4;

pub(crate) fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap();
    let mut f = len.to_be_bytes()[1..].to_vec();
    f.push(kind);
    f.push(flags);
    f.extend_from_slice(&stream.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An HPACK integer with a 7-bit prefix (RFC 7541 §5.1), high bit clear.
fn int7(mut v: usize, out: &mut Vec<u8>) {
    if v < 127 {
        out.push(u8::try_from(v).unwrap());
        return;
    }
    out.push(127);
    v -= 127;
    while v >= 128 {
        out.push(u8::try_from(v % 128).unwrap() | 0x80);
        v /= 128;
    }
    out.push(u8::try_from(v).unwrap());
}

/// A header block of literal fields, never indexed, no Huffman coding: every
/// byte of every name and value is on the wire as written.
pub(crate) fn header_block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x10);
        int7(name.len(), &mut out);
        out.extend_from_slice(name.as_bytes());
        int7(value.len(), &mut out);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// How stream 1 ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    Status(u16),
    Reset(u32),
    GoAway(u32),
    Nothing,
}

impl Outcome {
    /// Refused: a reset, a connection error or a 4xx answer.
    pub(crate) fn refused(&self) -> bool {
        match self {
            Outcome::Status(s) => (400..500).contains(s),
            Outcome::Reset(_) | Outcome::GoAway(_) => true,
            Outcome::Nothing => false,
        }
    }
}

/// Sends the preface, an empty SETTINGS and `frames`, then reads until stream
/// 1 is answered, reset or the connection goes away (at most 5 s).
pub(crate) async fn exchange(addr: SocketAddr, frames: &[Vec<u8>]) -> Outcome {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    for f in frames {
        out.extend_from_slice(f);
    }
    s.write_all(&out).await.unwrap();
    let read = async {
        loop {
            let mut head = [0u8; 9];
            if s.read_exact(&mut head).await.is_err() {
                return Outcome::Nothing;
            }
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let (kind, flags) = (head[3], head[4]);
            let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            let mut payload = vec![0u8; len];
            if s.read_exact(&mut payload).await.is_err() {
                return Outcome::Nothing;
            }
            match kind {
                SETTINGS if flags & 1 == 0 => {
                    let _ = s.write_all(&frame(SETTINGS, 1, 0, &[])).await;
                }
                HEADERS if stream == 1 => {
                    return Outcome::Status(status(&payload).expect("a :status first"));
                }
                RST_STREAM if stream == 1 => {
                    return Outcome::Reset(u32::from_be_bytes(payload[..4].try_into().unwrap()));
                }
                GOAWAY => {
                    return Outcome::GoAway(u32::from_be_bytes(payload[4..8].try_into().unwrap()));
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .unwrap_or(Outcome::Nothing)
}

/// The `:status` of a response header block: the first field, either indexed
/// in the static table or a literal with an indexed `:status` name (its value
/// plain or Huffman-coded digits).
fn status(block: &[u8]) -> Option<u16> {
    let mut at = 0;
    // Dynamic table size updates may come first.
    while block.get(at)? & 0xe0 == 0x20 {
        at += 1;
    }
    let b = *block.get(at)?;
    if b & 0x80 != 0 {
        return match b & 0x7f {
            8 => Some(200),
            9 => Some(204),
            10 => Some(206),
            11 => Some(304),
            12 => Some(400),
            13 => Some(404),
            14 => Some(500),
            _ => None,
        };
    }
    let name = if b & 0xc0 == 0x40 { b & 0x3f } else { b & 0x0f };
    if !(8..=14).contains(&name) {
        return None;
    }
    let l = *block.get(at + 1)?;
    let value = block.get(at + 2..at + 2 + usize::from(l & 0x7f))?;
    let text = if l & 0x80 == 0 {
        String::from_utf8_lossy(value).into_owned()
    } else {
        huffman_digits(value)?
    };
    text.parse().ok()
}

/// Huffman-decodes a string of ASCII digits (RFC 7541 Appendix B: `0`..`2`
/// are 5 bits, `3`..`9` 6 bits), the padding being the rest of the last byte.
fn huffman_digits(bytes: &[u8]) -> Option<String> {
    let bits: Vec<u8> = bytes
        .iter()
        .flat_map(|b| (0..8).rev().map(move |i| (b >> i) & 1))
        .collect();
    let code = |at: usize, n: usize| -> Option<u32> {
        bits.get(at..at + n)
            .map(|s| s.iter().fold(0, |acc, &b| acc << 1 | u32::from(b)))
    };
    let mut out = String::new();
    let mut at = 0;
    while bits.len() - at >= 5 {
        match code(at, 5)? {
            c @ 0..=2 => {
                out.push(char::from(b'0' + u8::try_from(c).ok()?));
                at += 5;
            }
            _ => match code(at, 6) {
                Some(c @ 0x19..=0x1f) => {
                    out.push(char::from(b'0' + u8::try_from(c - 0x16).ok()?));
                    at += 6;
                }
                // All ones: padding.
                _ => break,
            },
        }
    }
    Some(out)
}

#[test]
fn huffman_digits_decode() {
    // "403": 011010 00000 011001, padded with ones.
    assert_eq!(huffman_digits(&[0x68, 0x0c, 0xff]).as_deref(), Some("403"));
    assert_eq!(status(&[0x88]), Some(200));
    assert_eq!(status(&[0x08, 0x03, b'4', b'1', b'3']), Some(413));
}
