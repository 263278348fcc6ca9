//! Issue 15: connections that hold Wafer without sending a request (idle,
//! trickled heads, slow bodies), the connection cap and the admin listener
//! beside a saturated proxy; and the headers the upstream gets (X-Real-IP,
//! Forwarded, Content-Length, HTTP/2 host, Host on HTTP/1.1). Raw bytes over
//! real sockets; the upstream records every byte.

use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wafer::proxy::Timeouts;

use crate::admin::Node;
use crate::h2raw::{self, END_HEADERS, END_STREAM, HEADERS, Outcome};
use crate::harness::{Setup, Wafer};
use crate::recorder::{Recorder, send_raw, statuses};

const HOST: &str = "shop.example";
const UA: &str = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0";
const FORM: &str = "application/x-www-form-urlencoded";
const TOKEN: &str = "test-admin-token-0123456789";
/// Far longer than any timeout these tests set: a connection still open then never closes.
const PATIENCE: Duration = Duration::from_secs(15);

/// Timeouts of a second, so that a test sees them pass.
fn quick() -> Setup {
    Setup {
        timeouts: Timeouts {
            client_header: Duration::from_secs(1),
            client_idle: Duration::from_secs(1),
            client_body: Duration::from_secs(1),
            client_body_min_rate: 100,
            ..Timeouts::default()
        },
        ..Setup::default()
    }
}

async fn pair(setup: Setup) -> (Recorder, Wafer) {
    let rec = Recorder::start().await;
    let wafer = Wafer::start(rec.addr, setup).await;
    (rec, wafer)
}

/// Reads until the server closes the connection (EOF or reset): what came,
/// or `None` if it was still open after `PATIENCE`.
async fn until_closed(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(PATIENCE, read)
        .await
        .ok()
        .map(|()| out)
}

/// Writes `pieces` with `pause` between them while reading what comes back,
/// until the server closes. Returns the answer and how many pieces went out
/// before the connection ended.
async fn trickle(wafer: &Wafer, pieces: Vec<Vec<u8>>, pause: Duration) -> (String, usize) {
    let s = TcpStream::connect(wafer.addr).await.unwrap();
    let (mut r, mut w) = s.into_split();
    let (closed_tx, mut closed) = tokio::sync::watch::channel(false);
    let reader = tokio::spawn(async move {
        let mut out = Vec::new();
        let _ = tokio::time::timeout(PATIENCE, r.read_to_end(&mut out)).await;
        let _ = closed_tx.send(true);
        String::from_utf8_lossy(&out).into_owned()
    });
    let mut sent = 0;
    for (i, p) in pieces.iter().enumerate() {
        if i > 0 {
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = closed.wait_for(|c| *c) => break,
            }
        }
        if *closed.borrow() || w.write_all(p).await.is_err() {
            break;
        }
        sent += 1;
    }
    (reader.await.unwrap(), sent)
}

fn head(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {UA}\r\nAccept: */*\r\n{extra}\r\n"
    )
}

// ---------------------------------------------------------------------------
// Item 1: connections that send nothing, or nothing more.

#[tokio::test]
async fn issue15_3_a_connection_that_sends_nothing_is_closed() {
    let (rec, wafer) = pair(quick()).await;
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    let got = until_closed(&mut s).await.expect("closed, not held open");
    assert!(got.is_empty(), "{got:?}");
    assert_eq!(wafer.connections.timed_out.load(Ordering::Relaxed), 1);
    assert!(rec.bytes().is_empty());
    // Its place under the cap is free again.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(wafer.connections.open(), 0);
}

#[tokio::test]
async fn issue15_3_an_h2_client_that_stops_inside_its_preface_is_closed() {
    let (rec, wafer) = pair(quick()).await;
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    until_closed(&mut s).await.expect("closed, not held open");
    assert_eq!(wafer.connections.timed_out.load(Ordering::Relaxed), 1);
    assert!(rec.bytes().is_empty());
}

#[tokio::test]
async fn issue15_3_an_idle_keep_alive_connection_is_closed_h1() {
    let (rec, wafer) = pair(quick()).await;
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    s.write_all(head("GET", "/products/1", "").as_bytes())
        .await
        .unwrap();
    let got = until_closed(&mut s)
        .await
        .expect("closed after the response");
    let got = String::from_utf8_lossy(&got);
    assert_eq!(statuses(&got), [200], "{got}");
    assert_eq!(rec.requests().len(), 1);
}

#[tokio::test]
async fn issue15_3_an_idle_h2_connection_is_closed_after_its_request() {
    let (rec, wafer) = pair(quick()).await;
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    let fields = [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", HOST),
        (":path", "/products/1"),
        ("user-agent", UA),
    ];
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2raw::frame(4, 0, 0, &[]));
    out.extend(h2raw::frame(4, 1, 0, &[]));
    out.extend(h2raw::frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &h2raw::header_block(&fields),
    ));
    s.write_all(&out).await.unwrap();
    until_closed(&mut s).await.expect("closed once idle");
    assert_eq!(rec.requests().len(), 1, "the request was served first");
    assert_eq!(wafer.connections.timed_out.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn issue15_3_a_head_trickled_a_byte_at_a_time_is_cut_off() {
    // The issue's 1 byte per 9 s against a 10 s header timeout, scaled to 1 s.
    let (rec, wafer) = pair(quick()).await;
    let req = head(
        "GET",
        "/products/1",
        "X-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n",
    );
    let pieces: Vec<Vec<u8>> = req.bytes().map(|b| vec![b]).collect();
    let n = pieces.len();
    let (answer, sent) = trickle(&wafer, pieces, Duration::from_millis(300)).await;
    assert!(sent < n, "all {n} bytes were taken: {answer}");
    assert!(!answer.contains(" 200 "), "{answer}");
    assert!(rec.requests().is_empty());
}

// ---------------------------------------------------------------------------
// Item 3: a body that arrives, but too slowly.

#[tokio::test]
async fn issue15_3_a_body_under_the_minimum_rate_gets_408() {
    let (rec, wafer) = pair(quick()).await;
    let body = format!("comment={}", "a".repeat(392));
    let mut pieces = vec![
        head(
            "POST",
            "/comment",
            &format!("Content-Type: {FORM}\r\nContent-Length: {}\r\n", body.len()),
        )
        .into_bytes(),
    ];
    // 10 bytes every 250 ms: 40 bytes/s, each pause well under the 1 s pause limit.
    pieces.extend(body.as_bytes().chunks(10).map(<[u8]>::to_vec));
    let (answer, sent) = trickle(&wafer, pieces.clone(), Duration::from_millis(250)).await;
    assert_eq!(statuses(&answer), [408], "{answer}");
    assert!(sent < pieces.len(), "the whole body went out: {answer}");
    assert!(rec.requests().is_empty(), "{:?}", rec.requests());
    assert_eq!(wafer.connections.slow_bodies.load(Ordering::Relaxed), 1);

    // The same body at 400 bytes/s passes whole.
    let mut fast = vec![pieces[0].clone()];
    fast.extend(body.as_bytes().chunks(100).map(<[u8]>::to_vec));
    let (answer, _) = trickle(&wafer, fast, Duration::from_millis(250)).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!(rec.requests()[0].body, body.as_bytes());
}

// ---------------------------------------------------------------------------
// Item 2: the connection cap, and the admin listener beside a full proxy.

/// A GET over a new connection, with the admin token: its status line, or what went wrong.
async fn status_line(addr: std::net::SocketAddr, path: &str) -> String {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {HOST}\r\nUser-Agent: {UA}\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n"
    );
    let answer = send_raw(addr, req.as_bytes()).await;
    answer.lines().next().unwrap_or("(nothing)").to_owned()
}

#[tokio::test]
async fn issue15_3_at_the_cap_new_clients_get_503_and_the_admin_still_answers() {
    let node = Node::start_cfg(|cfg| {
        cfg.max_connections = Some(16);
        cfg.admin_max_connections = 4;
    })
    .await;
    let proxy = node.running.proxy_addr;
    let admin = node.running.admin_addr.unwrap();
    let mut held = Vec::new();
    for _ in 0..16 {
        held.push(TcpStream::connect(proxy).await.unwrap());
    }
    // Each was accepted and counted before the next: the cap is now reached.
    for _ in 0..50 {
        if node.running.connections.open() == 16 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status_line(proxy, "/products/1").await,
        "HTTP/1.1 503 Service Unavailable"
    );
    assert_eq!(status_line(admin, "/api/info").await, "HTTP/1.1 200 OK");
    let metrics = send_raw(
        admin,
        format!("GET /metrics HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer {TOKEN}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await;
    assert!(
        metrics.contains("wafer_connections_refused_total{listener=\"proxy\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("wafer_connections_open{listener=\"proxy\"} 16"));

    // The admin listener's own cap: a flood there is refused there.
    let mut admin_held = Vec::new();
    for _ in 0..4 {
        admin_held.push(TcpStream::connect(admin).await.unwrap());
    }
    for _ in 0..50 {
        if node.running.admin_connections.open() == 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        status_line(admin, "/api/info").await,
        "HTTP/1.1 503 Service Unavailable"
    );

    // Closed connections give their places back.
    drop(held);
    drop(admin_held);
    let mut line = String::new();
    for _ in 0..50 {
        line = status_line(proxy, "/products/1").await;
        if line == "HTTP/1.1 200 OK" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(line, "HTTP/1.1 200 OK");
    assert_eq!(status_line(admin, "/api/info").await, "HTTP/1.1 200 OK");
}

// ---------------------------------------------------------------------------
// Item 8: what the upstream is told about the client and the body.

#[tokio::test]
async fn issue15_8_x_real_ip_and_forwarded_are_what_wafer_saw() {
    let (rec, wafer) = pair(Setup::default()).await;
    let req = head(
        "GET",
        "/products/1",
        "X-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6;host=evil.example\r\nConnection: close\r\n",
    );
    let resp = send_raw(wafer.addr, req.as_bytes()).await;
    assert_eq!(statuses(&resp), [200], "{resp}");
    let got = &rec.requests()[0];
    assert_eq!(got.header("x-real-ip").as_deref(), Some("127.0.0.1"));
    assert_eq!(
        got.header("forwarded").as_deref(),
        Some("for=127.0.0.1;proto=http;host=\"shop.example\"")
    );
    assert!(!rec.text().contains("6.6.6.6"), "{}", rec.text());

    // Behind a trusted proxy: the client it names, and its Forwarded kept before Wafer's.
    let setup = Setup {
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..Setup::default()
    };
    let (rec, wafer) = pair(setup).await;
    let req = head(
        "GET",
        "/products/1",
        "X-Forwarded-For: 198.51.100.4\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=198.51.100.4\r\nConnection: close\r\n",
    );
    let resp = send_raw(wafer.addr, req.as_bytes()).await;
    assert_eq!(statuses(&resp), [200], "{resp}");
    let got = &rec.requests()[0];
    assert_eq!(got.header("x-real-ip").as_deref(), Some("198.51.100.4"));
    assert_eq!(
        got.header("forwarded").as_deref(),
        Some("for=198.51.100.4, for=127.0.0.1;proto=http;host=\"shop.example\"")
    );
}

#[tokio::test]
async fn issue15_8_content_length_reaches_the_upstream_as_plain_digits() {
    for (sent, framed) in [
        ("003", true),
        ("3", true),
        (" 3", true),
        ("3 ", true),
        ("3, 3", false),
        ("+3", false),
        ("3,4", false),
        ("-3", false),
        ("0x3", false),
    ] {
        let (rec, wafer) = pair(Setup::default()).await;
        let mut req = head(
            "POST",
            "/comment",
            &format!("Content-Type: {FORM}\r\nContent-Length: {sent}\r\nConnection: close\r\n"),
        )
        .into_bytes();
        req.extend_from_slice(b"q=1");
        let resp = send_raw(wafer.addr, &req).await;
        if framed {
            assert_eq!(statuses(&resp), [200], "{sent:?}: {resp}");
            let got = rec.requests();
            assert_eq!(got.len(), 1, "{sent:?}");
            assert_eq!(
                got[0].header("content-length").as_deref(),
                Some("3"),
                "{sent:?}"
            );
            assert_eq!(got[0].body, b"q=1");
        } else {
            assert_eq!(statuses(&resp), [400], "{sent:?}: {resp}");
            assert!(rec.bytes().is_empty(), "{sent:?}: {}", rec.text());
        }
    }
}

fn h2_get(extra: &[(&str, &str)]) -> Vec<u8> {
    let mut fields = vec![
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", HOST),
        (":path", "/products/1"),
        ("user-agent", UA),
    ];
    fields.extend_from_slice(extra);
    h2raw::frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &h2raw::header_block(&fields),
    )
}

#[tokio::test]
async fn issue15_8_h2_host_naming_another_host_than_authority_is_refused() {
    let (rec, wafer) = pair(Setup::default()).await;
    let out = h2raw::exchange(wafer.addr, &[h2_get(&[("host", "evil.example")])]).await;
    assert_eq!(out, Outcome::Status(400));
    assert!(rec.bytes().is_empty(), "{}", rec.text());
    // The same name (in another case) is the same host: served, under :authority's name.
    let out = h2raw::exchange(wafer.addr, &[h2_get(&[("host", "SHOP.example")])]).await;
    assert_eq!(out, Outcome::Status(200));
    let got = rec.requests();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("host").as_deref(), Some(HOST));
    assert_eq!(got[0].header("x-forwarded-host").as_deref(), Some(HOST));
}

#[tokio::test]
async fn issue15_8_a_second_host_or_none_on_http_1_1_is_400() {
    for req in [
        format!(
            "GET / HTTP/1.1\r\nHost: {HOST}\r\nHost: evil.example\r\nUser-Agent: {UA}\r\nConnection: close\r\n\r\n"
        ),
        format!(
            "GET / HTTP/1.1\r\nHost: {HOST}\r\nHost: {HOST}\r\nUser-Agent: {UA}\r\nConnection: close\r\n\r\n"
        ),
        format!("GET / HTTP/1.1\r\nUser-Agent: {UA}\r\nConnection: close\r\n\r\n"),
    ] {
        let (rec, wafer) = pair(Setup::default()).await;
        let resp = send_raw(wafer.addr, req.as_bytes()).await;
        assert_eq!(statuses(&resp), [400], "{req}: {resp}");
        assert!(rec.bytes().is_empty(), "{req}: {}", rec.text());
    }
    // HTTP/1.0 needs no Host.
    let (rec, wafer) = pair(Setup::default()).await;
    let resp = send_raw(
        wafer.addr,
        format!("GET / HTTP/1.0\r\nUser-Agent: {UA}\r\n\r\n").as_bytes(),
    )
    .await;
    assert_eq!(statuses(&resp), [200], "{resp}");
    assert_eq!(rec.requests().len(), 1);
}

/// An upstream that answers every connection with `len` bytes of body, as
/// fast as it is read.
async fn big_upstream(len: usize) -> std::net::SocketAddr {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let h = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {len}\r\n\r\n"
                );
                if s.write_all(h.as_bytes()).await.is_err() {
                    return;
                }
                let chunk = vec![b'z'; 64 * 1024];
                let mut left = len;
                while left > 0 {
                    let n = left.min(chunk.len());
                    if s.write_all(&chunk[..n]).await.is_err() {
                        return;
                    }
                    left -= n;
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn issue15_3_a_client_that_stops_reading_is_closed() {
    // A slow read: ask for a large response, then read nothing. Without a
    // write deadline the connection, its place under the cap and its
    // upstream connection are held for as long as the client likes.
    const LEN: usize = 256 << 20;
    let up = big_upstream(LEN).await;
    let wafer = Wafer::start(up, quick()).await;
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    s.write_all(head("GET", "/download", "").as_bytes())
        .await
        .unwrap();
    let stalled = &wafer.connections.write_stalled;
    let waited = tokio::time::Instant::now();
    while stalled.load(Ordering::Relaxed) == 0 && waited.elapsed() < PATIENCE {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stalled.load(Ordering::Relaxed), 1, "never closed");
    // What the kernel buffered is still readable; then the connection ends,
    // far short of the whole response.
    let got = until_closed(&mut s).await.expect("still open");
    assert!(got.starts_with(b"HTTP/1.1 200 "));
    assert!(got.len() < LEN / 4, "{} bytes", got.len());
    assert_eq!(wafer.connections.open(), 0);

    // A client that reads gets it all, whatever the size.
    let mut s = TcpStream::connect(wafer.addr).await.unwrap();
    s.write_all(head("GET", "/download", "Connection: close\r\n").as_bytes())
        .await
        .unwrap();
    let got = until_closed(&mut s).await.expect("still open");
    let body_at = got.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert_eq!(got.len() - body_at, LEN);
    assert_eq!(stalled.load(Ordering::Relaxed), 1);
}
