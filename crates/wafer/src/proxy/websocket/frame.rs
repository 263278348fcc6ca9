//! RFC 6455 framing, as much of it as a proxy that inspects the client's
//! messages needs: a frame header parser, a reader that turns the client's
//! byte stream into control frames and whole data messages, and a tracker of
//! frame boundaries for the other direction (so that a close frame Wafer
//! sends is never spliced into the middle of an upstream frame).
//!
//! Pure code, no I/O: the relay in the parent module feeds it bytes. Written
//! here rather than taken from a WebSocket library because a proxy must hand
//! the upstream the frames exactly as the client sent them (same
//! fragmentation, same masking keys), which libraries that decode into
//! messages and re-encode them do not do.
//!
//! Bounds: a data message is held until it is complete, and its payload plus
//! its frame headers (beyond one header's worth) may not exceed the maximum,
//! so a connection never holds more than that, however the client splits or
//! paces its frames. Nothing here panics on any input (see the tests).

/// The longest frame header: 2 bytes, a 64-bit length, a masking key.
pub(crate) const MAX_HEADER: usize = 14;
/// The longest control frame payload (RFC 6455 §5.5).
const MAX_CONTROL: u64 = 125;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn of(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    pub(crate) fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// One frame header as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) fin: bool,
    pub(crate) opcode: Opcode,
    pub(crate) mask: Option<[u8; 4]>,
    /// Payload length.
    pub(crate) len: u64,
    /// Bytes the header takes on the wire.
    pub(crate) size: usize,
}

/// Why the connection is closed; each is a close code (RFC 6455 §7.4.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fail {
    /// 1002: bad framing.
    Protocol(&'static str),
    /// 1007: a text message that is not UTF-8.
    NotUtf8,
    /// 1009: a message over the maximum.
    TooBig,
}

impl Fail {
    pub(crate) fn code(self) -> u16 {
        match self {
            Fail::Protocol(_) => 1002,
            Fail::NotUtf8 => 1007,
            Fail::TooBig => 1009,
        }
    }

    pub(crate) fn reason(self) -> &'static str {
        match self {
            Fail::Protocol(why) => why,
            Fail::NotUtf8 => "text message is not UTF-8",
            Fail::TooBig => "message too big",
        }
    }
}

/// Parses the frame header at the start of `buf`: `Ok(None)` until enough
/// bytes are there. Checks what holds in both directions: no reserved bits
/// (no extension is ever negotiated through Wafer), known opcodes, control
/// frames short and unfragmented, lengths under 2^63.
pub(crate) fn parse_header(buf: &[u8]) -> Result<Option<Header>, Fail> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(Fail::Protocol("reserved bits set without an extension"));
    }
    let opcode = Opcode::of(b0 & 0x0F).ok_or(Fail::Protocol("unknown opcode"))?;
    let fin = b0 & 0x80 != 0;
    let masked = b1 & 0x80 != 0;
    let (len, mut size) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => {
                let mut be = [0u8; 8];
                be.copy_from_slice(b);
                (u64::from_be_bytes(be), 10)
            }
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if len >> 63 != 0 {
        return Err(Fail::Protocol("64-bit length with its top bit set"));
    }
    if opcode.is_control() && (!fin || len > MAX_CONTROL) {
        return Err(Fail::Protocol("control frame fragmented or over 125 bytes"));
    }
    let mask = if masked {
        let Some(k) = buf.get(size..size + 4) else {
            return Ok(None);
        };
        size += 4;
        Some([k[0], k[1], k[2], k[3]])
    } else {
        None
    };
    Ok(Some(Header {
        fin,
        opcode,
        mask,
        len,
        size,
    }))
}

/// XORs `data` with `key`, as if `data` began `offset` bytes into the payload.
/// Masking and unmasking are the same operation.
pub(crate) fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[(offset + i) % 4];
    }
}

/// What the client's stream yields, in order.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A control frame, exactly as received: forward it at once.
    Control { opcode: Opcode, raw: Vec<u8> },
    /// A whole data message.
    Message(Message),
}

/// A complete data message: its frames exactly as received, and its payload
/// unmasked for inspection.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Message {
    /// Counts the connection's data messages from 1.
    pub(crate) n: u64,
    pub(crate) opcode: Opcode,
    /// The frames, headers and masked payloads, as the client sent them.
    pub(crate) wire: Vec<u8>,
    /// Filled in once the last frame is in.
    pub(crate) payload: Vec<u8>,
}

/// The payloads of the frames in `wire`, unmasked and joined.
fn unmasked(wire: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(wire.len());
    let mut at = 0;
    while let Ok(Some(h)) = parse_header(&wire[at..]) {
        let start = at + h.size;
        let end = start
            .saturating_add(usize::try_from(h.len).unwrap_or(usize::MAX))
            .min(wire.len());
        let from = out.len();
        out.extend_from_slice(&wire[start..end]);
        if let Some(key) = h.mask {
            apply_mask(&mut out[from..], key, 0);
        }
        at = end;
        if at >= wire.len() {
            break;
        }
    }
    out
}

/// Makes room for `more` bytes, doubling as a `Vec` does but never past `cap`
/// (the caller checked that `len + more` is within it).
fn grow(v: &mut Vec<u8>, more: usize, cap: usize) {
    let need = v.len() + more;
    if need > v.capacity() {
        let target = (v.capacity() * 2).clamp(need.max(64), cap.max(need));
        v.reserve_exact(target - v.len());
    }
}

/// The frame being received.
struct Current {
    header: Header,
    /// Payload bytes still to come.
    left: u64,
    /// A control frame's bytes as received (header included).
    raw: Vec<u8>,
}

/// Turns the client's bytes into control frames and whole data messages,
/// checking what a client must do: mask every frame, fragment properly.
pub(crate) struct ClientReader {
    max: usize,
    head: [u8; MAX_HEADER],
    head_len: usize,
    current: Option<Current>,
    /// The data message being received.
    message: Option<Message>,
    /// Payload bytes of that message, with those of the frame being received.
    size: u64,
    messages: u64,
}

impl ClientReader {
    /// `max`: the largest message payload held (frame headers past the
    /// first one's 14 bytes count against it too).
    pub(crate) fn new(max: usize) -> ClientReader {
        ClientReader {
            max,
            head: [0; MAX_HEADER],
            head_len: 0,
            current: None,
            message: None,
            size: 0,
            messages: 0,
        }
    }

    /// The most a message may take on the wire.
    fn cap(&self) -> usize {
        self.max.saturating_add(MAX_HEADER)
    }

    /// Data messages begun so far (the number of the one in progress, if any).
    pub(crate) fn messages(&self) -> u64 {
        self.messages
    }

    /// Bytes allocated for the message in progress.
    #[cfg(test)]
    pub(crate) fn held(&self) -> usize {
        self.message.as_ref().map_or(0, |m| m.wire.capacity())
    }

    /// Consumes `input` up to the end of the next item, if one completes in
    /// it: returns the bytes consumed and the item. Call again with the rest.
    pub(crate) fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Item>), Fail> {
        let mut used = 0;
        loop {
            if self.current.is_none() {
                // Byte by byte: a header is at most 14 bytes, and no byte of
                // the payload after it is taken by mistake.
                let header = loop {
                    if let Some(h) = parse_header(&self.head[..self.head_len])? {
                        break h;
                    }
                    let Some(&b) = input.get(used) else {
                        return Ok((used, None));
                    };
                    self.head[self.head_len] = b;
                    self.head_len += 1;
                    used += 1;
                };
                self.start(header)?;
                self.head_len = 0;
            }
            let cap = self.cap();
            let cur = self.current.as_mut().expect("a frame is being received");
            let take = usize::try_from(cur.left)
                .unwrap_or(usize::MAX)
                .min(input.len() - used);
            let chunk = &input[used..used + take];
            used += take;
            cur.left -= take as u64;
            if cur.header.opcode.is_control() {
                cur.raw.extend_from_slice(chunk);
            } else {
                let m = self
                    .message
                    .as_mut()
                    .expect("data frames belong to a message");
                grow(&mut m.wire, chunk.len(), cap);
                m.wire.extend_from_slice(chunk);
            }
            if cur.left > 0 {
                return Ok((used, None));
            }
            if let Some(item) = self.end_frame()? {
                return Ok((used, Some(item)));
            }
        }
    }

    /// Checks a new frame's header against the client's obligations and the
    /// limit, and keeps the header.
    fn start(&mut self, header: Header) -> Result<(), Fail> {
        if header.mask.is_none() {
            return Err(Fail::Protocol("client frame not masked"));
        }
        let cap = self.cap();
        let raw_head = &self.head[..header.size];
        let mut raw = Vec::new();
        match (header.opcode, &mut self.message) {
            (op, _) if op.is_control() => {
                raw.reserve_exact(header.size + header.len as usize);
                raw.extend_from_slice(raw_head);
            }
            (Opcode::Continuation, None) => {
                return Err(Fail::Protocol("continuation frame without a message"));
            }
            (Opcode::Text | Opcode::Binary, Some(_)) => {
                return Err(Fail::Protocol("new message inside a fragmented one"));
            }
            (op, message) => {
                let m = message.get_or_insert_with(|| {
                    self.messages += 1;
                    self.size = 0;
                    Message {
                        n: self.messages,
                        opcode: op,
                        wire: Vec::new(),
                        payload: Vec::new(),
                    }
                });
                // Checked on the header: a message that would pass the limit
                // is refused before any of its payload is held.
                let wire = m.wire.len() + header.size;
                let room = cap.saturating_sub(wire) as u64;
                if wire > cap || header.len > room || header.len > self.max as u64 - self.size {
                    return Err(Fail::TooBig);
                }
                self.size += header.len;
                grow(&mut m.wire, header.size, cap);
                m.wire.extend_from_slice(raw_head);
            }
        }
        self.current = Some(Current {
            header,
            left: header.len,
            raw,
        });
        Ok(())
    }

    fn end_frame(&mut self) -> Result<Option<Item>, Fail> {
        let cur = self.current.take().expect("a frame was being received");
        if cur.header.opcode.is_control() {
            return Ok(Some(Item::Control {
                opcode: cur.header.opcode,
                raw: cur.raw,
            }));
        }
        if !cur.header.fin {
            return Ok(None);
        }
        let mut m = self
            .message
            .take()
            .expect("data frames belong to a message");
        m.payload = unmasked(&m.wire);
        if m.opcode == Opcode::Text && std::str::from_utf8(&m.payload).is_err() {
            return Err(Fail::NotUtf8);
        }
        Ok(Some(Item::Message(m)))
    }
}

/// Follows the frames going to the client without holding them, to know
/// whether the stream is between two frames.
#[derive(Default)]
pub(crate) struct Boundaries {
    head: Vec<u8>,
    left: u64,
    /// Framing went wrong: the position is unknown from then on.
    lost: bool,
}

impl Boundaries {
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        while !self.lost && !bytes.is_empty() {
            if self.left > 0 {
                let take = usize::try_from(self.left)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.left -= take as u64;
                bytes = &bytes[take..];
                continue;
            }
            self.head.push(bytes[0]);
            bytes = &bytes[1..];
            match parse_header(&self.head) {
                Ok(Some(h)) => {
                    self.left = h.len;
                    self.head.clear();
                }
                Ok(None) => {}
                Err(_) => self.lost = true,
            }
        }
    }

    /// True between two frames.
    pub(crate) fn at_boundary(&self) -> bool {
        !self.lost && self.left == 0 && self.head.is_empty()
    }
}

/// A close frame as a server sends it (unmasked).
pub(crate) fn server_close(code: u16, reason: &str) -> Vec<u8> {
    close_frame(code, reason, None)
}

/// A close frame as a client sends it (masked with `key`).
pub(crate) fn client_close(code: u16, reason: &str, key: [u8; 4]) -> Vec<u8> {
    close_frame(code, reason, Some(key))
}

fn close_frame(code: u16, reason: &str, key: Option<[u8; 4]>) -> Vec<u8> {
    let mut cut = reason.len().min(MAX_CONTROL as usize - 2);
    while !reason.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(&reason.as_bytes()[..cut]);
    let mut frame = vec![0x88, payload.len() as u8];
    if let Some(key) = key {
        frame[1] |= 0x80;
        frame.extend_from_slice(&key);
        apply_mask(&mut payload, key, 0);
    }
    frame.extend_from_slice(&payload);
    frame
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

    /// A client frame: header with the right length form, masked payload.
    fn frame(b0: u8, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![b0];
        match payload.len() {
            n if n < 126 => f.push(0x80 | n as u8),
            n if n <= 0xFFFF => {
                f.push(0x80 | 126);
                f.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                f.push(0x80 | 127);
                f.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        f.extend_from_slice(&KEY);
        let mut p = payload.to_vec();
        apply_mask(&mut p, KEY, 0);
        f.extend_from_slice(&p);
        f
    }

    /// Everything the reader yields from `bytes`, fed `step` bytes at a time.
    fn read(max: usize, bytes: &[u8], step: usize) -> Result<Vec<Item>, Fail> {
        let mut r = ClientReader::new(max);
        let mut items = Vec::new();
        for chunk in bytes.chunks(step.max(1)) {
            let mut at = 0;
            while at < chunk.len() {
                let (used, item) = r.feed(&chunk[at..])?;
                assert!(used > 0 || item.is_some(), "no progress");
                at += used;
                items.extend(item);
            }
        }
        Ok(items)
    }

    fn message(item: &Item) -> &Message {
        match item {
            Item::Message(m) => m,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    #[test]
    fn every_length_form_round_trips_byte_for_byte() {
        for len in [0, 1, 125, 126, 65535, 65536, 70_000] {
            let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let wire = frame(0x82, &payload);
            let expected_header = match len {
                0..=125 => 6,
                126..=65535 => 8,
                _ => 14,
            };
            let h = parse_header(&wire).unwrap().unwrap();
            assert_eq!((h.len, h.size), (len as u64, expected_header), "len {len}");
            for step in [1, 7, wire.len()] {
                if step == 1 && len > 1000 {
                    continue;
                }
                let items = read(1 << 20, &wire, step).unwrap();
                assert_eq!(items.len(), 1);
                let m = message(&items[0]);
                assert_eq!((m.n, m.opcode), (1, Opcode::Binary));
                assert_eq!(m.payload, payload, "unmasked, len {len} step {step}");
                assert_eq!(m.wire, wire, "as received, len {len}");
            }
        }
    }

    #[test]
    fn partial_headers_wait_for_more() {
        let wire = frame(0x81, &[b'a'; 300]);
        for cut in 0..8 {
            assert_eq!(parse_header(&wire[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse_header(&wire[..8]).unwrap().is_some());
    }

    #[test]
    fn fragments_reassemble_with_control_frames_forwarded_between() {
        let mut wire = frame(0x01, b"' UNION ");
        let ping = frame(0x89, b"are you there");
        wire.extend_from_slice(&ping);
        wire.extend_from_slice(&frame(0x00, b"SELECT password "));
        wire.extend_from_slice(&frame(0x80, b"FROM users--"));
        wire.extend_from_slice(&frame(0x81, b"next"));
        for step in [1, 5, wire.len()] {
            let items = read(1 << 20, &wire, step).unwrap();
            assert_eq!(items.len(), 3, "step {step}");
            assert_eq!(
                items[0],
                Item::Control {
                    opcode: Opcode::Ping,
                    raw: ping.clone()
                },
                "the ping comes out first, as received"
            );
            let m = message(&items[1]);
            assert_eq!(
                (m.n, m.opcode, m.payload.as_slice()),
                (
                    1,
                    Opcode::Text,
                    &b"' UNION SELECT password FROM users--"[..]
                )
            );
            assert_eq!(message(&items[2]).n, 2);
        }
        let items = read(1 << 20, &wire, wire.len()).unwrap();
        let mut expected = frame(0x01, b"' UNION ");
        expected.extend_from_slice(&frame(0x00, b"SELECT password "));
        expected.extend_from_slice(&frame(0x80, b"FROM users--"));
        assert_eq!(message(&items[1]).wire, expected, "held frames as received");
    }

    #[test]
    fn bad_framing_is_a_protocol_error() {
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("unmasked", vec![0x81, 0x02, b'h', b'i']),
            ("rsv1 (as permessage-deflate would set)", {
                let mut f = frame(0x81, b"hi");
                f[0] |= 0x40;
                f
            }),
            ("rsv3", {
                let mut f = frame(0x81, b"hi");
                f[0] |= 0x10;
                f
            }),
            ("opcode 3", frame(0x83, b"hi")),
            ("opcode 0xB", frame(0x8B, b"")),
            ("continuation first", frame(0x80, b"hi")),
            ("fragmented ping", frame(0x09, b"")),
            ("long close", frame(0x88, &[0; 126])),
            ("text inside a fragmented message", {
                let mut f = frame(0x01, b"a");
                f.extend(frame(0x81, b"b"));
                f
            }),
            ("64-bit length top bit", {
                let mut f = vec![0x82, 0xFF];
                f.extend_from_slice(&u64::MAX.to_be_bytes());
                f.extend_from_slice(&KEY);
                f
            }),
        ];
        for (what, wire) in cases {
            match read(1 << 20, &wire, wire.len()) {
                Err(f @ Fail::Protocol(_)) => assert_eq!(f.code(), 1002, "{what}"),
                other => panic!("{what}: expected a protocol error, got {other:?}"),
            }
        }
    }

    #[test]
    fn text_must_be_utf8() {
        assert_eq!(
            read(100, &frame(0x81, &[0xc3, 0x28]), 100).map(|_| ()),
            Err(Fail::NotUtf8)
        );
        // Binary may be anything.
        assert!(read(100, &frame(0x82, &[0xc3, 0x28]), 100).is_ok());
    }

    #[test]
    fn messages_over_the_limit_fail_before_their_payload_is_held() {
        assert!(read(100, &frame(0x82, &[1; 100]), 1000).is_ok());
        // Refused on the header alone: no payload needs to arrive.
        let wire = frame(0x82, &[1; 101]);
        let mut r = ClientReader::new(100);
        assert_eq!(r.feed(&wire[..6]).map(|_| ()), Err(Fail::TooBig));
        assert_eq!(r.held(), 0);
        // Fragments count together.
        let mut wire = frame(0x02, &[1; 60]);
        wire.extend(frame(0x80, &[1; 60]));
        assert_eq!(read(100, &wire, 7).map(|_| ()), Err(Fail::TooBig));
        // A 2^62-byte claim is refused, not allocated.
        let mut wire = vec![0x82, 0xFF];
        wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
        wire.extend_from_slice(&KEY);
        assert_eq!(read(1 << 20, &wire, 100).map(|_| ()), Err(Fail::TooBig));
        // Empty fragments cost their headers: they cannot pile up without end.
        let mut wire = frame(0x02, b"");
        for _ in 0..100 {
            wire.extend(frame(0x00, b""));
        }
        assert_eq!(read(100, &wire, 50).map(|_| ()), Err(Fail::TooBig));
    }

    #[test]
    fn the_reader_holds_no_more_than_the_limit() {
        let max = 4096;
        let mut wire = Vec::new();
        wire.extend(frame(0x02, &[7; 100]));
        for _ in 0..40 {
            wire.extend(frame(0x00, &[7; 100]));
        }
        let mut r = ClientReader::new(max);
        let mut most = 0;
        let mut at = 0;
        loop {
            match r.feed(&wire[at..(at + 13).min(wire.len())]) {
                Ok((used, _)) => at += used,
                Err(f) => {
                    assert_eq!(f, Fail::TooBig);
                    break;
                }
            }
            most = most.max(r.held());
            assert!(at < wire.len(), "the limit was never reached");
        }
        assert!(most > max / 2 && most <= max + MAX_HEADER, "held {most}");
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A small deterministic generator: every byte value, odd lengths, cut anywhere.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..3000 {
            let mut bytes = Vec::new();
            let n = (x % 64) as usize;
            for _ in 0..n {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(x as u8);
            }
            // Some with a valid-looking first byte, so parsing gets further.
            if x.is_multiple_of(2) && !bytes.is_empty() {
                bytes[0] = 0x81;
            }
            let _ = read(64, &bytes, 1 + (x % 5) as usize);
            let mut b = Boundaries::default();
            b.feed(&bytes);
            let _ = b.at_boundary();
        }
    }

    #[test]
    fn boundaries_follow_server_frames() {
        let mut b = Boundaries::default();
        assert!(b.at_boundary());
        let mut wire = vec![0x81, 126, 0x01, 0x00];
        wire.extend_from_slice(&[b'x'; 256]);
        b.feed(&wire[..3]);
        assert!(!b.at_boundary(), "inside a header");
        b.feed(&wire[3..100]);
        assert!(!b.at_boundary(), "inside a payload");
        b.feed(&wire[100..]);
        assert!(b.at_boundary());
        b.feed(&[0x89, 0x00, 0x81]);
        assert!(!b.at_boundary());
        b.feed(&[0x01, b'y']);
        assert!(b.at_boundary());
        b.feed(&[0xC1, 0x00]);
        assert!(
            !b.at_boundary(),
            "after bad framing the position is unknown"
        );
    }

    #[test]
    fn close_frames() {
        assert_eq!(
            server_close(1008, "no"),
            vec![0x88, 4, 0x03, 0xF0, b'n', b'o']
        );
        let masked = client_close(1009, "", KEY);
        assert_eq!(&masked[..2], &[0x88, 0x82]);
        let items = read(10, &masked, 10).unwrap();
        assert!(matches!(
            &items[..],
            [Item::Control {
                opcode: Opcode::Close,
                ..
            }]
        ));
        let long = "é".repeat(100);
        let f = server_close(1000, &long);
        assert!(f.len() <= 2 + 125);
        assert!(std::str::from_utf8(&f[4..]).is_ok());
    }
}
