//! `wafer train`: an anomaly model from normal traffic, with a report, saved
//! to the models directory (and activated, with `--activate`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use wafer_engine::Request;
use wafer_engine::anomaly::{self, FEATURE_NAMES, ForestParams, Model, RouteProfiles};

use crate::anomaly::ModelsDir;
use crate::anomaly::sources::{self, ReadReport};
use crate::config::Config;

#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Normal traffic: JSON-lines corpora (lines labelled attack are left out) or
    /// nginx/Apache combined access logs (4xx/5xx lines are left out).
    pub files: Vec<PathBuf>,
    /// Also train on the allowed requests in the event store (kept by events.record_all).
    #[arg(long)]
    pub from_store: bool,
    /// At most this many requests from the store, newest first.
    #[arg(long, default_value_t = 200_000)]
    pub store_limit: usize,
    /// False-positive rate on the training traffic that sets the threshold.
    #[arg(long, default_value_t = anomaly::DEFAULT_TARGET_FPR)]
    pub target_fpr: f64,
    #[arg(long, default_value_t = 100)]
    pub trees: usize,
    #[arg(long, default_value_t = 256)]
    pub sample_size: usize,
    /// Seed of the forest: the same data and seed give the same model.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Generic features only: learn no routes (for a model meant for any site, like the default).
    #[arg(long)]
    pub no_routes: bool,
    /// Make the new model the active one (a running Wafer picks it up within 2 s).
    #[arg(long)]
    pub activate: bool,
    /// Write the model to this file instead of the models directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The model's creation time (unix ms; default now), for reproducible files.
    #[arg(long)]
    pub created_ms: Option<u64>,
    #[command(flatten)]
    pub store: super::StoreFlags,
}

pub fn run(cfg: &Config, a: &TrainArgs) -> Result<i32> {
    if !(a.target_fpr > 0.0 && a.target_fpr < 1.0) {
        bail!("--target-fpr must be between 0 and 1, not {}", a.target_fpr);
    }
    let started = Instant::now();
    let mut requests: Vec<Request> = Vec::new();
    for f in &a.files {
        let mut r = ReadReport::default();
        sources::read_file(f, &mut requests, &mut r)?;
        println!(
            "read {}: {} lines, {} used, {} left out (attacks or error statuses), {} unreadable",
            f.display(),
            r.lines,
            r.used,
            r.skipped,
            r.unreadable
        );
    }
    if a.from_store {
        let n = from_store(cfg, a.store_limit, &mut requests)?;
        println!(
            "read the event store {}: {n} allowed requests",
            cfg.store_spec()
        );
    }
    if requests.is_empty() {
        bail!("no training traffic: name corpus or log files, or use --from-store");
    }
    let params = ForestParams {
        trees: a.trees,
        sample_size: a.sample_size,
        seed: a.seed.unwrap_or(ForestParams::default().seed),
    };
    let created_ms = a.created_ms.unwrap_or_else(crate::clock::now_ms);
    let fit = Instant::now();
    let model = if a.no_routes {
        let none = RouteProfiles::default();
        let vectors: Vec<_> = requests
            .iter()
            .map(|r| anomaly::extract(r, &none))
            .collect();
        Model::from_vectors(&vectors, none, &params, a.target_fpr, created_ms)
    } else {
        Model::train(&requests, &params, a.target_fpr, created_ms)
    }
    .context("training")?;
    let fit_s = fit.elapsed().as_secs_f64();
    report(&model, &requests);
    println!(
        "trained in {fit_s:.2} s ({:.2} s with reading)",
        started.elapsed().as_secs_f64()
    );
    let where_ = if let Some(out) = &a.out {
        std::fs::write(out, model.to_json())
            .with_context(|| format!("writing {}", out.display()))?;
        out.display().to_string()
    } else {
        let dir = ModelsDir::new(cfg.models_dir());
        let version = dir.save(&model)?;
        if a.activate {
            dir.activate(&version)?;
            println!("activated {version}");
        }
        format!(
            "{} (version {version})",
            dir.path().join(format!("{version}.json")).display()
        )
    };
    println!("saved {where_}");
    Ok(0)
}

fn from_store(cfg: &Config, limit: usize, out: &mut Vec<Request>) -> Result<usize> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = crate::store::open(&cfg.store_spec()).await?;
        let (filter, mut page) =
            crate::store::filter::parse_query([("action", "allow"), ("limit", "1000")], &[])?;
        let mut n = 0;
        while n < limit {
            let batch = store.query(filter.clone(), page.clone()).await?;
            for ev in &batch.events {
                out.push(sources::from_event(ev));
            }
            n += batch.events.len();
            match batch.next_cursor {
                Some(c) => page.cursor = Some(crate::store::filter::Cursor::decode(&c)?),
                None => break,
            }
        }
        Ok::<_, anyhow::Error>(n)
    })
}

/// Samples, feature ranges, score distribution and the threshold chosen.
fn report(m: &Model, requests: &[Request]) {
    println!(
        "\nsamples: {}   trees: {}   sample size: {}   seed: {:#x}",
        m.samples, m.params.trees, m.params.sample_size, m.params.seed
    );
    println!(
        "routes learned: {}   fingerprint: {}",
        m.routes.routes.len(),
        m.fingerprint
    );
    let vectors: Vec<_> = requests.iter().map(|r| m.features(r)).collect();
    println!(
        "\n{:<28} {:>10} {:>10} {:>10} {:>10}",
        "feature", "min", "median", "iqr", "max"
    );
    for (i, name) in FEATURE_NAMES.iter().enumerate() {
        let (lo, hi) = vectors.iter().fold((f32::MAX, f32::MIN), |(lo, hi), v| {
            (lo.min(v[i]), hi.max(v[i]))
        });
        let s = &m.feature_stats[i];
        println!(
            "{name:<28} {lo:>10.3} {:>10.3} {:>10.3} {hi:>10.3}",
            s.median, s.iqr
        );
    }
    let q = &m.score_quantiles;
    println!(
        "\ntraining scores: p50 {:.4}  p90 {:.4}  p99 {:.4}  p99.9 {:.4}  max {:.4}",
        q.p50, q.p90, q.p99, q.p999, q.max
    );
    println!(
        "threshold {:.4}: {:.2} % of the training traffic scores above it (target {:.2} %)",
        m.threshold,
        100.0
            * vectors
                .iter()
                .filter(|v| m.score_features(v).anomalous)
                .count() as f64
            / vectors.len().max(1) as f64,
        100.0 * m.target_fpr
    );
}
