//! The proxy as a client and an upstream see it.

use crate::harness::*;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Request;
use http_body_util::Full;
use std::time::Duration;
use wafer::proxy::Timeouts;
use wafer_engine::{Action, BodyOverflow, Mode};

const SQLI: &str = "/search?q=%27%20UNION%20SELECT%20username%2C%20password%20FROM%20users--";
const XSS_FORM: &str = "comment=%3Cscript%3Ealert(document.cookie)%3C%2Fscript%3E";

#[tokio::test]
async fn attacks_get_403_and_never_reach_the_upstream() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;

    let (resp, body) = send(get(&wafer.url(SQLI)).body(empty()).unwrap()).await;
    assert_eq!(resp.status, 403);
    let id = resp.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 16);
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("<html") && page.contains(&id), "{page}");

    let (resp, body) = send(
        get(&wafer.url("/comment"))
            .method("POST")
            .header("accept", "application/json")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(XSS_FORM)))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 403);
    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON block page");
    assert_eq!(v["error"], "forbidden");
    assert_eq!(
        v["request_id"],
        resp.headers["x-request-id"].to_str().unwrap()
    );

    assert!(
        origin.requests().is_empty(),
        "the upstream saw {:?}",
        origin.requests()
    );
    let events = wafer.stop().await;
    assert_eq!(events.len(), 2, "{events:?}");
    let sqli = events
        .iter()
        .find(|e| e.id == id)
        .expect("event for the SQLi");
    assert_eq!(sqli.action, Action::Block);
    assert_eq!(sqli.status, Some(403));
    assert_eq!(sqli.path, "/search");
    assert_eq!(sqli.host, "shop.example");
    assert!(sqli.score >= sqli.threshold);
    let f = sqli
        .findings
        .iter()
        .find(|f| f.class == wafer_engine::Class::Sqli)
        .expect("an SQLi finding");
    assert_eq!(f.location.name.as_deref(), Some("q"));
    assert!(f.value.to_ascii_uppercase().contains("UNION"), "{f:?}");
    assert!(events.iter().any(|e| {
        e.findings
            .iter()
            .any(|f| f.class == wafer_engine::Class::Xss)
    }));
}

#[tokio::test]
async fn benign_requests_are_forwarded_intact() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;

    let (resp, _) = send(
        get(&wafer.url("/products/42?color=blue&size=m"))
            .header("cookie", "session=3f9a0c; theme=dark")
            .header("x-custom", "kept")
            .header("connection", "keep-alive, x-hop")
            .header("x-hop", "dropped")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.headers["x-upstream"], "1");
    assert!(resp.headers["via"].to_str().unwrap().contains("wafer"));

    let form = "user=alice&password=correct+horse&remember=on";
    let json =
        r#"{"order":{"id":1234,"items":[{"sku":"A-1","qty":2}],"note":"leave at the door"}}"#;
    let boundary = "----wafer0123";
    let multipart = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nHoliday photos\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"beach.png\"\r\nContent-Type: image/png\r\n\r\n\
         \u{89}PNG\r\n\x1a\n binary-ish data\r\n--{boundary}--\r\n"
    );
    let posts = [
        (
            "/login",
            "application/x-www-form-urlencoded".to_owned(),
            form.to_owned(),
        ),
        (
            "/api/orders",
            "application/json".to_owned(),
            json.to_owned(),
        ),
        (
            "/upload",
            format!("multipart/form-data; boundary={boundary}"),
            multipart.clone(),
        ),
    ];
    for (path, ct, body) in &posts {
        let (resp, echoed) = send(
            get(&wafer.url(path))
                .method("POST")
                .header("content-type", ct)
                .body(Full::new(Bytes::from(body.clone())))
                .unwrap(),
        )
        .await;
        assert_eq!(resp.status, 200, "{path}");
        assert_eq!(echoed, body.as_bytes(), "{path}: body changed on the way");
    }

    let seen = origin.requests();
    assert_eq!(seen.len(), 4);
    let g = &seen[0];
    assert_eq!(
        (g.method.as_str(), g.uri.as_str()),
        ("GET", "/products/42?color=blue&size=m")
    );
    assert_eq!(g.headers["x-custom"], "kept");
    assert_eq!(g.headers["cookie"], "session=3f9a0c; theme=dark");
    assert_eq!(g.headers["host"], "shop.example");
    assert_eq!(g.headers["x-forwarded-for"], "127.0.0.1");
    assert_eq!(g.headers["x-forwarded-proto"], "http");
    assert_eq!(g.headers["x-forwarded-host"], "shop.example");
    assert!(g.headers["via"].to_str().unwrap().contains("wafer"));
    assert_eq!(g.headers["x-request-id"].len(), 16);
    assert!(
        !g.headers.contains_key("x-hop"),
        "hop-by-hop header forwarded"
    );
    for (s, (path, ct, body)) in seen[1..].iter().zip(&posts) {
        assert_eq!((s.method.as_str(), s.uri.as_str()), ("POST", *path));
        assert_eq!(s.headers["content-type"], ct.as_str());
        assert_eq!(s.body, body.as_bytes());
    }
    assert!(
        wafer.stop().await.is_empty(),
        "benign traffic produced events"
    );
}

#[tokio::test]
async fn upstream_down_is_502_and_slow_upstream_is_504() {
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let wafer = Wafer::start(closed, Setup::default()).await;
    let (resp, body) = send(
        get(&wafer.url("/"))
            .header("accept", "application/json")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 502);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["status"], 502);
    wafer.stop().await;

    let origin = Origin::start().await;
    let setup = Setup {
        timeouts: Timeouts {
            upstream_response: Duration::from_millis(300),
            ..Timeouts::default()
        },
        ..Setup::default()
    };
    let wafer = Wafer::start(origin.addr, setup).await;
    let (resp, _) = send(get(&wafer.url("/slow")).body(empty()).unwrap()).await;
    assert_eq!(resp.status, 504);
    wafer.stop().await;
}

#[tokio::test]
async fn http2_clients_are_inspected_and_forwarded() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let h2 = |path: &str| {
        Request::get(wafer.url(path))
            .version(http::Version::HTTP_2)
            .header("user-agent", "h2-test")
            .header("accept", "*/*")
    };
    let (resp, _) = send_h2(h2("/h2/page?x=1").body(empty()).unwrap()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.version, http::Version::HTTP_2);
    let (resp, _) = send_h2(h2(SQLI).body(empty()).unwrap()).await;
    assert_eq!(resp.status, 403);
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].uri, "/h2/page?x=1");
    assert_eq!(seen[0].headers["host"], wafer.addr.to_string());
    wafer.stop().await;
}

#[tokio::test]
async fn websocket_is_proxied_after_its_handshake_is_inspected() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    let (mut ws, resp) = tokio_tungstenite::connect_async(format!("ws://{}/ws", wafer.addr))
        .await
        .expect("handshake through Wafer");
    assert_eq!(resp.status(), 101);
    ws.send("hello through wafer".into()).await.unwrap();
    let echoed = ws.next().await.unwrap().unwrap();
    assert_eq!(echoed.into_text().unwrap().as_str(), "hello through wafer");
    ws.close(None).await.unwrap();

    let attack = format!("ws://{}/ws?q=%3Cscript%3Ealert(1)%3C/script%3E", wafer.addr);
    match tokio_tungstenite::connect_async(attack).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 403),
        other => panic!("an attack in the handshake must be refused, got {other:?}"),
    }
    assert_eq!(origin.requests().len(), 1);
    wafer.stop().await;
}

#[tokio::test]
async fn detect_mode_forwards_and_records_the_attack() {
    let origin = Origin::start().await;
    let mut setup = Setup::default();
    setup.engine.policy.mode = Mode::Detect;
    let wafer = Wafer::start(origin.addr, setup).await;
    let (resp, _) = send(get(&wafer.url(SQLI)).body(empty()).unwrap()).await;
    assert_eq!(resp.status, 200);
    assert_eq!(origin.requests().len(), 1);
    let events = wafer.stop().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, Action::Flag);
    assert!(events[0].score >= events[0].threshold);
}

#[tokio::test]
async fn ip_lists_decide_before_inspection_and_trusted_proxies_name_the_client() {
    let origin = Origin::start().await;
    let mut setup = Setup::default();
    setup.ip_lists.block = vec!["203.0.113.0/24".parse().unwrap()];
    setup.ip_lists.allow = vec!["198.51.100.7/32".parse().unwrap()];
    setup.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    let wafer = Wafer::start(origin.addr, setup).await;
    let (resp, _) = send(
        get(&wafer.url("/"))
            .header("x-forwarded-for", "203.0.113.9")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 403, "blocked network");
    let (resp, _) = send(
        get(&wafer.url(SQLI))
            .header("x-forwarded-for", "198.51.100.7")
            .body(empty())
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 200, "allow-listed client is not inspected");
    let seen = origin.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(
        seen[0].headers["x-forwarded-for"],
        "198.51.100.7, 127.0.0.1"
    );
    let events = wafer.stop().await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_ip.to_string(), "203.0.113.9");
    assert!(events[0].reason.as_deref().unwrap().contains("block list"));
}

#[tokio::test]
async fn large_bodies_stream_past_the_inspection_limit_or_get_413() {
    let origin = Origin::start().await;
    let wafer = Wafer::start(origin.addr, Setup::default()).await;
    // 1 MiB of form data, well past the 128 KiB inspection limit.
    let big = format!("data={}", "a".repeat(1 << 20));
    let (resp, echoed) = send(
        get(&wafer.url("/bulk"))
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(big.clone())))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 200);
    assert_eq!(
        echoed.len(),
        big.len(),
        "inspect_partial forwards the whole body"
    );
    assert_eq!(origin.requests()[0].body, big.as_bytes());
    wafer.stop().await;

    let mut setup = Setup::default();
    setup.engine.limits.body_overflow = BodyOverflow::Reject;
    let wafer = Wafer::start(origin.addr, setup).await;
    let (resp, _) = send(
        get(&wafer.url("/bulk"))
            .method("POST")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(big)))
            .unwrap(),
    )
    .await;
    assert_eq!(resp.status, 413);
    assert_eq!(
        origin.requests().len(),
        1,
        "the rejected body never reached the upstream"
    );
    wafer.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_4xx_never_a_crash() {
    let origin = Origin::start().await;
    let setup = Setup {
        max_header_bytes: 16 * 1024,
        timeouts: Timeouts {
            client_body: Duration::from_millis(300),
            ..Timeouts::default()
        },
        ..Setup::default()
    };
    let wafer = Wafer::start(origin.addr, setup).await;
    let post = |ct: &str, body: &'static [u8]| {
        get(&wafer.url("/api"))
            .method("POST")
            .header("content-type", ct)
            .body(Full::new(Bytes::from_static(body)))
            .unwrap()
    };
    let (resp, _) = send(post("application/json", b"{\"a\": [1, 2,, }")).await;
    assert_eq!(resp.status, 403, "malformed JSON");
    let (resp, _) = send(post(
        "multipart/form-data; boundary=xyz",
        b"--xyz\r\nno headers here",
    ))
    .await;
    assert_eq!(resp.status, 403, "malformed multipart");
    let (resp, _) = send(post(
        "application/json",
        b"{\"name\": \"\xff\xfe caf\xe9\"}",
    ))
    .await;
    assert!(
        resp.status.is_client_error() || resp.status == 200,
        "invalid UTF-8: {}",
        resp.status
    );

    let huge = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(64 * 1024)
    );
    let answer = raw(wafer.addr, huge.as_bytes(), Duration::from_secs(2)).await;
    assert!(
        answer.starts_with("HTTP/1.1 431"),
        "huge header: {answer:.80}"
    );
    let answer = raw(
        wafer.addr,
        b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 400"),
        "raw non-ASCII target: {answer:.80}"
    );
    let answer = raw(
        wafer.addr,
        b"\x16\x03\x01 garbage\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 400"),
        "{answer:.80}"
    );
    // A body that stops arriving: 408 once the idle timeout passes.
    let answer = raw(
        wafer.addr,
        b"POST /form HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nAccept: */*\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\na=1",
        Duration::from_secs(3),
    )
    .await;
    assert!(
        answer.starts_with("HTTP/1.1 408"),
        "stalled body: {answer:.80}"
    );

    // Still serving after all of that.
    let (resp, _) = send(get(&wafer.url("/still-up")).body(empty()).unwrap()).await;
    assert_eq!(resp.status, 200);
    assert!(
        origin
            .requests()
            .iter()
            .all(|s| s.uri != "/api" || s.body.starts_with(b"{\"name\""))
    );
    wafer.stop().await;
}
