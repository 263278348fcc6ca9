//! HTTPS to upstream servers: rustls with ring, TLS 1.3 and 1.2, the
//! server's certificate always verified (against the system's roots, or a
//! site's own CA file for servers with an internal PKI), the name checked
//! and sent as SNI the server's host from its URL, or the site's
//! `upstream_sni` when servers are reached by address. The ACME client's
//! HTTPS to its CA is made on the same settings (`acme.ca` or the system's).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use hyper_rustls::{FixedServerNameResolver, HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sha2::Digest;

/// How a pool's servers are reached over HTTPS.
#[derive(Debug)]
pub struct UpstreamTls {
    /// Tells settings apart (the CA file's contents, the name): servers
    /// with the same key share connections' TLS settings.
    key: String,
    config: Arc<rustls::ClientConfig>,
    sni: Option<ServerName<'static>>,
}

impl UpstreamTls {
    /// `ca`: a PEM file of roots to trust instead of the system's; `sni`:
    /// the name to ask for and verify instead of the URL's host.
    pub fn load(ca: Option<&Path>, sni: Option<&str>) -> Result<UpstreamTls, String> {
        let (roots, ca_tag) = match ca {
            Some(path) => {
                let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(&bytes) {
                    let cert = cert.map_err(|e| format!("{}: {e}", path.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", path.display()))?;
                }
                if roots.is_empty() {
                    return Err(format!("{}: no certificate in the file", path.display()));
                }
                let digest = sha2::Sha256::digest(&bytes);
                let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                (roots, format!("ca={tag}"))
            }
            None => (system_roots(), "system".to_owned()),
        };
        let sni = sni
            .map(|n| {
                ServerName::try_from(n.to_owned())
                    .map_err(|_| format!("upstream_sni {n:?} is not a host name"))
            })
            .transpose()?;
        let config =
            rustls::ClientConfig::builder_with_provider(Arc::new(crate::proxy::tls::provider()))
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|e| e.to_string())?
                .with_root_certificates(roots)
                .with_no_client_auth();
        let key = format!(
            "{ca_tag};sni={}",
            sni.as_ref()
                .map_or(String::new(), |n| n.to_str().into_owned())
        );
        Ok(UpstreamTls {
            key,
            config: Arc::new(config),
            sni,
        })
    }

    /// The system's roots, no other name: loaded once per process.
    pub fn system() -> Result<Arc<UpstreamTls>, String> {
        static SYSTEM: OnceLock<Result<Arc<UpstreamTls>, String>> = OnceLock::new();
        SYSTEM
            .get_or_init(|| UpstreamTls::load(None, None).map(Arc::new))
            .clone()
    }

    /// The client configuration, for a connector of another shape.
    pub(crate) fn client_config(&self) -> rustls::ClientConfig {
        (*self.config).clone()
    }

    pub(crate) fn key(&self) -> &str {
        &self.key
    }

    /// A connector for `http://` and `https://` servers (HTTP/1.1 inside TLS).
    pub(crate) fn connector(&self, http: HttpConnector) -> HttpsConnector<HttpConnector> {
        let mut http = http;
        http.enforce_http(false);
        let builder = HttpsConnectorBuilder::new()
            .with_tls_config(self.client_config())
            .https_or_http();
        let builder = match &self.sni {
            Some(name) => {
                builder.with_server_name_resolver(FixedServerNameResolver::new(name.clone()))
            }
            None => builder,
        };
        builder.enable_http1().wrap_connector(http)
    }
}

/// The system's roots; none found (no `ca-certificates`) leaves the store
/// empty, so every HTTPS upstream fails verification: closed, and said.
fn system_roots() -> rustls::RootCertStore {
    let found = rustls_native_certs::load_native_certs();
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        tracing::warn!(
            errors = found.errors.len(),
            "no system root certificates: https:// upstreams without upstream_ca will fail verification"
        );
    }
    roots
}

/// A site's `upstream_ca` and `upstream_sni`, as the configuration gives them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpstreamTlsFiles {
    pub ca: Option<PathBuf>,
    pub sni: Option<String>,
}
