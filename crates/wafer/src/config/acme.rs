//! `[acme]`: the certificate authority that sites with `acme = true` get
//! their certificates from (RFC 8555), and when to renew them. Without the
//! section: Let's Encrypt, the system's roots, renewal when a third of a
//! certificate's lifetime is left.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::Problems;
use super::sites::Sites;

/// Let's Encrypt's production directory.
pub const LETS_ENCRYPT: &str = "https://acme-v02.api.letsencrypt.org/directory";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileAcme {
    /// The CA's directory URL (HTTPS).
    pub directory: Option<String>,
    /// `mailto:` addresses the CA may write to about the account.
    #[serde(default)]
    pub contact: Vec<String>,
    /// A PEM file with the root to trust for the directory's HTTPS, for a
    /// CA the system does not know (a test or in-house CA).
    pub ca: Option<String>,
    /// Renew this many days before expiry (default: a third of the lifetime).
    pub renew_before_days: Option<u64>,
    /// `http-01` (default: port 80 reaches `listen`) or `tls-alpn-01` (port
    /// 443 reaches the HTTPS listener; no plain HTTP needed).
    pub challenge: Option<String>,
}

/// How the CA checks that Wafer answers for a name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AcmeChallenge {
    /// A token over plain HTTP (RFC 8555 §8.3).
    #[default]
    Http01,
    /// A certificate made for the check, over TLS with ALPN `acme-tls/1` (RFC 8737).
    TlsAlpn01,
}

/// `[acme]`, validated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcmeSettings {
    pub directory: String,
    pub contact: Vec<String>,
    pub ca: Option<PathBuf>,
    /// `None`: when a third of the certificate's lifetime is left.
    pub renew_before: Option<Duration>,
    pub challenge: AcmeChallenge,
}

impl Default for AcmeSettings {
    fn default() -> Self {
        AcmeSettings {
            directory: LETS_ENCRYPT.to_owned(),
            contact: Vec::new(),
            ca: None,
            renew_before: None,
            challenge: AcmeChallenge::Http01,
        }
    }
}

pub(super) fn acme(p: &mut Problems, f: FileAcme, sites: &Sites) -> AcmeSettings {
    let mut out = AcmeSettings::default();
    let wanted = sites.sites.iter().any(|s| s.acme);
    let given = f.directory.is_some() || !f.contact.is_empty() || f.ca.is_some();
    if given && !wanted {
        // Not an error: a site may be switched to ACME by the next reload.
        tracing::debug!("[acme] is set, but no site has acme = true");
    }
    if let Some(d) = f.directory {
        match d.parse::<http::Uri>() {
            Ok(u) if u.scheme_str() == Some("https") && u.host().is_some() => out.directory = d,
            _ => p.fail(
                "acme.directory",
                format!("{d:?}: an https:// URL (RFC 8555 speaks HTTPS only)"),
            ),
        }
    }
    for c in f.contact {
        let address = c.strip_prefix("mailto:").unwrap_or("");
        if address.contains('@') && !c.bytes().any(|b| b <= b' ' || b == b',' || b == 0x7f) {
            out.contact.push(c);
        } else {
            p.fail(
                "acme.contact",
                format!("{c:?}: expected mailto:someone@example.com"),
            );
        }
    }
    out.ca = f.ca.map(PathBuf::from);
    match f.renew_before_days {
        Some(0) => p.fail("acme.renew_before_days", "at least 1"),
        Some(d) if d > 3650 => p.fail("acme.renew_before_days", "at most 3650"),
        Some(d) => out.renew_before = Some(Duration::from_secs(d * 86_400)),
        None => {}
    }
    match f.challenge.as_deref() {
        None | Some("http-01") => {}
        Some("tls-alpn-01") => out.challenge = AcmeChallenge::TlsAlpn01,
        Some(other) => p.fail(
            "acme.challenge",
            format!("{other:?}: http-01 or tls-alpn-01"),
        ),
    }
    out
}
