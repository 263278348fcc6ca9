//! Builds the dashboard (`ui/`, Vite + TypeScript) into `OUT_DIR` and writes
//! the table of files that `src/admin/dashboard.rs` compiles in, each with a
//! gzip copy. `npm ci` runs only when `ui/node_modules` is missing or older
//! than the lock file, so a normal rebuild costs one `vite build` when the UI
//! changed and nothing when it did not.
//!
//! `WAFER_UI_DIST=DIR` takes an already built UI from DIR instead (packagers,
//! machines without Node.js).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=WAFER_UI_DIST");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let dist = match std::env::var_os("WAFER_UI_DIST") {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            println!("cargo:rerun-if-changed={}", dir.display());
            dir
        }
        None => build_ui(&out),
    };
    let mut files = Vec::new();
    walk(&dist, &dist, &mut files);
    files.sort();
    if !files.iter().any(|f| f == "index.html") {
        fail(&format!("{} has no index.html", dist.display()));
    }
    let gz_dir = out.join("ui-gzip");
    std::fs::create_dir_all(&gz_dir).expect("creating OUT_DIR/ui-gzip");
    let mut table = String::from("pub(crate) static ASSETS: &[Asset] = &[\n");
    for (i, rel) in files.iter().enumerate() {
        let src = dist.join(rel);
        let body = std::fs::read(&src).expect("reading a built UI file");
        let gzip = compressible(rel)
            .then(|| gzip(&body))
            .filter(|gz| gz.len() < body.len())
            .map(|gz| {
                let p = gz_dir.join(format!("{i}.gz"));
                std::fs::write(&p, gz).expect("writing a gzip copy");
                p
            });
        let _ = writeln!(
            table,
            "    Asset {{ path: {rel:?}, mime: {:?}, body: include_bytes!({:?}), gzip: {} }},",
            mime(rel),
            src.display().to_string(),
            match gzip {
                Some(p) => format!("Some(include_bytes!({:?}))", p.display().to_string()),
                None => "None".to_owned(),
            }
        );
    }
    table.push_str("];\n");
    std::fs::write(out.join("ui_assets.rs"), table).expect("writing ui_assets.rs");
}

fn fail(msg: &str) -> ! {
    panic!("building the dashboard: {msg}");
}

fn build_ui(out: &Path) -> PathBuf {
    let ui =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("manifest dir")).join("ui");
    for watched in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
        "public",
    ] {
        // A path that does not exist counts as changed on every build.
        if ui.join(watched).exists() {
            println!("cargo:rerun-if-changed=ui/{watched}");
        }
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    let stamp = ui.join("node_modules/.package-lock.json");
    if newer(&ui.join("package-lock.json"), &stamp) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&ui),
            "npm ci",
        );
    }
    let dist = out.join("ui-dist");
    run(
        Command::new(npm)
            .args(["run", "--silent", "build"])
            .env("WAFER_UI_OUT", &dist)
            .current_dir(&ui),
        "npm run build",
    );
    dist
}

/// Whether `a` was modified after `b` (or `b` is missing).
fn newer(a: &Path, b: &Path) -> bool {
    let modified = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    match (modified(a), modified(b)) {
        (Some(a), Some(b)) => a > b,
        _ => true,
    }
}

fn run(cmd: &mut Command, what: &str) {
    match cmd.output() {
        Ok(o) if o.status.success() => {}
        Ok(o) => fail(&format!(
            "{what} failed ({}):\n{}\n{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => fail(&format!(
            "could not run {what}: {e}. The dashboard needs Node.js 20+ and npm \
             (apt-get install nodejs npm), or set WAFER_UI_DIST to a built UI"
        )),
    }
}

fn walk(root: &Path, dir: &Path, files: &mut Vec<String>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| fail(&format!("reading {}: {e}", dir.display())));
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(root, &path, files);
        } else if let Ok(rel) = path.strip_prefix(root) {
            files.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

fn extension(path: &str) -> &str {
    path.rsplit_once('.').map_or("", |(_, e)| e)
}

fn mime(path: &str) -> &'static str {
    match extension(path) {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn compressible(path: &str) -> bool {
    matches!(
        extension(path),
        "html" | "js" | "mjs" | "css" | "json" | "map" | "svg" | "txt" | "ico"
    )
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}
