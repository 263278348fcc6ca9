//! A small demo application to put Wafer in front of: a shop search page, a
//! login form and a JSON echo API, each deliberately naive (it reflects input)
//! so that what Wafer blocks is easy to see. Every reply carries `X-Upstream: 1`
//! so `../shared/bench/wafeval.py` can tell passed from blocked.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::convert::Infallible;
use tokio::net::TcpListener;

pub(crate) mod traffic;

const PAGE: &str = r#"<!doctype html><html><head><meta charset="utf-8"><title>Wafer demo shop</title>
<style>body{font-family:system-ui,sans-serif;max-width:42rem;margin:3rem auto;padding:0 1rem;color:#1f2937}
input,button{font:inherit;padding:.4rem .6rem}code{background:#f3f4f6;padding:.1rem .3rem}</style></head>
<body><h1>Demo shop</h1><p>This app trusts its input. Wafer stands in front of it.</p>
<form action="/search"><input name="q" placeholder="search products"> <button>Search</button></form>
<form action="/login" method="post"><p><input name="user" placeholder="user"> <input name="password" type="password" placeholder="password"> <button>Log in</button></p></form>
<p>Try <a href="/search?q=blue+shoes">a normal search</a> or <a href="/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--">an SQL injection</a>.</p>
</body></html>"#;

/// Serves the demo app on `listener` until the task is dropped.
pub(crate) async fn serve(listener: TcpListener) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        tokio::spawn(async move {
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service_fn(handle))
                .await;
        });
    }
}

async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let method = req.method().clone();
    let body = match Limited::new(req.into_body(), 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                "text/plain",
                "body too large\n".into(),
            ));
        }
    };
    let resp = match (method.as_str(), path.as_str()) {
        ("GET", "/") => reply(StatusCode::OK, "text/html; charset=utf-8", PAGE.into()),
        ("GET", "/search") => {
            let q = form_value(&query, "q").unwrap_or_default();
            let html = format!(
                "<!doctype html><p>Results for <b>{q}</b>: none yet.</p><a href=\"/\">back</a>"
            );
            reply(StatusCode::OK, "text/html; charset=utf-8", html)
        }
        ("POST", "/login") => {
            let user = form_value(&String::from_utf8_lossy(&body), "user").unwrap_or_default();
            reply(
                StatusCode::OK,
                "text/html; charset=utf-8",
                format!("<!doctype html><p>Welcome, {user}.</p>"),
            )
        }
        ("POST", "/api/echo") => reply(
            StatusCode::OK,
            "application/json",
            String::from_utf8_lossy(&body).into_owned(),
        ),
        _ => reply(
            StatusCode::OK,
            "text/plain",
            format!("{method} {path} ok\n"),
        ),
    };
    Ok(resp)
}

fn reply(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        r.headers_mut().insert(http::header::CONTENT_TYPE, v);
    }
    r.headers_mut()
        .insert("x-upstream", http::HeaderValue::from_static("1"));
    r
}

fn form_value(query: &str, key: &str) -> Option<String> {
    wafer_engine::body::urlencoded::pairs(query, 64)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}
