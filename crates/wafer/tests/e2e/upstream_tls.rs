//! HTTPS upstreams: the server's certificate is verified (against the
//! site's CA file), for the name the site says (`upstream_sni`) or the
//! URL's host, and a server that fails either gets no request.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::Request;
use wafer::config::sites::{HostPattern, SiteConfig, Sites};
use wafer::proxy::upstream_tls::UpstreamTlsFiles;

use crate::admin::Node;
use crate::harness::{Origin, empty, send};

/// A CA and the PEM file of its certificate.
fn ca(dir: &std::path::Path, file: &str) -> (rcgen::KeyPair, rcgen::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = p.self_signed(&key).unwrap();
    std::fs::write(dir.join(file), cert.pem()).unwrap();
    (key, cert)
}

/// TLS in front of `origin` with a certificate for `name`; records the name
/// each client asked for in a handshake that completed.
async fn tls_front(
    ca: &(rcgen::KeyPair, rcgen::Certificate),
    name: &str,
    origin: SocketAddr,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .unwrap()
        .signed_by(&key, &ca.1, &ca.0)
        .unwrap();
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let names: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = Arc::clone(&names);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let seen = Arc::clone(&seen);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let sni = tls.get_ref().1.server_name().unwrap_or("").to_owned();
                seen.lock().unwrap().push(sni);
                let Ok(mut plain) = tokio::net::TcpStream::connect(origin).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    (addr, names)
}

#[tokio::test]
async fn https_upstreams_are_verified_for_their_name_and_refused_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let good_ca = ca(dir.path(), "good-ca.pem");
    ca(dir.path(), "other-ca.pem");
    let origin = Origin::start().await;
    let (front, names) = tls_front(&good_ca, "app.internal", origin.addr).await;
    let d = dir.path().to_owned();
    let node = Node::start_cfg(move |cfg| {
        let site = |name: &str, ca: &str, sni: Option<&str>| SiteConfig {
            upstream_tls: UpstreamTlsFiles {
                ca: Some(d.join(ca)),
                sni: sni.map(str::to_owned),
            },
            ..SiteConfig::new(
                name,
                vec![HostPattern::parse(&format!("{name}.example")).unwrap()],
                format!("https://{front}/app").parse().unwrap(),
                cfg.engine.policy.clone(),
            )
        };
        cfg.sites = Sites {
            sites: vec![
                site("good", "good-ca.pem", Some("app.internal")),
                // Another CA's certificate.
                site("stranger", "other-ca.pem", Some("app.internal")),
                // The right CA, but the certificate is not for 127.0.0.1.
                site("unnamed", "good-ca.pem", None),
            ],
            default: Some("good".into()),
        };
    })
    .await;
    let get = |host: &str, path: &str| {
        Request::get(node.proxy(path))
            .header("host", host)
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(empty())
            .unwrap()
    };

    let (parts, _) = send(get("good.example", "/orders?id=5")).await;
    assert_eq!(parts.status, 200);
    let seen = origin.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].uri, "/app/orders?id=5");
    assert_eq!(seen[0].headers["host"], "good.example");
    assert_eq!(names.lock().unwrap().as_slice(), ["app.internal"]);

    for host in ["stranger.example", "unnamed.example"] {
        let (parts, _) = send(get(host, "/orders?id=6")).await;
        assert_eq!(parts.status, 502, "{host}");
    }
    assert_eq!(
        origin.requests().len(),
        1,
        "an unverified server got a request"
    );
    assert_eq!(
        names.lock().unwrap().len(),
        1,
        "a handshake completed unverified"
    );
}
