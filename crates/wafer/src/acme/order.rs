//! Talking to the CA: the account (made once, kept under the ACME directory
//! of the data directory), and one order from its first request to the
//! issued chain.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, ChallengeType, Identifier,
    NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use sha2::Digest;

use crate::config::acme::{AcmeChallenge, AcmeSettings};
use crate::proxy::challenges::Challenges;
use crate::proxy::tls::Certificates;
use crate::proxy::upstream_tls::UpstreamTls;

/// How long the CA gets to check the names, and then to issue.
const CA_PATIENCE: Duration = Duration::from_secs(120);

/// The account for `settings`' directory: read from its file, or made on
/// the CA and written there.
pub(super) async fn account(settings: &AcmeSettings, dir: &Path) -> Result<Account> {
    let file = account_file(dir, &settings.directory);
    let builder =
        || -> Result<_> { Ok(Account::builder_with_http(Box::new(http_client(settings)?))) };
    if let Ok(text) = std::fs::read_to_string(&file) {
        let creds: AccountCredentials = serde_json::from_str(&text)
            .with_context(|| format!("{}: not an ACME account", file.display()))?;
        return builder()?
            .from_credentials(creds)
            .await
            .context("reaching the ACME directory");
    }
    let contact: Vec<&str> = settings.contact.iter().map(String::as_str).collect();
    let (account, creds) = builder()?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await
        .context("creating the ACME account")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Whole or not at all: a half-written account would fail every order after.
    crate::durable::write_atomic_private(
        &file,
        &file.with_extension("json.new"),
        serde_json::to_string(&creds)?.as_bytes(),
    )
    .with_context(|| format!("writing {}", file.display()))?;
    tracing::info!(directory = %settings.directory, id = %account.id(), "ACME account created");
    Ok(account)
}

/// One account file per directory: a CA's account means nothing to another.
fn account_file(dir: &Path, directory: &str) -> PathBuf {
    let digest = sha2::Sha256::digest(directory.as_bytes());
    let tag: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("account-{tag}.json"))
}

/// HTTPS to the CA on rustls with ring: the system's roots, or `ca` alone
/// (the settings upstream servers are verified with).
fn http_client(
    settings: &AcmeSettings,
) -> Result<
    Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        BodyWrapper<bytes::Bytes>,
    >,
> {
    let tls = match &settings.ca {
        Some(ca) => UpstreamTls::load(Some(ca), None)
            .map(Arc::new)
            .map_err(|e| anyhow!("acme.ca {e}"))?,
        None => UpstreamTls::system().map_err(anyhow::Error::msg)?,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls.client_config())
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// What answers the CA's checks: HTTP-01 tokens on the plain listener, or
/// TLS-ALPN-01 certificates on the HTTPS one.
pub(super) struct Responders<'a> {
    pub http: &'a Challenges,
    pub tls: &'a Certificates,
    pub kind: AcmeChallenge,
}

/// A check this order put in place, to take away when it ends.
enum Placed {
    Token(String),
    AlpnName(String),
}

/// Orders a certificate for `names`, answering the CA's checks through
/// `responders`; returns the new key and the chain (PEM).
pub(super) async fn issue(
    account: &Account,
    names: &[String],
    responders: &Responders<'_>,
) -> Result<(String, String)> {
    let ids: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .context("placing the order")?;
    let mut placed = Vec::new();
    let issued = async {
        let mut auths = order.authorizations();
        while let Some(auth) = auths.next().await {
            let mut auth = auth.context("reading an authorization")?;
            match auth.status {
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                other => bail!("the CA's authorization is {other:?}"),
            }
            let mut challenge = match responders.kind {
                AcmeChallenge::Http01 => {
                    let challenge = auth
                        .challenge(ChallengeType::Http01)
                        .ok_or_else(|| anyhow!("the CA offers no HTTP-01 check"))?;
                    let token = challenge.token.clone();
                    responders
                        .http
                        .put(&token, challenge.key_authorization().as_str())
                        .await;
                    placed.push(Placed::Token(token));
                    challenge
                }
                AcmeChallenge::TlsAlpn01 => {
                    let challenge = auth
                        .challenge(ChallengeType::TlsAlpn01)
                        .ok_or_else(|| anyhow!("the CA offers no TLS-ALPN-01 check"))?;
                    let Identifier::Dns(name) = challenge.identifier().identifier else {
                        bail!("TLS-ALPN-01 checks DNS names only");
                    };
                    let name = name.clone();
                    let key =
                        alpn_check_key(&name, challenge.key_authorization().digest().as_ref())?;
                    responders.tls.start_check(&name, Arc::new(key));
                    placed.push(Placed::AlpnName(name));
                    challenge
                }
            };
            challenge
                .set_ready()
                .await
                .context("starting the CA's check")?;
        }
        let patience = RetryPolicy::new().timeout(CA_PATIENCE);
        let status = order
            .poll_ready(&patience)
            .await
            .context("waiting for the CA's checks")?;
        if status != OrderStatus::Ready {
            bail!(
                "the order is {status:?}: the CA could not check every name \
                 (does port 80 of each reach this Wafer's plain listener?)"
            );
        }
        let key = order
            .finalize()
            .await
            .context("sending the signing request")?;
        let chain = order
            .poll_certificate(&patience)
            .await
            .context("fetching the certificate")?;
        Ok((key, chain))
    }
    .await;
    for p in &placed {
        match p {
            Placed::Token(t) => responders.http.remove(t).await,
            Placed::AlpnName(n) => responders.tls.end_check(n),
        }
    }
    issued
}

/// The certificate that answers the TLS-ALPN-01 check for `name`: self-signed,
/// for that name, carrying the SHA-256 of the key authorization in the
/// critical acmeIdentifier extension (RFC 8737 §3).
fn alpn_check_key(name: &str, digest: &[u8]) -> Result<rustls::sign::CertifiedKey> {
    let key = rcgen_acme::KeyPair::generate().context("a key for the TLS-ALPN-01 check")?;
    let mut params = rcgen_acme::CertificateParams::new(vec![name.to_owned()])
        .context("the TLS-ALPN-01 certificate's name")?;
    params.custom_extensions = vec![rcgen_acme::CustomExtension::new_acme_identifier(digest)];
    let cert = params
        .self_signed(&key)
        .context("signing the TLS-ALPN-01 certificate")?;
    let der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    // Not `CertifiedKey::from_der`: its check of the pair parses the
    // certificate with webpki, which refuses the critical acmeIdentifier.
    let signing = crate::proxy::tls::provider()
        .key_provider
        .load_private_key(der)
        .context("the TLS-ALPN-01 certificate's key")?;
    Ok(rustls::sign::CertifiedKey::new(
        vec![cert.der().clone()],
        signing,
    ))
}

#[cfg(test)]
mod alpn_tests {
    use super::*;

    /// The check's certificate: for the name, with the digest in the
    /// critical acmeIdentifier extension (1.3.6.1.5.5.7.1.31).
    #[test]
    fn the_tls_alpn_certificate_carries_the_digest_for_the_name() {
        let digest = [7u8; 32];
        let key = alpn_check_key("shop.example", &digest).unwrap();
        let leaf = key.end_entity_cert().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(leaf).unwrap();
        let ext = cert
            .extensions()
            .iter()
            .find(|e| e.oid.to_id_string() == "1.3.6.1.5.5.7.1.31")
            .expect("the acmeIdentifier extension");
        assert!(ext.critical);
        // An OCTET STRING of the 32 bytes.
        assert_eq!(&ext.value[..2], &[0x04, 0x20]);
        assert_eq!(&ext.value[2..], &digest);
        let names = cert.subject_alternative_name().unwrap().unwrap();
        assert_eq!(
            format!("{:?}", names.value.general_names),
            "[DNSName(\"shop.example\")]"
        );
    }
}
