//! HTTPS on the node's TLS listener: certificates by SNI from a test CA,
//! ALPN h2 and http/1.1, `X-Forwarded-Proto: https`, and a request for
//! another site than the connection's answered 421.

use std::sync::Arc;

use http_body_util::BodyExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wafer::config::sites::{CertFiles, HostPattern, SiteConfig, Sites, TlsConfig};
use wafer::guard::IpLists;

use crate::admin::{Node, SQLI};
use crate::harness::{Origin, empty};

struct TestCa {
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

impl TestCa {
    fn new() -> TestCa {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = p.self_signed(&key).unwrap();
        TestCa { key, cert }
    }

    /// A certificate for `names`, written to `dir`.
    fn issue(&self, dir: &std::path::Path, file: &str, names: &[&str]) -> CertFiles {
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &self.cert, &self.key)
            .unwrap();
        let files = CertFiles {
            cert: dir.join(format!("{file}.pem")),
            key: dir.join(format!("{file}.key")),
            ocsp: None,
        };
        std::fs::write(&files.cert, cert.pem()).unwrap();
        std::fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    }

    fn client(
        &self,
        alpn: &[&[u8]],
        versions: &[&'static rustls::SupportedProtocolVersion],
    ) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.cert.der().clone()).unwrap();
        #[allow(deprecated)]
        let provider = rustls::crypto::ring::default_provider();
        let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        tokio_rustls::TlsConnector::from(Arc::new(cfg))
    }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS connection to `addr` naming `sni`; fails when the certificate is not for `sni`.
async fn connect(
    c: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    sni: &str,
) -> std::io::Result<Tls> {
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let name = rustls::pki_types::ServerName::try_from(sni.to_owned()).unwrap();
    c.connect(name, tcp).await
}

/// One HTTP/1.1 request over `s`; the whole response.
async fn h1(mut s: Tls, path: &str, host: &str) -> String {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn https_serves_each_site_its_certificate_and_keeps_requests_on_it() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new();
    let shop_cert = ca.issue(dir.path(), "shop", &["shop.example", "*.shop.example"]);
    let blog_cert = ca.issue(dir.path(), "blog", &["blog.example"]);
    let default_cert = ca.issue(dir.path(), "default", &["default.example"]);
    let (shop, blog) = (Origin::start().await, Origin::start().await);
    let (shop_addr, blog_addr) = (shop.addr, blog.addr);
    let node = Node::start_cfg(move |cfg| {
        let site =
            |name: &str, hosts: &[&str], addr: std::net::SocketAddr, tls: CertFiles| SiteConfig {
                name: name.into(),
                hosts: hosts
                    .iter()
                    .map(|h| HostPattern::parse(h).unwrap())
                    .collect(),
                upstream: format!("http://{addr}").parse().unwrap(),
                policy: cfg.engine.policy.clone(),
                ip_lists: IpLists::default(),
                throttle: Default::default(),
                tls: Some(tls),
                acme: false,
                https_redirect: false,
                hsts: None,
                servers: Vec::new(),
                balance: wafer::proxy::pool::Balance::RoundRobin,
                ejection: Default::default(),
                health: None,
                upstream_tls: Default::default(),
            };
        // The shop is HTTPS only: plain HTTP is redirected, HTTPS answers carry HSTS.
        let mut shop_site = site(
            "shop",
            &["shop.example", "*.shop.example"],
            shop_addr,
            shop_cert,
        );
        shop_site.https_redirect = true;
        shop_site.hsts = Some("max-age=63072000; includeSubDomains".into());
        cfg.sites = Sites {
            sites: vec![
                shop_site,
                site("blog", &["blog.example"], blog_addr, blog_cert),
                SiteConfig {
                    name: "default".into(),
                    hosts: Vec::new(),
                    upstream: cfg.upstream.clone().unwrap(),
                    policy: cfg.engine.policy.clone(),
                    ip_lists: IpLists::default(),
                    throttle: Default::default(),
                    tls: None,
                    acme: false,
                    https_redirect: false,
                    hsts: None,
                    servers: Vec::new(),
                    balance: wafer::proxy::pool::Balance::RoundRobin,
                    ejection: Default::default(),
                    health: None,
                    upstream_tls: Default::default(),
                },
            ],
            default: Some("default".into()),
        };
        cfg.tls = Some(TlsConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            default_cert: Some(default_cert),
        });
    })
    .await;
    let addr = node.running.tls_addr.expect("an HTTPS listener");
    let c = ca.client(
        &[b"http/1.1"],
        &[&rustls::version::TLS13, &rustls::version::TLS12],
    );

    // Each name gets a certificate valid for it (the client verifies it
    // against the test CA and the name), and reaches its own upstream.
    let r = h1(
        connect(&c, addr, "www.shop.example").await.unwrap(),
        "/cart",
        "www.shop.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    let r = h1(
        connect(&c, addr, "blog.example").await.unwrap(),
        "/post",
        "blog.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // A name no site has a certificate for gets the default one.
    let r = h1(
        connect(&c, addr, "default.example").await.unwrap(),
        "/",
        "default.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    // So a client naming a site with the default certificate's name is refused by its own check.
    assert!(connect(&c, addr, "unknown.example").await.is_err());
    // Inspection runs on HTTPS as on HTTP.
    let r = h1(
        connect(&c, addr, "shop.example").await.unwrap(),
        SQLI,
        "shop.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 403"), "{r}");
    // Domain fronting: the blog's certificate, then a request for the shop.
    let r = h1(
        connect(&c, addr, "blog.example").await.unwrap(),
        "/admin",
        "shop.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 421"), "{r}");

    // HSTS on the shop's HTTPS answers only.
    let r = h1(
        connect(&c, addr, "shop.example").await.unwrap(),
        "/hsts",
        "shop.example",
    )
    .await;
    assert!(
        r.to_ascii_lowercase()
            .contains("strict-transport-security: max-age=63072000; includesubdomains"),
        "{r}"
    );
    let r = h1(
        connect(&c, addr, "blog.example").await.unwrap(),
        "/no-hsts",
        "blog.example",
    )
    .await;
    assert!(
        !r.to_ascii_lowercase().contains("strict-transport-security"),
        "{r}"
    );
    // Plain HTTP to the shop is redirected to the same target on the HTTPS
    // port, and reaches no upstream; the blog is served over plain HTTP, without HSTS.
    let plain = node.running.proxy_addr;
    let r = crate::harness::raw(
        plain,
        b"GET /cart?x=1 HTTP/1.1\r\nHost: Shop.Example:8080\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 308"), "{r}");
    let want = format!(
        "location: https://Shop.Example:{}/cart?x=1\r\n",
        addr.port()
    );
    assert!(
        r.to_ascii_lowercase().contains(&want.to_ascii_lowercase()),
        "{r}"
    );
    let r = crate::harness::raw(
        plain,
        b"GET /plain HTTP/1.1\r\nHost: blog.example\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(
        !r.to_ascii_lowercase().contains("strict-transport-security"),
        "{r}"
    );
    // A malformed request to the HTTPS-only site is refused, not redirected.
    let r = crate::harness::raw(
        plain,
        b"GET / HTTP/1.1\r\nHost: shop.example\r\nHost: shop.example\r\nConnection: close\r\n\r\n",
        std::time::Duration::from_secs(2),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");

    let seen_shop = shop.seen.lock().unwrap().clone();
    assert_eq!(seen_shop.len(), 2, "/cart and /hsts only: {seen_shop:?}");
    assert_eq!(seen_shop[0].uri, "/cart");
    assert_eq!(seen_shop[0].headers["x-forwarded-proto"], "https");
    assert!(
        seen_shop[0].headers["forwarded"]
            .to_str()
            .unwrap()
            .contains("proto=https"),
        "{:?}",
        seen_shop[0].headers
    );
    let seen_blog = blog.seen.lock().unwrap().clone();
    assert_eq!(seen_blog.len(), 3, "/post, /no-hsts, /plain: {seen_blog:?}");

    // TLS 1.2 alone is served too.
    let c12 = ca.client(&[b"http/1.1"], &[&rustls::version::TLS12]);
    let s = connect(&c12, addr, "blog.example").await.unwrap();
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert!(
        h1(s, "/v12", "blog.example")
            .await
            .starts_with("HTTP/1.1 200")
    );

    // ALPN: h2 is chosen when offered, and serves HTTP/2.
    let c2 = ca.client(&[b"h2", b"http/1.1"], &[&rustls::version::TLS13]);
    let s = connect(&c2, addr, "blog.example").await.unwrap();
    assert_eq!(s.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(s),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let resp = sender
        .send_request(
            http::Request::get("https://blog.example/over-h2")
                .header("user-agent", "Mozilla/5.0 Firefox/133.0")
                .body(empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let _ = resp.into_body().collect().await;
    assert_eq!(blog.seen.lock().unwrap().last().unwrap().uri, "/over-h2");

    // A client that speaks no TLS at all is dropped, and the port keeps serving.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(5),
        plain.read_to_end(&mut buf),
    )
    .await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));
    let r = h1(
        connect(&c, addr, "shop.example").await.unwrap(),
        "/again",
        "shop.example",
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    node.running.stop().await.unwrap();
}

/// Runs `openssl` with `args` in `dir`; its output, or the test fails saying why.
fn openssl(dir: &std::path::Path, args: &[&str], stdin: Option<&[u8]>) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl (Debian's openssl package) runs");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() || args[0] == "s_client",
        "openssl {args:?}: {text}"
    );
    text
}

/// An OCSP response made by the CA with `openssl ocsp` for `cert`, with its
/// status as the CA's index says (`V` good, `R` revoked).
fn ocsp_response(dir: &std::path::Path, cert: &str, status: char, out: &str) {
    let serial = openssl(dir, &["x509", "-in", cert, "-noout", "-serial"], None);
    let serial = serial.trim().trim_start_matches("serial=");
    let revoked = if status == 'R' { "260101000000Z" } else { "" };
    std::fs::write(
        dir.join("index.txt"),
        format!("{status}\t491231235959Z\t{revoked}\t{serial}\tunknown\t/CN=shop.example\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "ocsp",
            "-issuer",
            "ca.pem",
            "-cert",
            cert,
            "-no_nonce",
            "-reqout",
            "req.der",
        ],
        None,
    );
    openssl(
        dir,
        &[
            "ocsp",
            "-index",
            "index.txt",
            "-rsigner",
            "ca.pem",
            "-rkey",
            "ca.key",
            "-CA",
            "ca.pem",
            "-reqin",
            "req.der",
            "-respout",
            out,
            "-ndays",
            "1",
        ],
        None,
    );
}

/// What `openssl s_client -status` says of the stapled OCSP response.
fn stapled(dir: &std::path::Path, addr: std::net::SocketAddr) -> String {
    let out = openssl(
        dir,
        &[
            "s_client",
            "-connect",
            &addr.to_string(),
            "-servername",
            "shop.example",
            "-status",
            "-CAfile",
            "ca.pem",
        ],
        Some(b""),
    );
    if out.contains("OCSP response: no response sent") {
        "none".into()
    } else if out.contains("Cert Status: good") {
        "good".into()
    } else {
        out
    }
}

/// OCSP stapling: a good, current response from the CA is stapled (seen by
/// `openssl s_client -status`); when the file is replaced by a "revoked"
/// one, the certificate is served without a staple from then on, and a good
/// one brings the staple back, without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_good_ocsp_response_is_stapled_and_a_revoked_one_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ca = TestCa::new();
    std::fs::write(d.join("ca.pem"), ca.cert.pem()).unwrap();
    std::fs::write(d.join("ca.key"), ca.key.serialize_pem()).unwrap();
    let mut cert = ca.issue(d, "shop", &["shop.example"]);
    ocsp_response(d, "shop.pem", 'V', "good.der");
    ocsp_response(d, "shop.pem", 'R', "revoked.der");
    // The checks behind it, on the same responses: only a current "good" for this very certificate.
    let leaf = |name: &str| {
        use rustls_pki_types::pem::PemObject;
        rustls_pki_types::CertificateDer::from_pem_file(d.join(name)).unwrap()
    };
    let good = std::fs::read(d.join("good.der")).unwrap();
    let now = std::time::SystemTime::now();
    let check = |resp: &[u8], cert: &str, at| wafer::proxy::ocsp::check(resp, &leaf(cert), at);
    assert!(check(&good, "shop.pem", now).unwrap().unwrap() > now);
    let later = now + std::time::Duration::from_secs(2 * 86_400);
    assert!(
        check(&good, "shop.pem", later)
            .unwrap_err()
            .contains("expired")
    );
    let earlier = now - std::time::Duration::from_secs(3600);
    assert!(
        check(&good, "shop.pem", earlier)
            .unwrap_err()
            .contains("not valid yet")
    );
    ca.issue(d, "other", &["other.example"]);
    assert!(
        check(&good, "other.pem", now)
            .unwrap_err()
            .contains("serial")
    );
    let revoked = std::fs::read(d.join("revoked.der")).unwrap();
    assert!(
        check(&revoked, "shop.pem", now)
            .unwrap_err()
            .contains("revoked")
    );
    assert!(check(&good[..good.len() / 2], "shop.pem", now).is_err());

    let staple = d.join("shop.ocsp");
    std::fs::copy(d.join("good.der"), &staple).unwrap();
    cert.ocsp = Some(staple.clone());
    let node = Node::start_cfg(move |cfg| {
        let mut site = SiteConfig::new(
            "shop",
            vec![HostPattern::parse("shop.example").unwrap()],
            cfg.upstream.clone().unwrap(),
            cfg.engine.policy.clone(),
        );
        site.tls = Some(cert);
        cfg.sites = Sites {
            sites: vec![site],
            default: Some("shop".into()),
        };
        cfg.tls = Some(TlsConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            default_cert: None,
        });
    })
    .await;
    let addr = node.running.tls_addr.unwrap();
    assert_eq!(stapled(d, addr), "good");

    // The files change in place, as a renewal job writes them; the check
    // every 5 s picks the change up.
    let until = |want: &'static str| async move {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        loop {
            let now = stapled(d, addr);
            if now == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still {now}, not {want}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    };
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::copy(d.join("revoked.der"), &staple).unwrap();
    until("none").await;
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&staple, b"not an OCSP response").unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(6)).await;
    assert_eq!(stapled(d, addr), "none", "garbage is not stapled");
    std::fs::copy(d.join("good.der"), &staple).unwrap();
    until("good").await;
    node.running.stop().await.unwrap();
}
