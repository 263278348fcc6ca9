//! False positives of content-based body inspection on real binary files:
//! each file given (paths on stdin, one a line) is sent as a raw
//! `application/octet-stream` body and as a multipart file upload, at the
//! default settings, whole and cut into the streaming path's pieces. Prints
//! the files that were blocked and the totals.
//!
//!     find /usr/share -type f \( -name '*.png' -o -name '*.gz' \) | \
//!       cargo run --release -p wafer-engine --example binary_uploads

// A measuring tool, not the engine: it reads the files it is given.
#![allow(clippy::disallowed_methods)]

use std::io::BufRead;
use wafer_engine::{Action, Engine, EngineConfig, Request};

fn main() {
    let engine = Engine::build(EngineConfig::default()).expect("engine");
    let (mut files, mut bytes, mut blocked) = (0u64, 0u64, 0u64);
    for path in std::io::stdin().lock().lines().map_while(Result::ok) {
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        files += 1;
        bytes += data.len() as u64;
        let raw = Request::new("PUT", "/files/upload")
            .header("Host", "files.example")
            .header("User-Agent", "Mozilla/5.0")
            .header("Accept", "*/*")
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", &data.len().to_string())
            .body(data.clone());
        let mut body = b"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"upload.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
        body.extend_from_slice(&data);
        body.extend_from_slice(b"\r\n--b0undary--\r\n");
        let multipart = Request::new("POST", "/upload")
            .header("Host", "files.example")
            .header("User-Agent", "Mozilla/5.0")
            .header("Accept", "*/*")
            .header("Content-Type", "multipart/form-data; boundary=b0undary")
            .header("Content-Length", &body.len().to_string())
            .body(body);
        for (how, req) in [("raw", raw), ("multipart", multipart)] {
            let v = engine.inspect(&req);
            if v.action == Action::Block {
                blocked += 1;
                let ids: Vec<String> = v
                    .findings
                    .iter()
                    .map(|f| format!("{} {:?}", f.rule_id, f.matched))
                    .collect();
                println!("blocked ({how}): {path}: {}", ids.join("; "));
            }
        }
    }
    println!(
        "{files} files, {:.1} MiB, sent twice each: {blocked} blocked ({:.2} %)",
        bytes as f64 / 1048576.0,
        100.0 * blocked as f64 / (2 * files.max(1)) as f64
    );
}
