//! Certificates from ACME, end to end against Debian's `pebble` (Let's
//! Encrypt's test CA) with real HTTP-01 checks: pebble resolves the site's
//! name through `pebble-challtestsrv` (every name is 127.0.0.1) and asks
//! Wafer's plain listener for the token. The issued chain must verify
//! against pebble's root for the site's name, a request over it must reach
//! the site's upstream, and a certificate near its end must be replaced.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wafer::config::acme::AcmeSettings;
use wafer::config::sites::{HostPattern, SiteConfig, Sites, TlsConfig};

use crate::admin::Node;
use crate::harness::{Origin, free_port};

const NAME: &str = "shop.wafer-acme.test";

/// A child process killed with the test.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// pebble and its DNS, for a Wafer whose listeners are on the ports its checks go to.
struct Pebble {
    directory: String,
    management: SocketAddr,
    /// The CA of pebble's own HTTPS (ours, made for the test).
    https_ca: rcgen::Certificate,
    https_ca_file: PathBuf,
    log: PathBuf,
    _procs: Vec<Proc>,
}

impl Pebble {
    /// With its checks sent to `http_port` (HTTP-01) and `tls_port` (TLS-ALPN-01).
    async fn start_with(dir: &Path, http_port: u16, tls_port: u16) -> Pebble {
        // pebble's HTTPS certificate, from a CA Wafer is told to trust.
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let https_ca_file = dir.join("pebble-https-ca.pem");
        std::fs::write(&https_ca_file, ca.pem()).unwrap();
        std::fs::write(dir.join("pebble.pem"), cert.pem()).unwrap();
        std::fs::write(dir.join("pebble.key"), key.serialize_pem()).unwrap();

        let (acme_port, mgmt_port, dns_port, dns_mgmt) =
            (free_port(), free_port(), free_port(), free_port());
        let dns = Command::new("pebble-challtestsrv")
            .args([
                "-dns01",
                &format!("127.0.0.1:{dns_port}"),
                "-http01",
                "",
                "-https01",
                "",
                "-tlsalpn01",
                "",
                "-management",
                &format!("127.0.0.1:{dns_mgmt}"),
                "-defaultIPv4",
                "127.0.0.1",
                "-defaultIPv6",
                "",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble-challtestsrv (Debian's pebble package; .ci/run installs it)");
        let config = serde_json::json!({ "pebble": {
            "listenAddress": format!("127.0.0.1:{acme_port}"),
            "managementListenAddress": format!("127.0.0.1:{mgmt_port}"),
            "certificate": dir.join("pebble.pem"),
            "privateKey": dir.join("pebble.key"),
            "httpPort": http_port,
            "tlsPort": tls_port,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_file = dir.join("pebble.json");
        std::fs::write(&config_file, config.to_string()).unwrap();
        let log = std::fs::File::create(dir.join("pebble.log")).unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&config_file)
            .args(["-dnsserver", &format!("127.0.0.1:{dns_port}")])
            // Checks at once, and no nonces refused at random: a test that
            // fails says why, not when.
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("pebble (Debian's pebble package; .ci/run installs it)");
        let procs = vec![Proc(dns), Proc(pebble)];
        for port in [acme_port, mgmt_port] {
            let mut up = false;
            for _ in 0..100 {
                if tokio::net::TcpStream::connect(("127.0.0.1", port))
                    .await
                    .is_ok()
                {
                    up = true;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert!(up, "pebble is not listening on {port}");
        }
        Pebble {
            directory: format!("https://127.0.0.1:{acme_port}/dir"),
            management: format!("127.0.0.1:{mgmt_port}").parse().unwrap(),
            https_ca: ca,
            https_ca_file,
            log: dir.join("pebble.log"),
            _procs: procs,
        }
    }

    async fn start(dir: &Path, http_port: u16) -> Pebble {
        Pebble::start_with(dir, http_port, free_port()).await
    }

    /// The root pebble issues under (made anew by each pebble).
    async fn issuing_root(&self) -> rustls::pki_types::CertificateDer<'static> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.https_ca.der().clone()).unwrap();
        let tls = connect(self.management, "127.0.0.1", roots).await.unwrap();
        let response = get(tls, "/roots/0", "127.0.0.1").await;
        let body = &response[response.find("\r\n\r\n").expect("a response") + 4..];
        let pem = body.trim_end_matches("0\r\n\r\n");
        let start = pem.find("-----BEGIN").expect("a PEM root");
        use rustls::pki_types::pem::PemObject;
        rustls::pki_types::CertificateDer::from_pem_slice(&pem.as_bytes()[start..]).unwrap()
    }
}

type Tls = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// A TLS connection to `addr` for `name`, verified against `roots`.
async fn connect(
    addr: SocketAddr,
    name: &str,
    roots: rustls::RootCertStore,
) -> std::io::Result<Tls> {
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(addr).await?;
    let server = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(server, tcp)
        .await
}

/// One HTTP/1.1 GET; the whole response as text.
async fn get(mut s: Tls, path: &str, host: &str) -> String {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Mozilla/5.0 Firefox/133.0\r\nConnection: close\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

/// The leaf Wafer serves for [`NAME`], once it verifies against `root`.
async fn served_leaf(
    pebble: &Pebble,
    tls_addr: SocketAddr,
    root: &rustls::pki_types::CertificateDer<'static>,
    not: Option<&[u8]>,
) -> Vec<u8> {
    let mut last = String::new();
    for _ in 0..300 {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(root.clone()).unwrap();
        match connect(tls_addr, NAME, roots).await {
            Ok(s) => {
                let leaf = s.get_ref().1.peer_certificates().unwrap()[0].to_vec();
                if Some(leaf.as_slice()) != not {
                    return leaf;
                }
                last = "still the certificate before".into();
            }
            Err(e) => last = e.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let log = std::fs::read_to_string(&pebble.log).unwrap_or_default();
    panic!(
        "no certificate from pebble served for {NAME} within 60 s: {last}\npebble's log:\n{log}"
    );
}

/// One site, "shop", for [`NAME`], its certificate from ACME; the default.
fn acme_shop(cfg: &wafer::config::Config, upstream: SocketAddr) -> Sites {
    Sites {
        sites: vec![SiteConfig {
            acme: true,
            ..SiteConfig::new(
                "shop",
                vec![HostPattern::parse(NAME).unwrap()],
                format!("http://{upstream}").parse().unwrap(),
                cfg.engine.policy.clone(),
            )
        }],
        default: Some("shop".into()),
    }
}

#[tokio::test]
async fn a_site_gets_its_certificate_from_pebble_over_http01_and_renews_it() {
    let dir = tempfile::tempdir().unwrap();
    let http_port = free_port();
    let pebble = Pebble::start(dir.path(), http_port).await;
    let shop = Origin::start().await;
    let shop_addr = shop.addr;
    let settings = AcmeSettings {
        directory: pebble.directory.clone(),
        contact: vec!["mailto:ops@wafer-acme.test".into()],
        ca: Some(pebble.https_ca_file.clone()),
        renew_before: None,
        ..Default::default()
    };
    let cfg_for = {
        let settings = settings.clone();
        move |cfg: &mut wafer::config::Config| {
            cfg.listen = format!("127.0.0.1:{http_port}").parse().unwrap();
            cfg.tls = Some(TlsConfig {
                listen: "127.0.0.1:0".parse().unwrap(),
                default_cert: None,
            });
            cfg.acme = settings.clone();
            cfg.sites = acme_shop(cfg, shop_addr);
        }
    };
    let base = std::sync::Mutex::new(None);
    let node = Node::start_cfg(|cfg| {
        cfg_for(cfg);
        *base.lock().unwrap() = Some(cfg.clone());
    })
    .await;
    let base = base.into_inner().unwrap().unwrap();
    let tls_addr = node.running.tls_addr.unwrap();
    let root = pebble.issuing_root().await;

    // Issued: the chain verifies against pebble's root for the name, and
    // a request over it reaches the shop.
    let first = served_leaf(&pebble, tls_addr, &root, None).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root.clone()).unwrap();
    let tls = connect(tls_addr, NAME, roots).await.unwrap();
    let response = get(tls, "/catalog?page=2", NAME).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        shop.seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.uri.contains("/catalog?page=2")),
        "the request did not reach the shop"
    );
    // The admin API and /metrics say when it ends, and that no order is failing.
    let (_, sites) = node.api("/api/sites").await;
    let status = &sites["sites"][0]["acme"];
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let ends = status["not_after_ms"].as_u64().expect("an end date");
    assert!(ends > now_ms + 30 * 86_400_000, "{sites}");
    assert!(status["last_error"].is_null(), "{sites}");
    let (_, m) = node.raw("/metrics").await;
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.contains(&format!(
            "wafer_acme_certificate_expiry_seconds{{site=\"shop\"}} {}",
            ends / 1000
        )) && m.contains("wafer_acme_order_failing{site=\"shop\"} 0"),
        "{m}"
    );
    let stored = node.data_dir.join("acme").join(format!("{NAME}.pem"));
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(text.contains("PRIVATE KEY") && text.contains("BEGIN CERTIFICATE"));
    let accounts: Vec<_> = std::fs::read_dir(node.data_dir.join("acme"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with("account-"))
        .collect();
    assert_eq!(accounts.len(), 1, "one account for the directory");
    let account = std::fs::read(accounts[0].path()).unwrap();

    // Near its end (2 days left of 30): renewed, by the same account,
    // once the client looks (a reload makes it look now).
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![NAME.to_owned()]).unwrap();
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(28);
    params.not_after = now + time::Duration::days(2);
    let ending = params.self_signed(&key).unwrap();
    let aside = stored.with_extension("tmp");
    std::fs::write(&aside, format!("{}{}", key.serialize_pem(), ending.pem())).unwrap();
    std::fs::rename(&aside, &stored).unwrap();
    assert!(node.running.reload(base).await.unwrap().is_empty());
    let second = served_leaf(&pebble, tls_addr, &root, Some(&first)).await;
    assert_ne!(second, ending.der().to_vec());
    let text = std::fs::read_to_string(&stored).unwrap();
    assert!(
        !text.contains(&ending.pem()),
        "the ending certificate is still stored"
    );
    assert_eq!(
        std::fs::read(accounts[0].path()).unwrap(),
        account,
        "the account was made again"
    );
}

#[tokio::test]
async fn the_ca_is_answered_only_for_tokens_it_was_given() {
    // Without an order in progress (this one cannot reach its CA), the
    // challenge path is an ordinary request: inspected and forwarded.
    let dir = tempfile::tempdir().unwrap();
    let shop = Origin::start().await;
    let shop_addr = shop.addr;
    let ca_file = dir.path().join("none.pem");
    let node = Node::start_cfg(move |cfg| {
        cfg.tls = Some(TlsConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            default_cert: None,
        });
        cfg.acme = AcmeSettings {
            // Nothing listens here: the order fails and is retried later.
            directory: "https://127.0.0.1:9/dir".into(),
            contact: Vec::new(),
            ca: Some(ca_file),
            renew_before: None,
            ..Default::default()
        };
        cfg.sites = acme_shop(cfg, shop_addr);
    })
    .await;
    let url = node.proxy("/.well-known/acme-challenge/guessed-token");
    let (parts, _) = crate::harness::send(
        http::Request::get(url)
            .header("user-agent", "Mozilla/5.0 Firefox/133.0")
            .body(crate::harness::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(parts.status, 200);
    assert!(
        shop.seen
            .lock()
            .unwrap()
            .iter()
            .any(|s| s.uri.contains("guessed-token")),
        "an unknown token goes to the upstream like any request"
    );

    // The failing order is said, with its reason, and retried later.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, sites) = node.api("/api/sites").await;
        let acme = &sites["sites"][0]["acme"];
        if let Some(e) = acme["last_error"].as_str() {
            assert!(e.contains("none.pem"), "{e}");
            assert!(acme["retry_at_ms"].as_u64().is_some(), "{sites}");
            assert!(acme["not_after_ms"].is_null(), "{sites}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no failure reported: {sites}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, m) = node.raw("/metrics").await;
    let m = String::from_utf8_lossy(&m);
    assert!(
        m.contains("wafer_acme_order_failing{site=\"shop\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("wafer_acme_certificate_expiry_seconds{site=\"shop\"} 0"),
        "{m}"
    );
}

/// Two nodes behind one address, sharing Redis: the CA's check reaches the
/// node that did not order (pebble asks node A's plain listener; node B
/// ordered), and A answers it from Redis, so B's order succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_cluster_any_node_answers_the_check_of_another_nodes_order() {
    let dir = tempfile::tempdir().unwrap();
    let redis = crate::cluster::RedisServer::start();
    let a_port = free_port();
    let pebble = Pebble::start(dir.path(), a_port).await;
    let shop = Origin::start().await;
    let shop_addr = shop.addr;
    let url = redis.url();
    // Node A: where the CA's checks arrive; no certificate of its own to order.
    let a_url = url.clone();
    let a = Node::start_cfg(move |cfg| {
        cfg.listen = format!("127.0.0.1:{a_port}").parse().unwrap();
        cfg.redis_url = Some(a_url);
    })
    .await;
    // Node B: orders the shop's certificate; the CA never reaches its listener.
    let settings = AcmeSettings {
        directory: pebble.directory.clone(),
        contact: Vec::new(),
        ca: Some(pebble.https_ca_file.clone()),
        renew_before: None,
        ..Default::default()
    };
    let b = Node::start_cfg(move |cfg| {
        cfg.redis_url = Some(url);
        cfg.tls = Some(TlsConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            default_cert: None,
        });
        cfg.acme = settings;
        cfg.sites = acme_shop(cfg, shop_addr);
    })
    .await;
    let root = pebble.issuing_root().await;
    served_leaf(&pebble, b.running.tls_addr.unwrap(), &root, None).await;
    let (_, sites) = b.api("/api/sites").await;
    assert!(sites["sites"][0]["acme"]["last_error"].is_null(), "{sites}");
    // Answered, the tokens are gone from Redis: A no longer answers them.
    let log = std::fs::read_to_string(&pebble.log).unwrap_or_default();
    let token = log
        .split("/.well-known/acme-challenge/")
        .nth(1)
        .and_then(|rest| {
            rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .next()
        })
        .map(str::to_owned);
    if let Some(token) = token {
        let (_, body) = crate::harness::send(
            http::Request::get(a.proxy(&format!("/.well-known/acme-challenge/{token}")))
                .header("user-agent", "Mozilla/5.0 Firefox/133.0")
                .body(crate::harness::empty())
                .unwrap(),
        )
        .await;
        // A key authorization is the token, a dot, and the account's thumbprint.
        let body = String::from_utf8_lossy(&body);
        assert!(
            !body.starts_with(&format!("{token}.")),
            "the token is still answered after the order: {body}"
        );
    } else {
        panic!("pebble's log names no check: {log}");
    }
    a.running.stop().await.unwrap();
    b.running.stop().await.unwrap();
}

/// TLS-ALPN-01: the CA checks the name on the HTTPS listener (ALPN
/// `acme-tls/1`), never on plain HTTP; the certificate is issued, and the
/// check's certificate is not served once the order is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_gets_its_certificate_over_tls_alpn01() {
    let dir = tempfile::tempdir().unwrap();
    let tls_port = free_port();
    // HTTP-01 checks would go to a port nothing listens on.
    let pebble = Pebble::start_with(dir.path(), free_port(), tls_port).await;
    let shop = Origin::start().await;
    let shop_addr = shop.addr;
    let settings = AcmeSettings {
        directory: pebble.directory.clone(),
        contact: Vec::new(),
        ca: Some(pebble.https_ca_file.clone()),
        renew_before: None,
        challenge: wafer::config::acme::AcmeChallenge::TlsAlpn01,
    };
    let node = Node::start_cfg(move |cfg| {
        cfg.tls = Some(TlsConfig {
            listen: format!("127.0.0.1:{tls_port}").parse().unwrap(),
            default_cert: None,
        });
        cfg.acme = settings;
        cfg.sites = acme_shop(cfg, shop_addr);
    })
    .await;
    let tls_addr = node.running.tls_addr.unwrap();
    let root = pebble.issuing_root().await;
    served_leaf(&pebble, tls_addr, &root, None).await;
    let (_, sites) = node.api("/api/sites").await;
    assert!(sites["sites"][0]["acme"]["last_error"].is_null(), "{sites}");

    // Asked with `acme-tls/1` now, the handshake fails: no check is in progress.
    #[allow(deprecated)]
    let provider = rustls::crypto::ring::default_provider();
    let mut cfg = rustls::ClientConfig::builder_with_provider(Arc::new(provider))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCert))
        .with_no_client_auth();
    cfg.alpn_protocols = vec![b"acme-tls/1".to_vec()];
    let tcp = tokio::net::TcpStream::connect(tls_addr).await.unwrap();
    let server = rustls::pki_types::ServerName::try_from(NAME.to_owned()).unwrap();
    let handshake = tokio_rustls::TlsConnector::from(Arc::new(cfg))
        .connect(server, tcp)
        .await;
    assert!(
        handshake.is_err(),
        "a check answered with no order in progress"
    );
}

/// Accepts any server certificate: the test looks at whether there is a handshake at all.
#[derive(Debug)]
struct AnyCert;

impl rustls::client::danger::ServerCertVerifier for AnyCert {
    fn verify_server_cert(
        &self,
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &[rustls::pki_types::CertificateDer<'_>],
        _: &rustls::pki_types::ServerName<'_>,
        _: &[u8],
        _: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn verify_tls13_signature(
        &self,
        _: &[u8],
        _: &rustls::pki_types::CertificateDer<'_>,
        _: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        #[allow(deprecated)]
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}
