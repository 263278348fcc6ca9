//! Inspects each benchmark scenario a fixed number of times, for instruction
//! counts under `valgrind --tool=callgrind` (repeatable whatever else the
//! machine is doing, unlike wall time): `cargo build --release -p wafer-engine
//! --example inspect_count && valgrind --tool=callgrind target/release/examples/inspect_count get 1000`.

#[path = "../benches/support/scenarios.rs"]
mod scenarios;

use std::hint::black_box;
use wafer_engine::Engine;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "get".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let engine = Engine::builtin();
    let req = match which.as_str() {
        "get" => scenarios::browser_get(),
        "json" => scenarios::json_post(),
        "multipart" => scenarios::multipart_form(20 * 1024),
        "json100k" => scenarios::json_body(100 * 1024),
        other => panic!("unknown scenario {other}: get, json, multipart, json100k"),
    };
    // Warm the lazy DFAs first, as a running proxy has.
    for _ in 0..10 {
        black_box(engine.inspect(&req));
    }
    for _ in 0..n {
        black_box(engine.inspect(black_box(&req)));
    }
}
