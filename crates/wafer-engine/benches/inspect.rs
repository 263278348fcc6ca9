use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wafer_engine::Engine;

#[path = "support/scenarios.rs"]
mod scenarios;
use scenarios::*;

fn bench(c: &mut Criterion) {
    let engine = Engine::builtin();
    // Vectorscan databases, with `--features vectorscan` (a no-op without).
    engine.rule_set().accelerate(2);
    let get = browser_get();
    let post = json_post();
    c.bench_function("inspect/browser_get", |b| {
        b.iter(|| engine.inspect(black_box(&get)))
    });
    c.bench_function("inspect/json_post_2k", |b| {
        b.iter(|| engine.inspect(black_box(&post)))
    });
    let form = multipart_form(20 * 1024);
    c.bench_function("inspect/multipart_20k", |b| {
        b.iter(|| engine.inspect(black_box(&form)))
    });
    let big = json_body(100 * 1024);
    c.bench_function("inspect/json_100k", |b| {
        b.iter(|| engine.inspect(black_box(&big)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
