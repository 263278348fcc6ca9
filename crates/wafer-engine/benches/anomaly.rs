//! Anomaly model costs: feature extraction for a browser GET, scoring with
//! 100 trees, and fitting a forest on 100,000 vectors.

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wafer_engine::Request;
use wafer_engine::anomaly::{Features, Forest, ForestParams, Model, N, SplitMix64};

// `browser_get` and `json_2k` are used here; the rest serve benches/inspect.rs.
#[allow(dead_code)]
#[path = "support/scenarios.rs"]
mod scenarios;

/// A small site to train route profiles on: the bench GET's route among others.
fn site(n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            let target = match i % 4 {
                0 => format!(
                    "/products/view?id={}&ref=home&utm_source=newsletter",
                    1000 + i
                ),
                1 => format!("/search?q=item+{}", i % 50),
                2 => format!("/cart/{}/items", 10_000 + i),
                _ => "/".to_string(),
            };
            Request::new("GET", &target)
                .header("Host", "shop.example")
                .header("User-Agent", "Mozilla/5.0")
                .header("Accept", "text/html")
        })
        .collect()
}

fn vectors(n: usize, seed: u64) -> Vec<Features> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|_| {
            let mut v = [0f32; N];
            for (i, x) in v.iter_mut().enumerate() {
                *x = (i % 7) as f32 + rng.unit() as f32 * (1 + i % 3) as f32;
            }
            v
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let model = Model::train(&site(2000), &ForestParams::default(), 0.001, 0).expect("trains");
    let get = scenarios::browser_get();
    c.bench_function("anomaly/features_get", |b| {
        b.iter(|| model.features(black_box(&get)))
    });
    let x = model.features(&get);
    c.bench_function("anomaly/score_100_trees", |b| {
        b.iter(|| model.forest.score(black_box(&x)))
    });
    c.bench_function("anomaly/score_request_get", |b| {
        b.iter(|| model.score(black_box(&get)))
    });
    let json = scenarios::json_post();
    c.bench_function("anomaly/features_json_2k", |b| {
        b.iter(|| model.features(black_box(&json)))
    });
    // As the proxy does it: the engine has parsed the body already.
    let parsed = wafer_engine::body::parse(
        Some("application/json"),
        &json.body,
        false,
        &wafer_engine::body::BodyLimits::default(),
    );
    let values: Vec<_> = wafer_engine::view::body_values(parsed.args).collect();
    c.bench_function("anomaly/features_json_2k_reusing_the_parse", |b| {
        b.iter(|| {
            wafer_engine::anomaly::features::extract_with(
                black_box(&json),
                Some(&values),
                &model.routes,
            )
        })
    });

    let data = vectors(100_000, 1);
    let mut g = c.benchmark_group("anomaly");
    g.sample_size(10);
    g.bench_function("train_100k", |b| {
        b.iter(|| Forest::fit(black_box(&data), &ForestParams::default()).expect("fits"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
