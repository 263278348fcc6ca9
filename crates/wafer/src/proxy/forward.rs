//! The upstream side: a pooled keep-alive HTTP/1.1 client (plain, or over
//! TLS: `upstream_tls`), header hygiene
//! (hop-by-hop headers stripped, `X-Forwarded-*`, `X-Real-IP`, `Forwarded`
//! and `Via` set, `Content-Length` made canonical) and timeouts.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::uri::{Authority, Scheme};
use http::{Request, Response, Uri, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::net::IpAddr;
use std::time::Duration;

use super::body::ReplayBody;
use super::client_ip::ClientAddr;
use super::request_id::RequestId;
use super::upstream_tls::UpstreamTls;
use super::{ProxyError, Timeouts};

/// Headers that describe one connection, not the request (RFC 9110 §7.6.1):
/// never forwarded as they are.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    // Only ever sent with `Upgrade: h2c`, which is never forwarded (RFC 9113 drops it too).
    "http2-settings",
];

/// Headers a `Connection` option cannot remove.
const END_TO_END: &[&str] = &[
    "content-type",
    "content-length",
    "content-encoding",
    "host",
    "cookie",
    "authorization",
];

type TlsClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, ReplayBody>;

/// One server's `Upstream` per TLS settings key.
type TlsVariants = Vec<(String, std::sync::Arc<Upstream>)>;

/// A server's client: plain for `http://`, TLS for `https://`.
#[derive(Clone)]
enum Conn {
    Plain(Client<HttpConnector, ReplayBody>),
    Tls(TlsClient),
}

impl Conn {
    fn request(&self, req: Request<ReplayBody>) -> hyper_util::client::legacy::ResponseFuture {
        match self {
            Conn::Plain(c) => c.request(req),
            Conn::Tls(c) => c.request(req),
        }
    }
}

pub(super) struct Upstream {
    client: Conn,
    scheme: Scheme,
    authority: Authority,
    /// Path prefix of the upstream URI, without a trailing `/`.
    prefix: String,
    display: String,
    response_timeout: Duration,
}

/// One worker's upstream client: one connection pool for every server of
/// every site (keyed by server by hyper), and each server's `Upstream` made
/// once, on its first request, so that sites and pools can be swapped while
/// the worker runs.
pub(super) struct Upstreams {
    client: Client<HttpConnector, ReplayBody>,
    /// One TLS client per distinct TLS settings (`UpstreamTls::key`).
    tls_clients: std::sync::Mutex<std::collections::HashMap<String, TlsClient>>,
    timeouts: Timeouts,
    /// By server, then by TLS settings (`UpstreamTls::key`; empty for
    /// `http://`): found by reference, so a request allocates nothing here.
    by_server: std::sync::Mutex<std::collections::HashMap<Uri, TlsVariants>>,
}

impl Upstreams {
    pub(super) fn new(timeouts: &Timeouts) -> Upstreams {
        Upstreams {
            client: client_builder().build(http_connector(timeouts)),
            tls_clients: Default::default(),
            timeouts: timeouts.clone(),
            by_server: Default::default(),
        }
    }

    /// The server at `uri` (checked when its site was made: `Upstream::target`);
    /// an `https://` one with its pool's `tls`, else the system's roots.
    pub(super) fn get(
        &self,
        uri: &Uri,
        tls: Option<&std::sync::Arc<UpstreamTls>>,
    ) -> Result<std::sync::Arc<Upstream>, ProxyError> {
        let tls = if uri.scheme() == Some(&Scheme::HTTPS) {
            Some(match tls {
                Some(t) => std::sync::Arc::clone(t),
                None => UpstreamTls::system().map_err(ProxyError::BadUpstream)?,
            })
        } else {
            None
        };
        let tls_key = tls.as_ref().map_or("", |t| t.key());
        let mut map = self.by_server.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(u) = map
            .get(uri)
            .and_then(|v| v.iter().find(|(k, _)| k == tls_key))
        {
            return Ok(std::sync::Arc::clone(&u.1));
        }
        let conn = match &tls {
            Some(tls) => {
                let mut clients = self.tls_clients.lock().unwrap_or_else(|e| e.into_inner());
                let client = clients
                    .entry(tls_key.to_owned())
                    .or_insert_with(|| {
                        client_builder().build(tls.connector(http_connector(&self.timeouts)))
                    })
                    .clone();
                Conn::Tls(client)
            }
            None => Conn::Plain(self.client.clone()),
        };
        let u = std::sync::Arc::new(Upstream::with_client(conn, uri, &self.timeouts)?);
        map.entry(uri.clone())
            .or_default()
            .push((tls_key.to_owned(), std::sync::Arc::clone(&u)));
        Ok(u)
    }
}

fn http_connector(timeouts: &Timeouts) -> HttpConnector {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(timeouts.upstream_connect));
    connector.set_nodelay(true);
    connector
}

fn client_builder() -> hyper_util::client::legacy::Builder {
    let mut b = Client::builder(TokioExecutor::new());
    b.timer(TokioTimer::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(1024);
    b
}

/// Facts about the client request that go into the forwarded headers.
pub(super) struct ForwardInfo<'a> {
    pub(super) client: &'a ClientAddr,
    pub(super) request_id: &'a RequestId,
    pub(super) upgrade: Option<HeaderValue>,
    /// The client's connection was TLS (`X-Forwarded-Proto: https`).
    pub(super) tls: bool,
}

impl Upstream {
    /// The upstream's scheme and authority, or why it cannot be one.
    pub(super) fn target(uri: &Uri) -> Result<(Scheme, Authority), ProxyError> {
        let scheme = uri.scheme().cloned().unwrap_or(Scheme::HTTP);
        if scheme != Scheme::HTTP && scheme != Scheme::HTTPS {
            return Err(ProxyError::BadUpstream(format!(
                "{uri}: an upstream is http:// or https://"
            )));
        }
        let authority = uri
            .authority()
            .cloned()
            .ok_or_else(|| ProxyError::BadUpstream(format!("{uri}: no host")))?;
        Ok((scheme, authority))
    }

    /// `uri` through `client` (whose pool keeps connections per server).
    fn with_client(client: Conn, uri: &Uri, timeouts: &Timeouts) -> Result<Upstream, ProxyError> {
        let (scheme, authority) = Self::target(uri)?;
        let display = format!("{scheme}://{authority}");
        Ok(Upstream {
            client,
            scheme,
            prefix: uri.path().trim_end_matches('/').to_owned(),
            display,
            authority,
            response_timeout: timeouts.upstream_response,
        })
    }

    pub(super) fn display(&self) -> &str {
        &self.display
    }

    /// Sends the request and waits for the response head (bounded by the response timeout).
    pub(super) async fn send(
        &self,
        parts: http::request::Parts,
        body: ReplayBody,
        info: &ForwardInfo<'_>,
    ) -> Result<Response<Incoming>, ProxyError> {
        let req = self.build(parts, body, info)?;
        let sent = tokio::time::timeout(self.response_timeout, self.client.request(req)).await;
        match sent {
            Err(_) => Err(ProxyError::UpstreamTimeout {
                upstream: self.display.clone(),
                after: self.response_timeout,
            }),
            Ok(Err(source)) if source.is_connect() => Err(ProxyError::Connect {
                upstream: self.display.clone(),
                source,
            }),
            Ok(Err(source)) => Err(ProxyError::Upstream {
                upstream: self.display.clone(),
                source,
            }),
            Ok(Ok(resp)) => Ok(resp),
        }
    }

    fn build(
        &self,
        parts: http::request::Parts,
        body: ReplayBody,
        info: &ForwardInfo<'_>,
    ) -> Result<Request<ReplayBody>, ProxyError> {
        let pq = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let uri = Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{pq}", self.prefix))
            .build()
            .map_err(ProxyError::BuildRequest)?;
        // The name the request was routed by (`hygiene` refuses an HTTP/2
        // `host` header that differs from `:authority`).
        let host = super::sites::request_host(parts.version, &parts.uri, &parts.headers)
            .and_then(|h| HeaderValue::from_bytes(h).ok());
        let mut headers = strip_hop_by_hop(parts.headers);
        canonical_content_length(&mut headers);
        // Wafer already answered any `Expect: 100-continue` by reading the body.
        headers.remove(header::EXPECT);
        if let Some(host) = &host {
            headers.insert(header::HOST, host.clone());
            headers.insert(HeaderName::from_static("x-forwarded-host"), host.clone());
        }
        let ClientAddr {
            peer,
            peer_trusted,
            ip: client,
        } = *info.client;
        set_forwarded_for(&mut headers, peer, peer_trusted);
        let proto = if info.tls { "https" } else { "http" };
        set_forwarded(&mut headers, peer, peer_trusted, host.as_ref(), proto);
        // Whatever the client sent as its address is replaced by the one Wafer decided on.
        if let Ok(v) = HeaderValue::from_str(&crate::guard::canonical(client).to_string()) {
            headers.insert(HeaderName::from_static("x-real-ip"), v);
        }
        if !(peer_trusted && headers.contains_key("x-forwarded-proto")) {
            headers.insert(
                HeaderName::from_static("x-forwarded-proto"),
                HeaderValue::from_static(proto),
            );
        }
        append_via(&mut headers, parts.version);
        info.request_id.stamp(&mut headers);
        if let Some(proto) = &info.upgrade {
            headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
            headers.insert(header::UPGRADE, proto.clone());
            // Extensions (permessage-deflate) would make frames Wafer cannot
            // inspect: none is offered (see `websocket`).
            headers.remove(header::SEC_WEBSOCKET_EXTENSIONS);
        }
        let mut req = Request::new(body);
        *req.method_mut() = parts.method;
        *req.uri_mut() = uri;
        *req.version_mut() = Version::HTTP_11;
        *req.headers_mut() = headers;
        Ok(req)
    }
}

/// Removes hop-by-hop headers, including those the `Connection` header names.
pub(super) fn strip_hop_by_hop(mut headers: HeaderMap) -> HeaderMap {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for name in named {
        // `Connection` may not take away what says what the body is or whom
        // the request is for: the upstream must get the request Wafer inspected.
        if !END_TO_END.contains(&name.as_str()) {
            headers.remove(name);
        }
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
    headers
}

fn set_forwarded_for(headers: &mut HeaderMap, peer: IpAddr, peer_trusted: bool) {
    let peer = crate::guard::canonical(peer).to_string();
    // From an untrusted peer the header's earlier entries are whatever the client made up.
    let value = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(prev) if peer_trusted && !prev.trim().is_empty() => format!("{prev}, {peer}"),
        _ => peer,
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static("x-forwarded-for"), v);
    }
}

/// `Content-Length` as plain digits: hyper accepts `003` and `3, 3` and
/// would pass them on as they came, for the upstream to read its own way.
/// One that does not read as a number (hyper refuses those first) is removed,
/// and the client library frames the body by its real size.
fn canonical_content_length(headers: &mut HeaderMap) {
    let Some(v) = headers.get(header::CONTENT_LENGTH) else {
        return;
    };
    let mut values = v.to_str().unwrap_or("!").split(',').map(|n| {
        let n = n.trim_matches([' ', '\t']);
        (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .then(|| n.parse::<u64>().ok())
            .flatten()
    });
    let first = values.next().flatten();
    match first {
        Some(n) if values.all(|v| v == Some(n)) => {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(n));
        }
        _ => {
            headers.remove(header::CONTENT_LENGTH);
        }
    }
}

/// `Forwarded` (RFC 7239) says what Wafer saw: from an untrusted peer
/// whatever the client wrote is replaced, from a trusted proxy Wafer's
/// element is appended to the proxy's, as `X-Forwarded-For` is.
fn set_forwarded(
    headers: &mut HeaderMap,
    peer: IpAddr,
    peer_trusted: bool,
    host: Option<&HeaderValue>,
    proto: &str,
) {
    let node = match crate::guard::canonical(peer) {
        IpAddr::V4(ip) => ip.to_string(),
        IpAddr::V6(ip) => format!("\"[{ip}]\""),
    };
    let mut ours = format!("for={node};proto={proto}");
    // A host that is not a token is quoted; `hygiene` allows no quote or backslash in it.
    if let Some(h) = host.and_then(|h| h.to_str().ok()) {
        ours.push_str(&format!(";host=\"{h}\""));
    }
    let prev: Vec<&str> = headers
        .get_all(header::FORWARDED)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.trim().is_empty())
        .collect();
    let value = if peer_trusted && !prev.is_empty() {
        format!("{}, {ours}", prev.join(", "))
    } else {
        ours
    };
    match HeaderValue::from_str(&value) {
        Ok(v) => {
            headers.insert(header::FORWARDED, v);
        }
        Err(_) => {
            headers.remove(header::FORWARDED);
        }
    }
}

fn append_via(headers: &mut HeaderMap, version: Version) {
    let ours = match version {
        Version::HTTP_2 => "2 wafer",
        Version::HTTP_10 => "1.0 wafer",
        _ => "1.1 wafer",
    };
    let value = match headers.get(header::VIA).and_then(|v| v.to_str().ok()) {
        Some(prev) => format!("{prev}, {ours}"),
        None => ours.to_owned(),
    };
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(header::VIA, v);
    }
}

/// Cleans the upstream's response headers for the client. A `101 Switching
/// Protocols` keeps `Upgrade` and `Connection`, which are the point of it.
pub(super) fn response_headers(headers: &mut HeaderMap, switching: bool) {
    let upgrade = switching
        .then(|| headers.get(header::UPGRADE).cloned())
        .flatten();
    *headers = strip_hop_by_hop(std::mem::take(headers));
    if let Some(up) = upgrade {
        headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
        headers.insert(header::UPGRADE, up);
    }
    append_via(headers, Version::HTTP_11);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_and_the_ones_connection_names_are_dropped() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, x-secret".parse().unwrap());
        h.insert("x-secret", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("x-kept", "yes".parse().unwrap());
        let h = strip_hop_by_hop(h);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-kept"], "yes");
    }

    #[test]
    fn connection_cannot_take_away_the_body_type_or_host() {
        let mut h = HeaderMap::new();
        h.insert(
            "connection",
            "content-type, content-length, host, x-hop".parse().unwrap(),
        );
        h.insert(
            "content-type",
            "application/x-www-form-urlencoded".parse().unwrap(),
        );
        h.insert("content-length", "3".parse().unwrap());
        h.insert("host", "a".parse().unwrap());
        h.insert("x-hop", "1".parse().unwrap());
        let h = strip_hop_by_hop(h);
        assert_eq!(h.len(), 3, "{h:?}");
        assert!(h.contains_key("content-type") && h.contains_key("host"));
    }

    #[test]
    fn content_length_is_sent_as_plain_digits() {
        for (sent, canonical) in [
            ("003", Some("3")),
            ("3", Some("3")),
            ("3, 3", Some("3")),
            ("0003,3", Some("3")),
            ("00", Some("0")),
            ("3, 4", None),
            ("+3", None),
            ("", None),
            ("99999999999999999999999", None),
        ] {
            let mut h = HeaderMap::new();
            h.insert("content-length", sent.parse().unwrap());
            canonical_content_length(&mut h);
            assert_eq!(
                h.get("content-length").map(|v| v.to_str().unwrap()),
                canonical,
                "{sent:?}"
            );
        }
    }

    #[test]
    fn forwarded_is_wafers_own_unless_a_trusted_proxy_sent_one() {
        let host = HeaderValue::from_static("shop.example:8080");
        let mut h = HeaderMap::new();
        h.insert("forwarded", "for=6.6.6.6;host=evil".parse().unwrap());
        set_forwarded(
            &mut h,
            "192.0.2.1".parse().unwrap(),
            false,
            Some(&host),
            "http",
        );
        assert_eq!(
            h["forwarded"],
            "for=192.0.2.1;proto=http;host=\"shop.example:8080\""
        );
        let mut h = HeaderMap::new();
        h.insert("forwarded", "for=198.51.100.4".parse().unwrap());
        set_forwarded(&mut h, "2001:db8::1".parse().unwrap(), true, None, "https");
        assert_eq!(
            h["forwarded"],
            "for=198.51.100.4, for=\"[2001:db8::1]\";proto=https"
        );
    }

    #[test]
    fn forwarded_for_is_replaced_for_untrusted_peers_and_appended_for_trusted() {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "6.6.6.6".parse().unwrap());
        set_forwarded_for(&mut h, "192.0.2.1".parse().unwrap(), false);
        assert_eq!(h["x-forwarded-for"], "192.0.2.1");
        set_forwarded_for(&mut h, "10.0.0.1".parse().unwrap(), true);
        assert_eq!(h["x-forwarded-for"], "192.0.2.1, 10.0.0.1");
    }
}
