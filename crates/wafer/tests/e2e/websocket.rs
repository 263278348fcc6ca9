//! Upgraded connections through Wafer: only WebSocket switches, and the
//! client's messages are inspected before the origin gets them. Each test
//! checks what the origin received, not only what the client saw.

use crate::harness::*;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use wafer::events::Event;
use wafer_engine::{Action, Class, Mode, PathPattern, Route};

const SQLI: &str = "' UNION SELECT password FROM users--";
const KEY: [u8; 4] = [0x0f, 0xa5, 0x3c, 0x99];

/// A client frame, masked as clients must.
fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    match payload.len() {
        n if n < 126 => f.push(0x80 | n as u8),
        n => {
            f.push(0x80 | 126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    f.extend_from_slice(&KEY);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    f
}

/// A WebSocket client on a raw socket: frames are written exactly as a test
/// builds them, and the server's frames read one by one.
struct RawWs {
    s: TcpStream,
    buf: Vec<u8>,
    /// The upgrade request's id (`x-request-id` of the 101).
    id: String,
}

impl RawWs {
    async fn connect(addr: SocketAddr, path: &str) -> RawWs {
        let (head, s, buf) = handshake(addr, path, "").await;
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let id = head
            .lines()
            .find_map(|l| l.strip_prefix("x-request-id: "))
            .expect("the 101 carries the request id")
            .trim()
            .to_owned();
        RawWs { s, buf, id }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).await.unwrap();
    }

    /// The next frame from the server: (first byte, payload); `None` at the end of the stream.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        loop {
            if self.buf.len() >= 2 {
                let (b0, b1) = (self.buf[0], self.buf[1]);
                assert_eq!(b1 & 0x80, 0, "server frames are not masked");
                let (len, at) = match b1 & 0x7f {
                    126 if self.buf.len() >= 4 => {
                        (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
                    }
                    126 | 127 => (usize::MAX, 0),
                    n => (n as usize, 2),
                };
                if at > 0 && self.buf.len() >= at + len {
                    let payload = self.buf[at..at + len].to_vec();
                    self.buf.drain(..at + len);
                    return Some((b0, payload));
                }
            }
            let mut chunk = [0u8; 4096];
            let n = tokio::time::timeout(Duration::from_secs(5), self.s.read(&mut chunk))
                .await
                .expect("the server answers within 5 s")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads frames until a close frame, and returns its code.
    async fn close_code(&mut self) -> u16 {
        while let Some((b0, payload)) = self.frame().await {
            if b0 & 0x0f == 0x8 {
                return u16::from_be_bytes([payload[0], payload[1]]);
            }
        }
        panic!("the connection ended without a close frame");
    }
}

/// Sends a handshake (with `extra` header lines) and reads the response head.
async fn handshake(addr: SocketAddr, path: &str, extra: &str) -> (String, TcpStream, Vec<u8>) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: chat.example\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0\r\n\
         Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let end = loop {
        let mut chunk = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk))
            .await
            .expect("a response head within 5 s")
            .unwrap();
        assert!(n > 0, "closed before a response head");
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
    // Status line kept as sent; header names lowercased for lookups.
    let head = head.replacen("http/1.1", "HTTP/1.1", 1);
    (head, s, buf[end..].to_vec())
}

/// The event of message `n` on connection `id`.
fn event_for<'a>(events: &'a [Event], id: &str, n: u64) -> &'a Event {
    let want = format!("WebSocket message {n} on connection {id}");
    events
        .iter()
        .find(|e| e.reason.as_deref().is_some_and(|r| r.starts_with(&want)))
        .unwrap_or_else(|| panic!("no event for {want:?} in {events:#?}"))
}

async fn echo(ws: &mut RawWs) -> Vec<u8> {
    let (b0, payload) = ws.frame().await.expect("an echo");
    assert_eq!(b0 & 0x80, 0x80, "a whole message");
    payload
}

#[tokio::test]
async fn benign_text_json_and_binary_messages_pass_and_are_echoed() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/ws", wafer.addr))
        .await
        .unwrap();
    assert_eq!(resp.status(), 101);
    let sent = vec![
        Message::text("hello, is anyone there?"),
        Message::text(
            r#"{"op":"chat","room":"general","text":"see you at 5, bring the union paperwork"}"#,
        ),
        Message::binary(vec![0u8, 1, 2, 0xff, 0x80, 0x7f]),
        Message::text("x".repeat(70_000)),
    ];
    for m in &sent {
        ws.send(m.clone()).await.unwrap();
        let back = ws.next().await.unwrap().unwrap();
        assert_eq!(&back, m);
    }
    ws.close(None).await.unwrap();
    let got = origin.ws_data();
    let want: Vec<Vec<u8>> = sent
        .iter()
        .map(|m| m.clone().into_data().to_vec())
        .collect();
    assert_eq!(got, want, "the origin received each message once, intact");
    let events = wafer.stop().await;
    assert!(events.is_empty(), "{events:#?}");
}

#[tokio::test]
async fn attack_messages_never_reach_the_origin_and_close_1008() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let json = format!(r#"{{"op":"search","args":{{"q":"{}","page":1}}}}"#, SQLI);
    let mut fragmented = masked(0x01, b"' UNION ");
    fragmented.extend(masked(0x89, b"still there?"));
    fragmented.extend(masked(0x00, b"SELECT password "));
    fragmented.extend(masked(0x80, b"FROM users--"));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("text", masked(0x81, SQLI.as_bytes()), "ws.2"),
        ("json", masked(0x81, json.as_bytes()), "ws.2.args.q"),
        ("binary text", masked(0x82, SQLI.as_bytes()), "ws.2"),
        ("three fragments, a ping between", fragmented, "ws.2"),
    ];
    let mut ids = Vec::new();
    for (what, attack, _) in &cases {
        let mut ws = RawWs::connect(wafer.addr, "/ws").await;
        ws.send(&masked(0x81, b"first, a harmless message")).await;
        assert_eq!(echo(&mut ws).await, b"first, a harmless message", "{what}");
        ws.send(attack).await;
        assert_eq!(ws.close_code().await, 1008, "{what}");
        ids.push(ws.id.clone());
    }
    let got = origin.ws_data();
    assert_eq!(
        got,
        vec![b"first, a harmless message".to_vec(); cases.len()],
        "only the harmless messages reached the origin"
    );
    // The ping went on at once, while the fragments around it were held.
    let ping = Message::Ping(b"still there?".to_vec().into());
    let mut waited = 0;
    while !origin.ws_seen.lock().unwrap().contains(&ping) {
        assert!(waited < 50, "the origin never got the ping");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    let events = wafer.stop().await;
    for ((what, _, location), id) in cases.iter().zip(&ids) {
        let ev = event_for(&events, id, 2);
        assert_eq!(ev.action, Action::Block, "{what}");
        assert_eq!(ev.path, "/ws");
        assert_ne!(&ev.id, id, "the message's event has an id of its own");
        let f = ev
            .findings
            .iter()
            .find(|f| f.class == Class::Sqli)
            .unwrap_or_else(|| panic!("{what}: no SQLi finding in {ev:#?}"));
        assert_eq!(f.location.name.as_deref(), Some(*location), "{what}");
    }
    assert!(
        events.iter().all(|e| e.reason.is_some()),
        "no other events: {events:#?}"
    );
}

#[tokio::test]
async fn a_route_with_websocket_inspection_off_passes_messages() {
    let origin = Origin::start().await;
    let mut setup = Setup::default();
    setup.engine.policy.routes.push(Route {
        path: PathPattern::parse("/ws/raw").unwrap(),
        mode: None,
        threshold: None,
        paranoia: None,
        disabled_rules: vec![],
        anomaly_mode: None,
        anomaly_threshold: None,
        inspect_websocket: Some(false),
    });
    let wafer = Wafer::start(origin.addr, setup).await;
    let mut ws = RawWs::connect(wafer.addr, "/ws/raw").await;
    ws.send(&masked(0x81, SQLI.as_bytes())).await;
    assert_eq!(echo(&mut ws).await, SQLI.as_bytes());
    // Elsewhere the same message is still blocked.
    let mut ws = RawWs::connect(wafer.addr, "/ws/other").await;
    ws.send(&masked(0x81, SQLI.as_bytes())).await;
    assert_eq!(ws.close_code().await, 1008);
    assert_eq!(origin.ws_data(), vec![SQLI.as_bytes().to_vec()]);
    let events = wafer.stop().await;
    assert_eq!(events.len(), 1, "{events:#?}");
    assert_eq!(events[0].path, "/ws/other");
}

#[tokio::test]
async fn detect_mode_forwards_the_message_and_records_an_event() {
    let origin = Origin::start().await;
    let mut setup = Setup::default();
    setup.engine.policy.mode = Mode::Detect;
    let wafer = Wafer::start(origin.addr, setup).await;
    let mut ws = RawWs::connect(wafer.addr, "/ws").await;
    ws.send(&masked(0x81, SQLI.as_bytes())).await;
    assert_eq!(echo(&mut ws).await, SQLI.as_bytes());
    assert_eq!(origin.ws_data(), vec![SQLI.as_bytes().to_vec()]);
    let id = ws.id.clone();
    // An open connection keeps its relay, and so the event bus, alive.
    drop(ws);
    let events = wafer.stop().await;
    let ev = event_for(&events, &id, 1);
    assert_eq!((ev.action, ev.mode), (Action::Flag, Mode::Detect));
    assert!(ev.score >= ev.threshold);
}

#[tokio::test]
async fn an_oversize_message_closes_1009_and_is_not_forwarded() {
    let origin = Origin::start().await;
    let mut setup = Setup::default();
    setup.engine.limits.websocket_max_message_bytes = 1024;
    let wafer = Wafer::start(origin.addr, setup).await;
    let mut ws = RawWs::connect(wafer.addr, "/ws").await;
    let fits = vec![b'a'; 1024];
    ws.send(&masked(0x82, &fits)).await;
    assert_eq!(echo(&mut ws).await, fits);
    // Two fragments, each under the limit, the message over it.
    let mut over = masked(0x02, &[b'b'; 600]);
    over.extend(masked(0x80, &[b'b'; 600]));
    ws.send(&over).await;
    assert_eq!(ws.close_code().await, 1009);
    assert_eq!(origin.ws_data(), vec![fits]);
    let id = ws.id.clone();
    let events = wafer.stop().await;
    let ev = event_for(&events, &id, 2);
    assert_eq!(ev.action, Action::Block);
    assert!(ev.reason.as_deref().unwrap().contains("1009"), "{ev:?}");
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_1002() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let mut ws = RawWs::connect(wafer.addr, "/ws").await;
    let mut unmasked = vec![0x81, 5];
    unmasked.extend_from_slice(b"hello");
    ws.send(&unmasked).await;
    assert_eq!(ws.close_code().await, 1002);
    // Reserved bits without an extension are refused the same way.
    let mut ws = RawWs::connect(wafer.addr, "/ws").await;
    let mut rsv = masked(0x81, b"hello");
    rsv[0] |= 0x40;
    ws.send(&rsv).await;
    assert_eq!(ws.close_code().await, 1002);
    assert!(origin.ws_data().is_empty(), "{:?}", origin.ws_data());
    let events = wafer.stop().await;
    assert_eq!(events.len(), 2, "{events:#?}");
    assert!(
        events.iter().all(|e| e.action == Action::Block
            && e.reason.as_deref().is_some_and(|r| r.contains("(1002: ")))
    );
}

#[tokio::test]
async fn h2c_upgrades_go_upstream_as_plain_http1_and_never_switch() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    // The origin answers any h2c upgrade with 101: forwarded, it would switch.
    let req = "GET /h2c?x=1 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\
               Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n\
               GET /after HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/8.5\r\nAccept: */*\r\n\
               Connection: Upgrade, close\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n";
    let answer = raw(wafer.addr, req.as_bytes(), Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(!answer.contains(" 101 "), "{answer}");
    assert_eq!(answer.matches("HTTP/1.1 200").count(), 2, "{answer}");
    let seen = origin.requests();
    let uris: Vec<&str> = seen.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        ["/h2c?x=1", "/after"],
        "the connection stayed HTTP/1.1"
    );
    // The second names HTTP2-Settings nowhere in Connection: dropped all the same.
    for s in &seen {
        let h = &s.headers;
        assert!(h.get("upgrade").is_none(), "{h:?}");
        assert!(h.get("http2-settings").is_none(), "{h:?}");
        let conn = h
            .get("connection")
            .map(|v| v.to_str().unwrap().to_ascii_lowercase());
        assert!(
            !conn.as_deref().unwrap_or("").contains("upgrade"),
            "{conn:?}"
        );
    }

    // A WebSocket handshake by another method than GET does not switch either.
    let (head, _, _) = handshake(wafer.addr, "/ws", "").await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let post = "POST /ws HTTP/1.1\r\nHost: chat.example\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
                Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nContent-Length: 0\r\n\r\n";
    let answer = raw(wafer.addr, post.as_bytes(), Duration::from_secs(2)).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let last = origin.requests().pop().unwrap();
    assert_eq!(last.method, "POST");
    assert!(last.headers.get("upgrade").is_none(), "{:?}", last.headers);
    wafer.stop().await;
}

#[tokio::test]
async fn extensions_are_not_offered_and_an_upstream_that_names_one_gets_502() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let mut req = format!("ws://{}/ws", wafer.addr)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "sec-websocket-extensions",
        "permessage-deflate; client_max_window_bits"
            .parse()
            .unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    ws.send(Message::text("uncompressed")).await.unwrap();
    assert_eq!(
        ws.next().await.unwrap().unwrap(),
        Message::text("uncompressed")
    );
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert!(
        seen[0].headers.get("sec-websocket-extensions").is_none(),
        "{:?}",
        seen[0].headers
    );
    drop(ws);

    let (head, _, _) = handshake(
        wafer.addr,
        "/ws-deflate",
        "Sec-WebSocket-Extensions: permessage-deflate\r\n",
    )
    .await;
    assert!(head.starts_with("HTTP/1.1 502"), "{head}");
    wafer.stop().await;
}
