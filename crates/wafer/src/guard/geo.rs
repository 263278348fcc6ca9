//! GeoIP: the client's country from a MaxMind DB (`.mmdb`) file, and country allow/deny rules.
//!
//! **Reads:** GeoLite2/GeoIP2 Country or City files and DB-IP country files (`country.iso_code`),
//! and ip-location-db files (a top-level `country_code`). Both IPv4 and IPv6 databases.
//! **Cost:** `open` reads the whole file into memory and checks its metadata and first records
//! (no full scan), so it is cheap enough to call again whenever the file's mtime changes;
//! [`GeoIp::verify`] is the full, slow check for `wafer check`. A lookup walks the tree and
//! borrows the code from the file's bytes: no allocation per call.
//! **Hostile files:** a missing, truncated or garbage file is an error from `open`, never a
//! panic; a corrupt record found later makes that lookup unknown (`None`).
//!
//! Reading uses the `maxminddb` crate, a well-kept reader that bounds its decoding work on
//! untrusted files. Writing (tests only, `testdb`) is ours: no maintained writer crate works
//! here, and tests need a tiny database without downloads.

use maxminddb::{MaxMindDbError, Reader, WithinOptions};
use serde::Deserialize;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[cfg(any(test, feature = "test-util"))]
#[doc(hidden)]
pub mod testdb;

/// Larger files are refused before they are read: the biggest real country/city files are
/// well under this, and a hostile path (a device, a huge file) must not exhaust memory.
const MAX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// How many records `open` decodes to decide that the file holds country data at all.
const PROBE_RECORDS: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("GeoIP database {} does not exist", .path.display())]
    NotFound { path: PathBuf },
    #[error("reading GeoIP database {}", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("GeoIP database {} is {size} bytes, more than the {MAX_FILE_BYTES} allowed", .path.display())]
    TooLarge { path: PathBuf, size: u64 },
    #[error("{} is not a valid MaxMind DB (.mmdb) file", .path.display())]
    NotMmdb {
        path: PathBuf,
        #[source]
        source: MaxMindDbError,
    },
    #[error(
        "{} ({database_type}) has no country data: no record among the first {PROBE_RECORDS} has country.iso_code or country_code",
        .path.display()
    )]
    NoCountryData {
        path: PathBuf,
        database_type: String,
    },
}

/// An opened country database. Immutable; reload by opening again and swapping.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("GeoIp")
            .field("database_type", &m.database_type)
            .field("ip_version", &m.ip_version)
            .field("build_epoch", &m.build_epoch)
            .finish_non_exhaustive()
    }
}

/// The fields a lookup decodes; everything else in the record is skipped. Borrowed `&str`
/// proves no allocation: the decoder refuses to borrow unless the string is in the file.
#[derive(Deserialize)]
struct CountryRecord<'a> {
    #[serde(borrow)]
    country: Option<CountryField<'a>>,
    /// ip-location-db's layout.
    country_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct CountryField<'a> {
    iso_code: Option<&'a str>,
}

impl CountryRecord<'_> {
    fn code(&self) -> Option<[u8; 2]> {
        let raw = self
            .country
            .as_ref()
            .and_then(|c| c.iso_code)
            .or(self.country_code)?;
        match raw.as_bytes() {
            [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                Some([a.to_ascii_uppercase(), b.to_ascii_uppercase()])
            }
            _ => None,
        }
    }
}

impl GeoIp {
    /// Reads and checks `path`: it must exist, be an MMDB file, and hold country codes.
    pub fn open(path: &Path) -> Result<GeoIp, GeoError> {
        let io_err = |source: std::io::Error| match source.kind() {
            std::io::ErrorKind::NotFound => GeoError::NotFound { path: path.into() },
            _ => GeoError::Read {
                path: path.into(),
                source,
            },
        };
        let size = std::fs::metadata(path).map_err(io_err)?.len();
        if size > MAX_FILE_BYTES {
            return Err(GeoError::TooLarge {
                path: path.into(),
                size,
            });
        }
        let bytes = std::fs::read(path).map_err(io_err)?;
        let reader = Reader::from_source(bytes).map_err(|source| GeoError::NotMmdb {
            path: path.into(),
            source,
        })?;
        let geo = GeoIp { reader };
        geo.probe(path)?;
        Ok(geo)
    }

    /// Decodes the first records: a corrupt tree or data section is an error here, and a
    /// database without countries (ASN, ISP) is refused rather than answering `None` forever.
    fn probe(&self, path: &Path) -> Result<(), GeoError> {
        let not_mmdb = |source| GeoError::NotMmdb {
            path: path.into(),
            source,
        };
        let networks = self
            .reader
            .networks(WithinOptions::default())
            .map_err(not_mmdb)?;
        for found in networks.take(PROBE_RECORDS) {
            let found = found.map_err(not_mmdb)?;
            let record = found.decode::<CountryRecord<'_>>().map_err(not_mmdb)?;
            if record.and_then(|r| r.code()).is_some() {
                return Ok(());
            }
        }
        Err(GeoError::NoCountryData {
            path: path.into(),
            database_type: self.reader.metadata().database_type.clone(),
        })
    }

    /// The full structural check (every node and record): slow on real files, for `wafer check`.
    pub fn verify(&self) -> Result<(), MaxMindDbError> {
        self.reader.verify()
    }

    /// The ISO 3166-1 alpha-2 code, uppercase, or `None` when the address is not in the
    /// database (or its record is corrupt). IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is looked up
    /// as IPv4; IPv6 in an IPv4-only database is unknown.
    pub fn country(&self, ip: IpAddr) -> Option<[u8; 2]> {
        let ip = super::canonical(ip);
        let found = self.reader.lookup(ip).ok()?;
        found.decode::<CountryRecord<'_>>().ok()??.code()
    }

    /// `database_type` from the file's metadata, e.g. `GeoLite2-Country`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the file was built, in seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }
}

/// The code `"--"` in `deny` stands for "unknown country": an address the database does not
/// locate. It follows MaxMind's legacy `--` for unknown.
pub const UNKNOWN: [u8; 2] = *b"--";

/// What the country rules decide.
///
/// Deny wins; a non-empty allow list denies every other *known* country; an unknown country
/// (`None`) is allowed unless `deny` contains `"--"`, whatever the allow list says, so a
/// database gap never blocks traffic unless asked to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountryRules {
    allow: Vec<[u8; 2]>,
    deny: Vec<[u8; 2]>,
}

impl CountryRules {
    /// Codes are two ASCII letters, any case (`"de"` becomes `DE`); `"--"` only in `deny`.
    /// Every bad value is named in the one error.
    pub fn parse(allow: &[String], deny: &[String]) -> Result<CountryRules, String> {
        let mut bad = Vec::new();
        let mut codes = |list: &[String], name: &str, unknown_ok: bool| -> Vec<[u8; 2]> {
            let mut out = Vec::with_capacity(list.len());
            for value in list {
                match value.as_bytes() {
                    [a, b] if a.is_ascii_alphabetic() && b.is_ascii_alphabetic() => {
                        out.push([a.to_ascii_uppercase(), b.to_ascii_uppercase()]);
                    }
                    b"--" if unknown_ok => out.push(UNKNOWN),
                    b"--" => bad.push(format!(
                        "{name} {value:?} (\"--\", unknown, belongs in deny: unknown countries are allowed unless denied)"
                    )),
                    _ => bad.push(format!("{name} {value:?}")),
                }
            }
            out.sort_unstable();
            out.dedup();
            out
        };
        let allow = codes(allow, "allow", false);
        let deny = codes(deny, "deny", true);
        if bad.is_empty() {
            Ok(CountryRules { allow, deny })
        } else {
            Err(format!(
                "country codes must be two letters (ISO 3166-1 alpha-2) or \"--\" in deny: {}",
                bad.join(", ")
            ))
        }
    }

    /// No rules: everything is allowed, and the integrator can skip the lookup.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Whether a client from `country` (`None`: unknown) may pass.
    pub fn allows(&self, country: Option<[u8; 2]>) -> bool {
        match country {
            None => !self.deny.contains(&UNKNOWN),
            Some(code) => {
                !self.deny.contains(&code) && (self.allow.is_empty() || self.allow.contains(&code))
            }
        }
    }
}

#[cfg(test)]
mod tests;
