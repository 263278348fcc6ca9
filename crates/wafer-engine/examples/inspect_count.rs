//! Inspects each benchmark scenario a fixed number of times, for instruction
//! counts under `valgrind --tool=callgrind` (repeatable whatever else the
//! machine is doing, unlike wall time): `cargo build --release -p wafer-engine
//! --example inspect_count && valgrind --tool=callgrind target/release/examples/inspect_count get 1000`.
//! `json:FILE` inspects any body as JSON; `WARM=0` leaves out the warm-up, to
//! count what a cold engine pays. Built with `--features vectorscan`, the rule
//! groups are compiled for Vectorscan first (not counted: outside `inspect`),
//! or loaded from `IMAGE=file`, much faster under valgrind: make it there once
//! with `SAVE_IMAGE=file valgrind --tool=none .../inspect_count get 1`.
// A tool run by hand: it reads its body file and settings here, not the engine.
#![allow(clippy::disallowed_methods)]

#[path = "../benches/support/scenarios.rs"]
mod scenarios;

use std::hint::black_box;
use wafer_engine::Engine;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "get".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let engine = Engine::builtin();
    // Vectorscan databases, when built with the `vectorscan` feature (a no-op
    // without): from `IMAGE` (a server's `rules.vectorscan`) when set, since
    // compiling them under valgrind takes minutes.
    match std::env::var("IMAGE") {
        Ok(path) => {
            let bytes = std::fs::read(&path).expect("a readable image");
            engine
                .rule_set()
                .accelerate_from_image(&bytes)
                .expect("an image of these rules");
        }
        Err(_) => {
            engine.rule_set().accelerate(2);
            // An image for `IMAGE` later: under valgrind, whose CPU is not
            // the machine's (Vectorscan refuses the server's image there).
            if let (Ok(path), Some(Ok(bytes))) = (
                std::env::var("SAVE_IMAGE"),
                engine.rule_set().acceleration_image(),
            ) {
                std::fs::write(path, bytes).expect("a writable image path");
            }
        }
    }
    let req = match which.as_str() {
        "get" => scenarios::browser_get(),
        "json" => scenarios::json_post(),
        "multipart" => scenarios::multipart_form(20 * 1024),
        "json100k" => scenarios::json_body(100 * 1024),
        // Any JSON body, for looking at one kind of value: `json:FILE`.
        other if other.starts_with("json:") => {
            json_request(std::fs::read(&other[5..]).expect("a readable file"))
        }
        other => panic!("unknown scenario {other}: get, json, multipart, json100k, json:FILE"),
    };
    // Warm the lazy DFAs first, as a running proxy has.
    let warm: usize = std::env::var("WARM")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    for _ in 0..warm {
        black_box(engine.inspect(&req));
    }
    for _ in 0..n {
        black_box(engine.inspect(black_box(&req)));
    }
}

fn json_request(body: Vec<u8>) -> wafer_engine::Request {
    wafer_engine::Request::new("POST", "/api/x")
        .header("Host", "shop.example")
        .header("Content-Type", "application/json")
        .header("Content-Length", &body.len().to_string())
        .body(body)
}
