//! IP lists kept in files (one address or CIDR per line, `#` comments), as
//! threat feeds and deploy tools write them; reread when a file changes. A
//! file that fails to read or has a bad line keeps the lists as they were.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use arc_swap::ArcSwap;
use ipnet::IpNet;

use super::IpLists;

/// The files `[ip]` names (`allow_files`, `block_files`): bulk lists kept
/// apart from the policy's own, which the admin API edits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IpListFiles {
    pub allow: Vec<PathBuf>,
    pub block: Vec<PathBuf>,
}

impl IpListFiles {
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.block.is_empty()
    }
}

pub struct ListFiles {
    allow: Vec<PathBuf>,
    block: Vec<PathBuf>,
    pub lists: ArcSwap<IpLists>,
    seen: std::sync::Mutex<Vec<Option<SystemTime>>>,
}

/// The networks in one file; every bad line named with its number.
pub fn parse(path: &Path, text: &str) -> Result<Vec<IpNet>, String> {
    let mut nets = Vec::new();
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        match super::parse_net(line) {
            Ok(net) => nets.push(net),
            Err(e) => bad.push(format!("{}:{}: {e}", path.display(), n + 1)),
        }
    }
    if bad.is_empty() {
        Ok(nets)
    } else {
        Err(bad.join("; "))
    }
}

fn read_all(paths: &[PathBuf]) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))?;
        out.extend(parse(p, &text)?);
    }
    Ok(out)
}

impl ListFiles {
    /// Reads the files now: a bad file at start is an error.
    pub fn open(allow: Vec<PathBuf>, block: Vec<PathBuf>) -> Result<ListFiles, String> {
        let lists = IpLists {
            allow: read_all(&allow)?,
            block: read_all(&block)?,
        };
        let f = ListFiles {
            lists: ArcSwap::from_pointee(lists),
            seen: std::sync::Mutex::new(Vec::new()),
            allow,
            block,
        };
        *f.seen.lock().unwrap_or_else(|p| p.into_inner()) = f.mtimes();
        Ok(f)
    }

    fn mtimes(&self) -> Vec<Option<SystemTime>> {
        self.allow
            .iter()
            .chain(&self.block)
            .map(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
            .collect()
    }

    /// Rereads the files if any changed.
    pub fn reload_if_changed(&self) {
        let now = self.mtimes();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if now == *seen {
            return;
        }
        *seen = now;
        match (read_all(&self.allow), read_all(&self.block)) {
            (Ok(allow), Ok(block)) => {
                tracing::info!(
                    allow = allow.len(),
                    block = block.len(),
                    "IP list files reloaded"
                );
                self.lists.store(Arc::new(IpLists { allow, block }));
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, "IP list file not loaded; keeping the lists as they were");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn lines_comments_and_bad_lines() {
        let p = Path::new("block.txt");
        let nets = parse(p, "# feed\n203.0.113.0/24\n\n198.51.100.7  # one host\n").unwrap();
        assert_eq!(nets.len(), 2);
        let e = parse(p, "10.0.0.1\nnot-an-ip\n10.0.0.0/99\n").unwrap_err();
        assert!(
            e.contains("block.txt:2") && e.contains("block.txt:3"),
            "{e}"
        );
    }

    #[test]
    fn a_changed_file_is_reread_and_a_bad_one_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let block = dir.path().join("block.txt");
        std::fs::write(&block, "203.0.113.0/24\n").unwrap();
        let f = ListFiles::open(vec![], vec![block.clone()]).unwrap();
        assert_eq!(f.lists.load().block.len(), 1);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&block, "203.0.113.0/24\n198.51.100.0/24\n").unwrap();
        f.reload_if_changed();
        assert_eq!(f.lists.load().block.len(), 2);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&block, "garbage\n").unwrap();
        f.reload_if_changed();
        assert_eq!(
            f.lists.load().block.len(),
            2,
            "the bad file changes nothing"
        );
        assert!(ListFiles::open(vec![dir.path().join("missing")], vec![]).is_err());
    }
}
