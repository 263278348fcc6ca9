//! TLS termination with rustls: TLS 1.3 and 1.2 only, ALPN `h2` and
//! `http/1.1`, the certificate chosen by the name the client asks for (SNI)
//! among the sites' host names, the default certificate for any other name
//! or none.
//!
//! Certificates are PEM files, read at start (a bad one stops the start) and
//! checked again by [`Certificates::refresh`]: a changed file pair is loaded
//! and swapped in for new handshakes; a broken one keeps the certificate in
//! use and is reported, so a half-written renewal never takes a site down.
//! An ACME site's file (key and chain in one, see `crate::acme`) may not be
//! there yet: until it is, the site's names get the default certificate.
//!
//! ACME's TLS-ALPN-01 check (RFC 8737): while an order runs, a handshake
//! that offers ALPN `acme-tls/1` for one of its names gets the certificate
//! made for the check, and the connection ends after the handshake.
//!
//! OCSP stapling: a pair may name a DER OCSP response file (as `openssl ocsp
//! -respout` writes it; kept fresh by the operator's renewal job). It is read
//! with the pair, stapled when [`super::ocsp::check`] finds it good and
//! current for the certificate, and dropped (the certificate served without
//! one) when it is not, or once its `nextUpdate` passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::proxy::sites::HostPattern;

/// One certificate and key pair, and the names it serves (none: the default).
#[derive(Clone, Debug)]
pub struct CertSource {
    pub names: Vec<HostPattern>,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Written by the ACME client: missing or unreadable means "not issued
    /// yet", not a broken start.
    pub from_acme: bool,
    /// A DER OCSP response to staple.
    pub ocsp: Option<PathBuf>,
}

/// Why a certificate could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct CertError {
    pub path: String,
    pub message: String,
}

fn cert_error(path: &Path, message: impl Into<String>) -> CertError {
    CertError {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// A certificate as loaded, with the modification times it was loaded at.
struct Loaded {
    key: Option<Arc<CertifiedKey>>,
    stamp: Stamp,
    /// When the stapled response expires: loaded again then, to drop it.
    ocsp_until: Option<SystemTime>,
}

/// The modification times of the certificate, key and OCSP files.
type Stamp = (Option<SystemTime>, Option<SystemTime>, Option<SystemTime>);

/// The names' certificates in force.
#[derive(Default)]
struct Table {
    exact: HashMap<String, Arc<CertifiedKey>>,
    under: HashMap<String, Arc<CertifiedKey>>,
    default: Option<Arc<CertifiedKey>>,
}

impl Table {
    fn lookup(&self, name: &str) -> Option<Arc<CertifiedKey>> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some(k) = self.exact.get(&name) {
            return Some(Arc::clone(k));
        }
        name.match_indices('.')
            .filter(|&(at, _)| at > 0)
            .find_map(|(at, _)| self.under.get(&name[at..]).cloned())
    }
}

/// The ALPN protocol of ACME's TLS-ALPN-01 check.
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";

/// Every certificate, swapped whole when one changes.
pub struct Certificates {
    /// The pairs, and each as loaded (in the same order).
    state: std::sync::Mutex<(Vec<CertSource>, Vec<Loaded>)>,
    table: ArcSwap<Table>,
    /// The TLS-ALPN-01 checks in progress: name → the certificate made for it.
    alpn_checks: std::sync::RwLock<HashMap<String, Arc<CertifiedKey>>>,
}

impl std::fmt::Debug for Certificates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_struct("Certificates")
            .field("sources", &state.0)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads every pair; the first that fails is the error.
    pub fn load(sources: Vec<CertSource>) -> Result<Certificates, CertError> {
        let loaded = sources
            .iter()
            .map(load_source)
            .collect::<Result<Vec<_>, _>>()?;
        let table = table(&sources, &loaded);
        Ok(Certificates {
            state: std::sync::Mutex::new((sources, loaded)),
            table: ArcSwap::from_pointee(table),
            alpn_checks: Default::default(),
        })
    }

    /// Serves `sources` from the next handshake on, once every pair loads;
    /// if one does not, nothing changes and it is the error.
    pub fn replace(&self, sources: Vec<CertSource>) -> Result<(), CertError> {
        let loaded = sources
            .iter()
            .map(load_source)
            .collect::<Result<Vec<_>, _>>()?;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.table.store(Arc::new(table(&sources, &loaded)));
        *state = (sources, loaded);
        Ok(())
    }

    /// Loads the pairs whose files changed since they were loaded; a pair that
    /// fails keeps its certificate. Returns what failed.
    pub fn refresh(&self) -> Vec<CertError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (sources, loaded) = &mut *state;
        let mut failed = Vec::new();
        let mut changed = false;
        let now = SystemTime::now();
        for (source, current) in sources.iter().zip(loaded.iter_mut()) {
            let stapled_expired = current.ocsp_until.is_some_and(|t| t <= now);
            if stamp(source) == current.stamp && !stapled_expired {
                continue;
            }
            if source.from_acme && stamp(source).0.is_none() {
                // Gone: the certificate in use stays until a new one is written.
                current.stamp = stamp(source);
                continue;
            }
            match load_pair(source) {
                Ok(fresh) => {
                    *current = fresh;
                    changed = true;
                }
                Err(e) => {
                    // Not again until the files change again: one report per bad version.
                    current.stamp = stamp(source);
                    failed.push(e);
                }
            }
        }
        if changed {
            self.table.store(Arc::new(table(sources, loaded)));
        }
        failed
    }

    /// Answers ACME's TLS-ALPN-01 check for `name` with `key` until [`Self::end_check`].
    pub fn start_check(&self, name: &str, key: Arc<CertifiedKey>) {
        let mut m = self.alpn_checks.write().unwrap_or_else(|e| e.into_inner());
        m.insert(name.to_ascii_lowercase(), key);
    }

    pub fn end_check(&self, name: &str) {
        let mut m = self.alpn_checks.write().unwrap_or_else(|e| e.into_inner());
        m.remove(&name.to_ascii_lowercase());
    }

    /// The server configuration: TLS 1.3 and 1.2, ALPN h2 and http/1.1
    /// (and `acme-tls/1`, which only the CA's check offers).
    pub fn server_config(self: &Arc<Self>) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
        let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(provider()))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec(), ACME_TLS_ALPN.to_vec()];
        Ok(Arc::new(cfg))
    }
}

impl ResolvesServerCert for Certificates {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // The CA offers `acme-tls/1` alone (RFC 8737 §3); a client that
        // offers it among others is an ordinary one.
        let acme_check = hello.alpn().is_some_and(|offered| {
            let offered: Vec<&[u8]> = offered.take(2).collect();
            offered == [ACME_TLS_ALPN]
        });
        if acme_check {
            // The CA's check: the certificate made for it, or none (no handshake).
            let name = hello
                .server_name()?
                .trim_end_matches('.')
                .to_ascii_lowercase();
            let m = self.alpn_checks.read().unwrap_or_else(|e| e.into_inner());
            return m.get(&name).cloned();
        }
        let table = self.table.load();
        hello
            .server_name()
            .and_then(|n| table.lookup(n))
            .or_else(|| table.default.clone())
    }
}

fn table(sources: &[CertSource], loaded: &[Loaded]) -> Table {
    let mut t = Table::default();
    for (s, l) in sources.iter().zip(loaded) {
        let Some(key) = &l.key else { continue };
        if s.names.is_empty() {
            t.default.get_or_insert_with(|| Arc::clone(key));
        }
        for n in &s.names {
            match n {
                HostPattern::Exact(name) => t.exact.entry(name.clone()),
                HostPattern::Under(suffix) => t.under.entry(suffix.clone()),
            }
            .or_insert_with(|| Arc::clone(key));
        }
    }
    t
}

fn stamp(s: &CertSource) -> Stamp {
    let m = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(&s.cert), m(&s.key), s.ocsp.as_deref().and_then(m))
}

/// A source as loaded at start or by a reload: an ACME file that is missing
/// or broken is "not issued yet" (the ACME client issues it again).
fn load_source(s: &CertSource) -> Result<Loaded, CertError> {
    match load_pair(s) {
        Err(e) if s.from_acme => {
            if stamp(s).0.is_some() {
                tracing::warn!(error = %e, "a stored ACME certificate is unreadable; a new one will be issued");
            }
            Ok(Loaded {
                key: None,
                stamp: stamp(s),
                ocsp_until: None,
            })
        }
        r => r,
    }
}

fn load_pair(s: &CertSource) -> Result<Loaded, CertError> {
    let stamp = stamp(s);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&s.cert)
        .map_err(|e| cert_error(&s.cert, format!("not readable as PEM: {e}")))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_error(&s.cert, format!("a bad certificate: {e}")))?;
    if chain.is_empty() {
        return Err(cert_error(&s.cert, "no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&s.key)
        .map_err(|e| cert_error(&s.key, format!("no private key: {e}")))?;
    let mut key = CertifiedKey::from_der(chain, key, &provider())
        .map_err(|e| cert_error(&s.key, format!("does not fit the certificate: {e}")))?;
    let ocsp_until = s.ocsp.as_deref().and_then(|path| staple(&mut key, path));
    Ok(Loaded {
        key: Some(Arc::new(key)),
        stamp,
        ocsp_until,
    })
}

/// Staples the response in `path` to `key` when it may be (see the module
/// doc); returns when it expires. A response that may not be is logged and
/// left out: the certificate is still served.
fn staple(key: &mut CertifiedKey, path: &Path) -> Option<SystemTime> {
    let checked = std::fs::read(path)
        .map_err(|e| format!("not readable: {e}"))
        .and_then(|der| {
            let leaf = key.end_entity_cert().map_err(|e| e.to_string())?;
            let until = super::ocsp::check(&der, leaf, SystemTime::now())?;
            Ok((der, until))
        });
    match checked {
        Ok((der, until)) => {
            key.ocsp = Some(der);
            // A response without an end is checked again within a day.
            Some(
                until.unwrap_or_else(|| SystemTime::now() + std::time::Duration::from_secs(86_400)),
            )
        }
        Err(why) => {
            tracing::warn!(path = %path.display(), %why, "the OCSP response is not stapled");
            None
        }
    }
}

/// The crypto provider: *ring*. rustls 0.23.48 deprecates it for lacking
/// post-quantum key exchange, which its aws-lc-rs provider has; that one is a
/// large C build (aws-lc) on every CI run, so it waits for its own change.
#[allow(deprecated)]
pub(crate) fn provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA, and a certificate it signs for `names`, written as PEM files in `dir`.
    fn issue(dir: &Path, file: &str, names: &[&str]) -> CertSource {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = ca.self_signed(&ca_key).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let cert = rcgen::CertificateParams::new(names)
            .unwrap()
            .signed_by(&key, &ca, &ca_key)
            .unwrap();
        let (c, k) = (
            dir.join(format!("{file}.pem")),
            dir.join(format!("{file}.key")),
        );
        std::fs::write(&c, cert.pem()).unwrap();
        std::fs::write(&k, key.serialize_pem()).unwrap();
        CertSource {
            names: Vec::new(),
            cert: c,
            key: k,
            from_acme: false,
            ocsp: None,
        }
    }

    fn leaf_of(k: &CertifiedKey) -> Vec<u8> {
        k.cert[0].to_vec()
    }

    /// Marks a file as changed, whatever the clock's resolution.
    fn touch_later(p: &Path, secs: u64) {
        let f = std::fs::File::options().write(true).open(p).unwrap();
        f.set_modified(SystemTime::now() + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn names_pick_their_certificate_and_others_the_default() {
        let dir = tempfile::tempdir().unwrap();
        let mut shop = issue(dir.path(), "shop", &["shop.example", "*.shop.example"]);
        shop.names = vec![
            HostPattern::parse("shop.example").unwrap(),
            HostPattern::parse("*.shop.example").unwrap(),
        ];
        let default = issue(dir.path(), "default", &["default.example"]);
        let certs = Certificates::load(vec![shop, default]).unwrap();
        let t = certs.table.load();
        let shop_leaf = leaf_of(&t.lookup("shop.example").unwrap());
        assert_eq!(leaf_of(&t.lookup("WWW.Shop.Example.").unwrap()), shop_leaf);
        assert!(t.lookup("other.example").is_none());
        assert!(t.lookup("evilshop.example").is_none());
        assert_ne!(leaf_of(t.default.as_ref().unwrap()), shop_leaf);
    }

    #[test]
    fn a_changed_pair_is_swapped_in_and_a_broken_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let source = issue(dir.path(), "site", &["site.example"]);
        let certs = Certificates::load(vec![source.clone()]).unwrap();
        let first = leaf_of(certs.table.load().default.as_ref().unwrap());
        assert!(certs.refresh().is_empty());
        assert_eq!(leaf_of(certs.table.load().default.as_ref().unwrap()), first);

        // A renewal: a new pair in the same files.
        issue(dir.path(), "site", &["site.example"]);
        touch_later(&source.cert, 10);
        assert!(certs.refresh().is_empty());
        let second = leaf_of(certs.table.load().default.as_ref().unwrap());
        assert_ne!(second, first);

        // Half-written, or a key for another certificate: reported once, the
        // certificate in use stays.
        std::fs::write(&source.cert, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
        touch_later(&source.cert, 20);
        let failed = certs.refresh();
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].path.ends_with("site.pem"), "{}", failed[0]);
        assert!(
            certs.refresh().is_empty(),
            "reported again without a change"
        );
        assert_eq!(
            leaf_of(certs.table.load().default.as_ref().unwrap()),
            second
        );
        let other = issue(dir.path(), "other", &["site.example"]);
        std::fs::copy(&other.cert, &source.cert).unwrap();
        touch_later(&source.cert, 30);
        let failed = certs.refresh();
        assert!(
            failed.len() == 1 && failed[0].message.contains("does not fit"),
            "{failed:?}"
        );
        assert_eq!(
            leaf_of(certs.table.load().default.as_ref().unwrap()),
            second
        );
    }

    #[test]
    fn an_acme_file_not_written_yet_is_no_certificate_until_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.example.pem");
        let source = CertSource {
            names: vec![HostPattern::parse("shop.example").unwrap()],
            cert: file.clone(),
            key: file.clone(),
            from_acme: true,
            ocsp: None,
        };
        let certs = Certificates::load(vec![source.clone()]).unwrap();
        assert!(certs.table.load().lookup("shop.example").is_none());
        // Broken at start: still no certificate, and no failed start.
        std::fs::write(&file, "-----BEGIN CERTIFICATE-----\nnot base64\n").unwrap();
        let certs = Certificates::load(vec![source.clone()]).unwrap();
        assert!(certs.table.load().lookup("shop.example").is_none());
        // Written (key and chain in one file): served from the next refresh.
        let pair = issue(dir.path(), "issued", &["shop.example"]);
        let text = std::fs::read_to_string(&pair.key).unwrap()
            + &std::fs::read_to_string(&pair.cert).unwrap();
        std::fs::write(&file, text).unwrap();
        touch_later(&file, 10);
        assert!(certs.refresh().is_empty());
        let served = leaf_of(&certs.table.load().lookup("shop.example").unwrap());
        assert_eq!(
            served,
            CertificateDer::from_pem_file(&pair.cert).unwrap().to_vec()
        );
        // Removed: the certificate in use stays.
        std::fs::remove_file(&file).unwrap();
        assert!(certs.refresh().is_empty());
        assert!(certs.table.load().lookup("shop.example").is_some());
    }

    #[test]
    fn a_start_with_a_bad_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = issue(dir.path(), "site", &["site.example"]);
        s.key = dir.path().join("missing.key");
        let e = Certificates::load(vec![s]).unwrap_err();
        assert!(e.path.ends_with("missing.key"), "{e}");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        let s = CertSource {
            names: Vec::new(),
            cert: empty,
            key: dir.path().join("site.key"),
            from_acme: false,
            ocsp: None,
        };
        let e = Certificates::load(vec![s]).unwrap_err();
        assert!(e.message.contains("no certificate"), "{e}");
    }
}
