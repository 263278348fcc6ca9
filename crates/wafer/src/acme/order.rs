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

use crate::config::acme::AcmeSettings;
use crate::proxy::challenges::Challenges;
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

/// Orders a certificate for `names`, answering the CA's HTTP-01 checks
/// through `challenges`; returns the new key and the chain (PEM).
pub(super) async fn issue(
    account: &Account,
    names: &[String],
    challenges: &Challenges,
) -> Result<(String, String)> {
    let ids: Vec<Identifier> = names.iter().map(|n| Identifier::Dns(n.clone())).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .context("placing the order")?;
    let mut tokens = Vec::new();
    let issued = async {
        let mut auths = order.authorizations();
        while let Some(auth) = auths.next().await {
            let mut auth = auth.context("reading an authorization")?;
            match auth.status {
                AuthorizationStatus::Valid => continue,
                AuthorizationStatus::Pending => {}
                other => bail!("the CA's authorization is {other:?}"),
            }
            let mut challenge = auth
                .challenge(ChallengeType::Http01)
                .ok_or_else(|| anyhow!("the CA offers no HTTP-01 check"))?;
            challenges
                .put(&challenge.token, challenge.key_authorization().as_str())
                .await;
            tokens.push(challenge.token.clone());
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
    for t in &tokens {
        challenges.remove(t).await;
    }
    issued
}
