//! The rule groups on Vectorscan (cargo feature `vectorscan`; without it this
//! logs that the regex sets scan, and does nothing else).
//!
//! The compiled databases are kept in the data directory (`rules.vectorscan`):
//! a start with the same rules loads them before serving, in milliseconds. A
//! file for other rules, another Vectorscan or another CPU is refused by the
//! engine. Then compiling takes seconds, so the proxy starts on the regex sets
//! (which find the same matches) while a child process (`wafer compile-rules`)
//! compiles; its image is loaded and saved for the next start. In a child, the
//! compiler's working memory (it stayed as 26 MiB of the server's RSS when
//! compiled in-process) goes with it, and a crash in the C library cannot
//! take the proxy down. If the child cannot run, the server compiles itself.

use std::path::{Path, PathBuf};
use std::time::Instant;
use wafer_engine::Engine;
use wafer_engine::rules::{RuleSet, compile_image};

/// Where the compiled databases are kept between starts.
pub fn image_path(data_dir: &Path) -> PathBuf {
    data_dir.join("rules.vectorscan")
}

/// Loads the image now if it fits the rules; else compiles on a thread of
/// its own ([`accelerate`]), the server serving meanwhile.
pub fn at_start(engine: &Engine, data_dir: &Path) {
    let rules = engine.rule_set();
    if !cfg!(feature = "vectorscan") {
        tracing::debug!("signature scan: {}", rules.accelerate(0));
        return;
    }
    let path = image_path(data_dir);
    if let Ok(said) = load(&rules, &path, Instant::now()) {
        tracing::info!("signature scan: {said}");
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("rule-compiler".into())
        .spawn(move || {
            let compiler = std::env::current_exe().ok();
            let said = accelerate(&rules, &path, compiler.as_deref());
            tracing::info!("signature scan: {said}");
        });
    if let Err(e) = spawned {
        tracing::warn!("signature scan stays on the regex sets: no thread to compile in: {e}");
    }
}

/// What happened, when `image` was loaded; else why not, as a note for the
/// log (empty when there is no image yet).
fn load(rules: &RuleSet, image: &Path, started: Instant) -> Result<String, String> {
    let bytes = match std::fs::read(image) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(String::new()),
        Err(e) => return Err(format!("; {} not read: {e}", image.display())),
    };
    let report = rules
        .accelerate_from_image(&bytes)
        .map_err(|why| format!("; {} not used: {why}", image.display()))?;
    Ok(format!(
        "{report}, from {} in {:.0} ms{}",
        image.display(),
        started.elapsed().as_secs_f64() * 1e3,
        refusals(&report)
    ))
}

fn refusals(report: &wafer_engine::rules::Acceleration) -> String {
    report
        .refused
        .iter()
        .map(|r| format!("; regex set for {r}"))
        .collect()
}

/// Loads the rules' databases from `image`, or compiles them (in a child
/// process running `compiler compile-rules`, when given) and saves the image;
/// says what it did, for the log.
pub fn accelerate(rules: &RuleSet, image: &Path, compiler: Option<&Path>) -> String {
    let started = Instant::now();
    let note = match load(rules, image, started) {
        Ok(said) => return said,
        Err(note) => note,
    };
    // Half the cores: the proxy is serving meanwhile.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get().div_ceil(2));
    let groups = rules.pattern_groups();
    let (compiled, how) = match compiler.map(|exe| in_child(exe, &groups, threads)) {
        Some(Ok(bytes)) => (Ok(bytes), "in a child process"),
        Some(Err(e)) => {
            tracing::warn!("compiling the rules in a child process: {e:#}; compiling here");
            (compile_image(&groups, threads), "in this process")
        }
        None => (compile_image(&groups, threads), "in this process"),
    };
    let bytes = match compiled {
        Ok(bytes) => bytes,
        Err(why) => return format!("regex sets: {why}{note}"),
    };
    let report = match rules.accelerate_from_image(&bytes) {
        Ok(report) => report,
        Err(why) => return format!("compiled, but not loaded: {why}{note}"),
    };
    let mut said = format!(
        "{report}, compiled {how} in {:.1} s{note}{}",
        started.elapsed().as_secs_f64(),
        refusals(&report)
    );
    match save(image, &bytes) {
        Ok(()) => said.push_str(&format!("; saved to {}", image.display())),
        Err(e) => said.push_str(&format!("; not saved: {e:#}")),
    }
    said
}

/// Runs `exe compile-rules`: the groups go in as JSON, the image comes out.
fn in_child(exe: &Path, groups: &[Vec<String>], threads: usize) -> anyhow::Result<Vec<u8>> {
    use anyhow::Context;
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new(exe)
        .args(["compile-rules", "--threads", &threads.to_string()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    // The child reads all of its input before it writes anything.
    let input = serde_json::to_vec(groups)?;
    child
        .stdin
        .take()
        .context("the child's stdin")?
        .write_all(&input)
        .context("writing to the child")?;
    let out = child.wait_with_output().context("waiting for the child")?;
    if !out.status.success() {
        anyhow::bail!(
            "{}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(out.stdout)
}

/// `wafer compile-rules`: JSON groups on stdin, the image on stdout.
pub fn compile_rules_command(threads: usize) -> anyhow::Result<i32> {
    use std::io::{Read, Write};
    let mut input = Vec::new();
    std::io::stdin().read_to_end(&mut input)?;
    let groups: Vec<Vec<String>> = serde_json::from_slice(&input)?;
    let image = compile_image(&groups, threads).map_err(anyhow::Error::msg)?;
    std::io::stdout().write_all(&image)?;
    Ok(0)
}

/// Writes `bytes` whole or not at all (a crash mid-write leaves the old file).
fn save(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use anyhow::Context;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let tmp = path.with_extension("vectorscan.tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    Ok(())
}
