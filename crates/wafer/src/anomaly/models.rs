//! The models directory: one JSON file per trained model (`VERSION.json`),
//! `ACTIVE` naming the one in use, and `HISTORY` the ones active before it,
//! for rollback. Every write is a temporary file and a rename, so a running
//! Wafer reading the directory never sees half a file.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use wafer_engine::anomaly::{ForestParams, LoadError, Model, ScoreQuantiles};

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("model {version}: {source}")]
    Load { version: String, source: LoadError },
    #[error("no model {0:?} in the models directory")]
    NotFound(String),
    #[error("{0:?} is not a model version (letters, digits, '.', '-', '_')")]
    BadName(String),
    #[error("nothing to roll back to: no model was active before this one")]
    NoHistory,
}

/// What `list` shows of a model without keeping its forest.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelInfo {
    #[serde(default)]
    pub version: String,
    pub format_version: u32,
    pub schema_version: u32,
    pub created_ms: u64,
    pub fingerprint: String,
    pub params: ForestParams,
    pub samples: usize,
    pub threshold: f64,
    pub target_fpr: f64,
    pub score_quantiles: ScoreQuantiles,
    #[serde(default)]
    pub active: bool,
}

impl ModelInfo {
    pub fn of(version: &str, m: &Model) -> ModelInfo {
        ModelInfo {
            version: version.to_owned(),
            format_version: m.format_version,
            schema_version: m.schema_version,
            created_ms: m.created_ms,
            fingerprint: m.fingerprint.clone(),
            params: m.params,
            samples: m.samples,
            threshold: m.threshold,
            target_fpr: m.target_fpr,
            score_quantiles: m.score_quantiles,
            active: false,
        }
    }
}

pub struct ModelsDir {
    dir: PathBuf,
}

/// `20261201-140512-9f86d081`: when it was made, then its data.
pub fn version_of(m: &Model) -> String {
    let fp: String = m
        .fingerprint
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect();
    format!("{}-{fp}", utc_stamp(m.created_ms))
}

/// `YYYYMMDD-HHMMSS` in UTC (civil-from-days, as in Howard Hinnant's notes).
pub fn utc_stamp(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn valid_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 100
        && !v.starts_with('.')
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

/// Synced before and after the rename: a model, HISTORY or ACTIVE is whole after a crash.
fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    crate::durable::write_atomic(path, &path.with_extension("tmp"), bytes)
}

impl ModelsDir {
    pub fn new(dir: impl Into<PathBuf>) -> ModelsDir {
        ModelsDir { dir: dir.into() }
    }

    pub fn path(&self) -> &Path {
        &self.dir
    }

    fn file(&self, version: &str) -> Result<PathBuf, ModelError> {
        if !valid_name(version) {
            return Err(ModelError::BadName(version.to_owned()));
        }
        Ok(self.dir.join(format!("{version}.json")))
    }

    /// Saves a trained model under its version name; returns the name.
    pub fn save(&self, m: &Model) -> Result<String, ModelError> {
        std::fs::create_dir_all(&self.dir)?;
        let version = version_of(m);
        write_atomic(&self.file(&version)?, m.to_json().as_bytes())?;
        Ok(version)
    }

    pub fn load(&self, version: &str) -> Result<Model, ModelError> {
        let text = match std::fs::read_to_string(self.file(version)?) {
            Ok(t) => t,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ModelError::NotFound(version.to_owned()));
            }
            Err(e) => return Err(e.into()),
        };
        Model::from_json(&text).map_err(|source| ModelError::Load {
            version: version.to_owned(),
            source,
        })
    }

    /// The version `ACTIVE` names, if any.
    pub fn active(&self) -> Result<Option<String>, ModelError> {
        match std::fs::read_to_string(self.dir.join("ACTIVE")) {
            Ok(t) => Ok(Some(t.trim().to_owned()).filter(|v| !v.is_empty())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn history(&self) -> Result<Vec<String>, ModelError> {
        match std::fs::read_to_string(self.dir.join("HISTORY")) {
            Ok(t) => Ok(t
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(e.into()),
        }
    }

    fn set_active(&self, version: &str, history: &[String]) -> Result<(), ModelError> {
        write_atomic(&self.dir.join("HISTORY"), history.join("\n").as_bytes())?;
        write_atomic(&self.dir.join("ACTIVE"), format!("{version}\n").as_bytes())?;
        Ok(())
    }

    /// Makes `version` the active model, after loading it (so a model of
    /// another schema is refused here, not found broken by the proxy).
    pub fn activate(&self, version: &str) -> Result<Model, ModelError> {
        let model = self.load(version)?;
        let mut history = self.history()?;
        if let Some(current) = self.active()?
            && current != version
        {
            history.push(current);
        }
        self.set_active(version, &history)?;
        Ok(model)
    }

    /// Goes back to the model active before this one; returns its version.
    pub fn rollback(&self) -> Result<(String, Model), ModelError> {
        let mut history = self.history()?;
        let previous = history.pop().ok_or(ModelError::NoHistory)?;
        let model = self.load(&previous)?;
        self.set_active(&previous, &history)?;
        Ok((previous, model))
    }

    /// Every model in the directory, newest first; files that do not load are
    /// listed with the reason on stderr's behalf by the caller.
    pub fn list(&self) -> Result<Vec<Result<ModelInfo, ModelError>>, ModelError> {
        let active = self.active()?;
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut versions: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.strip_suffix(".json").map(str::to_owned)
            })
            .filter(|v| valid_name(v))
            .collect();
        versions.sort_unstable_by(|a, b| b.cmp(a));
        Ok(versions
            .into_iter()
            .map(|v| {
                self.load(&v).map(|m| ModelInfo {
                    active: active.as_deref() == Some(v.as_str()),
                    ..ModelInfo::of(&v, &m)
                })
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_utc_dates() {
        assert_eq!(utc_stamp(0), "19700101-000000");
        assert_eq!(utc_stamp(1_796_131_002_884), "20261201-131642");
        assert_eq!(utc_stamp(951_782_400_000), "20000229-000000");
    }

    #[test]
    fn activation_files_are_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let m = ModelsDir::new(dir.path());
        m.set_active("v1", &["v1".to_owned()]).unwrap();
        m.set_active("v2", &["v1".to_owned(), "v2".to_owned()])
            .unwrap();
        assert_eq!(m.active().unwrap().as_deref(), Some("v2"));
        assert_eq!(m.history().unwrap(), ["v1", "v2"]);
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.ends_with(".tmp"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        for bad in ["", "../x", "a/b", ".hidden", "a b", "x\0"] {
            assert!(!valid_name(bad), "{bad:?}");
        }
        assert!(valid_name("20261201-131642-9f86d081"));
        assert!(valid_name("default"));
    }
}
