//! Checks an OCSP response before it is stapled to a certificate: a client
//! that gets a stapled "revoked", expired or foreign response fails the
//! handshake (hard, for a must-staple certificate), while one that gets no
//! staple asks the CA itself or goes on. So a response is stapled only when
//! it says "good" for this very certificate (its serial) and is current
//! (`thisUpdate` past, `nextUpdate` ahead); otherwise the certificate is
//! served without one and the reason is logged.
//!
//! The signature is not checked here: the client checks it against the CA
//! it trusts, which is the point of stapling. The walk over the DER is
//! written here (with `asn1-rs`, already in the tree through `x509-parser`)
//! because no maintained crate parses OCSP responses on that stack; it reads
//! only the fields above (RFC 6960 §4.2.1).

use std::time::{Duration, SystemTime};

use x509_parser::asn1_rs::{Any, Class, FromDer, GeneralizedTime, Tag};

/// `id-pkix-ocsp-basic` (1.3.6.1.5.5.7.48.1.1), as DER content bytes.
const BASIC: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x01];
/// Clocks differ: a response made this much "in the future" is still taken.
const SKEW: Duration = Duration::from_secs(300);

/// `Ok(next_update)` (`None`: the response names no end) when `response` may
/// be stapled to `leaf` at `now`; else why not.
pub fn check(response: &[u8], leaf: &[u8], now: SystemTime) -> Result<Option<SystemTime>, String> {
    let serial = leaf_serial(leaf)?;
    let outer = seq(response, "OCSPResponse")?;
    let (rest, status) = any(outer, "responseStatus")?;
    if status.tag() != Tag::Enumerated || status.data != [0] {
        return Err(format!(
            "the responder did not answer with a response (status {:?})",
            status.data
        ));
    }
    let (_, bytes) = any(rest, "responseBytes")?;
    let bytes = seq(bytes.data, "ResponseBytes")?;
    let (rest, kind) = any(bytes, "responseType")?;
    if kind.tag() != Tag::Oid || kind.data != BASIC {
        return Err("not a basic OCSP response".into());
    }
    let (_, basic) = any(rest, "response")?;
    let basic = seq(basic.data, "BasicOCSPResponse")?;
    let tbs = seq(basic, "ResponseData")?;
    // version [0] (optional), responderID [1] or [2], producedAt, responses.
    let mut rest = tbs;
    let mut responses = None;
    while !rest.is_empty() {
        let (next, item) = any(rest, "ResponseData")?;
        if item.class() == Class::Universal && item.tag() == Tag::Sequence {
            responses = Some(item.data);
            break;
        }
        rest = next;
    }
    let mut responses = responses.ok_or("no responses in the ResponseData")?;
    while !responses.is_empty() {
        let (next, single) = any(responses, "SingleResponse")?;
        responses = next;
        if let Some(end) = single_for(single.data, &serial, now)? {
            return end;
        }
    }
    Err("no response for this certificate's serial number".into())
}

/// For the `SingleResponse` about `serial`: whether it may be stapled
/// (`Some(Ok(next_update))` or `Some(Err(why))`); `None` when it is about another certificate.
#[allow(clippy::type_complexity)]
fn single_for(
    single: &[u8],
    serial: &[u8],
    now: SystemTime,
) -> Result<Option<Result<Option<SystemTime>, String>>, String> {
    let (rest, cert_id) = any(single, "certID")?;
    // hashAlgorithm, issuerNameHash, issuerKeyHash, serialNumber.
    let mut id = cert_id.data;
    for what in ["hashAlgorithm", "issuerNameHash", "issuerKeyHash"] {
        id = any(id, what)?.0;
    }
    let (_, number) = any(id, "serialNumber")?;
    if number.data != serial {
        return Ok(None);
    }
    let (rest, status) = any(rest, "certStatus")?;
    if status.class() != Class::ContextSpecific || status.tag() != Tag(0) {
        let what = if status.tag() == Tag(1) {
            "revoked"
        } else {
            "unknown"
        };
        return Ok(Some(Err(format!(
            "the responder says the certificate is {what}"
        ))));
    }
    let (rest, this_update) = any(rest, "thisUpdate")?;
    if time(this_update)? > now + SKEW {
        return Ok(Some(Err(
            "the response is not valid yet (thisUpdate)".into()
        )));
    }
    let next_update = match any(rest, "nextUpdate") {
        Ok((_, t)) if t.class() == Class::ContextSpecific && t.tag() == Tag(0) => {
            let (_, inner) = any(t.data, "nextUpdate")?;
            Some(time(inner)?)
        }
        _ => None,
    };
    if next_update.is_some_and(|end| end <= now) {
        return Ok(Some(Err("the response has expired (nextUpdate)".into())));
    }
    Ok(Some(Ok(next_update)))
}

fn leaf_serial(leaf: &[u8]) -> Result<Vec<u8>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    // The INTEGER's content bytes, as the response's certID carries them.
    Ok(cert.tbs_certificate.raw_serial().to_vec())
}

fn any<'a>(bytes: &'a [u8], what: &str) -> Result<(&'a [u8], Any<'a>), String> {
    Any::from_der(bytes).map_err(|e| format!("{what}: not DER ({e})"))
}

/// The content of the SEQUENCE that `bytes` starts with.
fn seq<'a>(bytes: &'a [u8], what: &str) -> Result<&'a [u8], String> {
    let (_, s) = any(bytes, what)?;
    if s.tag() != Tag::Sequence {
        return Err(format!("{what}: not a SEQUENCE"));
    }
    Ok(s.data)
}

fn time(t: Any<'_>) -> Result<SystemTime, String> {
    let g = GeneralizedTime::try_from(t).map_err(|e| format!("a time: {e}"))?;
    let secs = g
        .utc_datetime()
        .map_err(|e| format!("a time: {e}"))?
        .unix_timestamp();
    let secs = u64::try_from(secs).map_err(|_| "a time before 1970".to_owned())?;
    Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
}
