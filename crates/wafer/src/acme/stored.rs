//! A site's ACME certificate on disk: one PEM file with the key and the
//! chain, replaced whole (written aside, then renamed), readable by Wafer
//! alone.

use std::path::Path;
use std::time::{Duration, SystemTime};

use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

/// When the certificate in `file` should be renewed: `None` (now) when it
/// is missing, unreadable or for other names than `names`; otherwise
/// `renew_before` its end (a third of its lifetime when unset, or when
/// `renew_before` is longer than the lifetime, which would renew forever).
pub(super) fn renewal_time(
    file: &Path,
    names: &[String],
    renew_before: Option<Duration>,
) -> Option<SystemTime> {
    let leaf = CertificateDer::pem_file_iter(file)
        .ok()
        .and_then(|mut certs| certs.next())
        .and_then(Result::ok)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).ok()?;
    if !covers_exactly(&cert, names) {
        return None;
    }
    let at = |t: x509_parser::time::ASN1Time| {
        u64::try_from(t.timestamp())
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let (start, end) = (
        at(cert.validity().not_before),
        at(cert.validity().not_after),
    );
    let lifetime = end.duration_since(start).unwrap_or(Duration::ZERO);
    let before = match renew_before {
        Some(b) if b < lifetime => b,
        _ => lifetime / 3,
    };
    Some(end.checked_sub(before).unwrap_or(SystemTime::UNIX_EPOCH))
}

/// When the stored certificate ends, if one is there and readable.
pub(super) fn not_after(file: &Path) -> Option<SystemTime> {
    let leaf = CertificateDer::pem_file_iter(file)
        .ok()
        .and_then(|mut certs| certs.next())
        .and_then(Result::ok)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&leaf).ok()?;
    let secs = u64::try_from(cert.validity().not_after.timestamp()).ok()?;
    Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}

/// Whether the certificate's DNS names are `names`, no more and no fewer.
fn covers_exactly(cert: &x509_parser::certificate::X509Certificate<'_>, names: &[String]) -> bool {
    let Ok(Some(san)) = cert.subject_alternative_name() else {
        return false;
    };
    let mut have: Vec<String> = san
        .value
        .general_names
        .iter()
        .filter_map(|n| match n {
            x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_ascii_lowercase()),
            _ => None,
        })
        .collect();
    let mut want: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
    have.sort();
    have.dedup();
    want.sort();
    want.dedup();
    have == want
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
        assert_eq!(renewal_time(&file, &names, None), None, "missing");

        std::fs::write(&file, "-----BEGIN CERTIFICATE-----\nbroken\n").unwrap();
        assert_eq!(renewal_time(&file, &names, None), None, "unreadable");

        let (k, c) = self_signed(&["www.shop.example", "shop.example"], 1, 89);
        write(&file, &k, &c).unwrap();
        // 90 days in all: a third before the end is in about 59 days.
        let due = renewal_time(&file, &names, None).unwrap();
        let days = due.duration_since(now).unwrap().as_secs() / 86_400;
        assert!((58..=59).contains(&days), "{days}");
        // Ten days before the end: in about 79 days.
        let due = renewal_time(&file, &names, Some(Duration::from_secs(10 * 86_400))).unwrap();
        let days = due.duration_since(now).unwrap().as_secs() / 86_400;
        assert!((78..=79).contains(&days), "{days}");
        // Longer than the lifetime would renew in a loop: a third instead.
        let due = renewal_time(&file, &names, Some(Duration::from_secs(400 * 86_400))).unwrap();
        assert!(due > now);

        assert_eq!(renewal_time(&file, &names[..1], None), None, "a name fewer");
        let (k, c) = self_signed(&["shop.example", "www.shop.example"], 28, 2);
        write(&file, &k, &c).unwrap();
        let due = renewal_time(&file, &names, None).unwrap();
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
