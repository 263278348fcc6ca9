//! A site's ACME certificate on disk: one PEM file with the key and the
//! chain, replaced whole (written aside, then renamed), readable by Wafer
//! alone.

use std::path::Path;
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// What a stored certificate says of itself.
#[derive(Debug)]
pub(super) struct Stored {
    pub(super) not_before: SystemTime,
    pub(super) not_after: SystemTime,
    /// Its DNS names, lowercased, sorted, once each.
    names: Vec<String>,
}

/// The certificate in `file` (its first, the leaf), if one is there and readable.
pub(super) fn read(file: &Path) -> Option<Stored> {
    let leaf = CertificateDer::pem_file_iter(file)
        .ok()
        .and_then(|mut certs| certs.next())
        .and_then(Result::ok)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).ok()?;
    let at = |t: x509_parser::time::ASN1Time| {
        u64::try_from(t.timestamp())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let names = match cert.subject_alternative_name() {
        Ok(Some(san)) => san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    Some(Stored {
        not_before: at(cert.validity().not_before),
        not_after: at(cert.validity().not_after),
        names: normalized(names),
    })
}

fn normalized(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names.dedup();
    names
}

/// When `stored` should be renewed for `names`: `None` (now) when there is
/// none or it is for other names than `names` (no more, no fewer);
/// otherwise `renew_before` its end (a third of its lifetime when unset, or
/// when `renew_before` is longer than the lifetime, which would renew forever).
pub(super) fn renewal_time(
    stored: Option<&Stored>,
    names: &[String],
    renew_before: Option<Duration>,
) -> Option<SystemTime> {
    let stored = stored?;
    let want = normalized(names.iter().map(|n| n.to_ascii_lowercase()).collect());
    if stored.names.is_empty() || stored.names != want {
        return None;
    }
    let lifetime = stored
        .not_after
        .duration_since(stored.not_before)
        .unwrap_or(Duration::ZERO);
    let before = match renew_before {
        Some(b) if b < lifetime => b,
        _ => lifetime / 3,
    };
    Some(
        stored
            .not_after
            .checked_sub(before)
            .unwrap_or(SystemTime::UNIX_EPOCH),
    )
}

/// Writes `key` and `chain` (PEM) to `file` in one rename, owner-only.
pub(super) fn write(file: &Path, key: &str, chain: &str) -> anyhow::Result<()> {
    use anyhow::Context;
    let dir = file
        .parent()
        .context("a certificate file without a directory")?;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut pem = String::with_capacity(key.len() + chain.len() + 1);
    pem.push_str(key);
    if !key.ends_with('\n') {
        pem.push('\n');
    }
    pem.push_str(chain);
    crate::durable::write_atomic_private(file, &file.with_extension("pem.new"), pem.as_bytes())
        .with_context(|| format!("writing {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn self_signed(names: &[&str], started_days_ago: i64, days: i64) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(
            names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap();
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(started_days_ago);
        params.not_after = now + time::Duration::days(days);
        let cert = params.self_signed(&key).unwrap();
        (key.serialize_pem(), cert.pem())
    }

    #[test]
    fn missing_foreign_or_near_its_end_is_due_now() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("shop.example.pem");
        let names = vec!["shop.example".to_owned(), "www.shop.example".to_owned()];
        let now = SystemTime::now();
        assert_eq!(
            renewal_time(read(&file).as_ref(), &names, None),
            None,
            "missing"
        );

        std::fs::write(&file, "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
        assert_eq!(
            renewal_time(read(&file).as_ref(), &names, None),
            None,
            "unreadable"
        );

        let (k, c) = self_signed(&["www.shop.example", "shop.example"], 1, 89);
        write(&file, &k, &c).unwrap();
        // 90 days in all: a third before the end is in about 59 days.
        let due = renewal_time(read(&file).as_ref(), &names, None).unwrap();
        let days = due.duration_since(now).unwrap().as_secs() / 86_400;
        assert!((58..=59).contains(&days), "{days}");
        // Ten days before the end: in about 79 days.
        let due = renewal_time(
            read(&file).as_ref(),
            &names,
            Some(Duration::from_secs(10 * 86_400)),
        )
        .unwrap();
        let days = due.duration_since(now).unwrap().as_secs() / 86_400;
        assert!((78..=79).contains(&days), "{days}");
        // Longer than the lifetime would renew in a loop: a third instead.
        let due = renewal_time(
            read(&file).as_ref(),
            &names,
            Some(Duration::from_secs(400 * 86_400)),
        )
        .unwrap();
        assert!(due > now);

        assert_eq!(
            renewal_time(read(&file).as_ref(), &names[..1], None),
            None,
            "a name fewer"
        );
        let (k, c) = self_signed(&["shop.example", "www.shop.example"], 28, 2);
        write(&file, &k, &c).unwrap();
        let due = renewal_time(read(&file).as_ref(), &names, None).unwrap();
        assert!(due <= SystemTime::now(), "30 days long, ends in 2");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_holds_key_and_chain_for_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("acme").join("a.example.pem");
        let (k, c) = self_signed(&["a.example"], 1, 30);
        write(&file, &k, &c).unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.contains("PRIVATE KEY") && text.contains("BEGIN CERTIFICATE"));
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "{mode:o}");
        assert!(!file.with_extension("pem.new").exists());
    }
}
