//! The command line: `wafer run | check | eval | rules | demo | train | model`.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use wafer_engine::Engine;

use crate::config::{self, Config, FileConfig, Overrides, ProcessEnv};

pub mod accelerate;
pub mod apps;
pub mod check;
pub mod demo;
pub mod eval;
pub mod model;
#[cfg(unix)]
pub mod notify;
pub mod reload;
pub mod rules;
mod rules_test;
pub mod run;
pub mod train;

/// Wafer: a web application firewall. A reverse proxy that inspects every
/// request, blocks attacks with 403 and forwards the rest to your application.
#[derive(Debug, Parser)]
#[command(name = "wafer", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file (TOML; see wafer.example.toml). Also WAFER_CONFIG.
    #[arg(long, short = 'c', global = true, env = "WAFER_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy in front of an upstream application.
    Run(run::RunArgs),
    /// Ask the running Wafer (same configuration, same data directory) to
    /// reload its configuration, as SIGHUP does.
    Reload(ReloadArgs),
    /// Inspect one request (given as flags, or raw HTTP on stdin) and print the verdict as JSON.
    /// Exit code 0: allowed, 1: blocked, 2: error. No network.
    Check(check::CheckArgs),
    /// Run the engine over labelled corpora (JSON Lines) and report TPR/FPR per source and class.
    Eval(eval::EvalCommand),
    /// Work with rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// List the application profiles (WordPress, JupyterLab, ...); with a name, what one relaxes.
    Apps(apps::AppsArgs),
    /// Start a small demo application with Wafer in front of it, to see blocking work.
    Demo(demo::DemoArgs),
    /// Train an anomaly model on normal traffic (corpora, access logs or the event store).
    Train(train::TrainArgs),
    /// Work with trained anomaly models.
    #[command(subcommand)]
    Model(model::ModelCommand),
    /// Internal: compiles rule groups (JSON on stdin) for Vectorscan and
    /// writes the image to stdout. The server runs it as a child process.
    #[command(hide = true)]
    CompileRules(CompileRulesArgs),
}

#[derive(Debug, clap::Args)]
pub struct ReloadArgs {
    #[command(flatten)]
    pub store: StoreFlags,
}

/// Settings shared by every command that builds an engine.
#[derive(Debug, Default, clap::Args)]
pub struct EngineFlags {
    /// Paranoia level 1-4 (default 1). Also WAFER_PARANOIA.
    #[arg(long)]
    pub paranoia: Option<i64>,
    /// Anomaly score at which a request is blocked (default 5). Also WAFER_THRESHOLD.
    #[arg(long)]
    pub threshold: Option<i64>,
    /// block, detect (log only) or off. Also WAFER_MODE.
    #[arg(long)]
    pub mode: Option<String>,
}

/// Where events are kept and where the admin listener is.
#[derive(Debug, Default, clap::Args)]
pub struct StoreFlags {
    /// Directory for the SQLite store, the admin token and the saved policy (default ./wafer-data). Also WAFER_DATA_DIR.
    #[arg(long)]
    pub data_dir: Option<String>,
    /// Event store: sqlite:PATH or postgres://USER@HOST/DB (default: SQLite in the data dir). Also WAFER_STORE.
    #[arg(long)]
    pub store: Option<String>,
    /// Admin API, live streams and metrics: HOST:PORT or off (default 127.0.0.1:9443). Also WAFER_ADMIN_LISTEN.
    #[arg(long)]
    pub admin_listen: Option<String>,
    /// Directory of trained anomaly models (default: models in the data dir). Also WAFER_MODELS_DIR.
    #[arg(long)]
    pub models_dir: Option<String>,
}

impl StoreFlags {
    pub fn apply(&self, o: Overrides) -> Overrides {
        Overrides {
            data_dir: self.data_dir.clone(),
            store: self.store.clone(),
            admin_listen: self.admin_listen.clone(),
            models_dir: self.models_dir.clone(),
            ..o
        }
    }
}

impl EngineFlags {
    pub fn overrides(&self) -> Overrides {
        Overrides {
            paranoia: self.paranoia,
            threshold: self.threshold,
            mode: self.mode.clone(),
            ..Default::default()
        }
    }
}

pub fn main(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Run(a) => {
            let (path, flags) = (cli.config.clone(), a.overrides());
            let cfg = load_config(path.as_ref(), &flags)?;
            let reread: run::Reread = Box::new(move || load_config(path.as_ref(), &flags));
            run::run(cfg, a.workers, Some(reread))
        }
        Command::Reload(a) => reload::signal(&load_config(
            cli.config.as_ref(),
            &a.store.apply(Overrides::default()),
        )?),
        Command::Check(a) => check::run(
            &build_engine(&load_config(cli.config.as_ref(), &a.engine.overrides())?)?,
            a,
        ),
        Command::Eval(a) => {
            let cfg = load_config(cli.config.as_ref(), &a.engine.overrides())?;
            eval::run(&build_engine(&cfg)?, &a.eval).map(|()| 0)
        }
        Command::Rules(c) => rules::run(
            &build_engine(&load_config(cli.config.as_ref(), &Overrides::default())?)?,
            c,
        ),
        Command::Apps(a) => apps::run(
            &build_engine(&load_config(cli.config.as_ref(), &Overrides::default())?)?,
            a,
        ),
        Command::Demo(a) => demo::run(load_config(cli.config.as_ref(), &a.overrides())?, a),
        Command::Train(a) => train::run(
            &load_config(cli.config.as_ref(), &a.store.apply(Overrides::default()))?,
            a,
        ),
        Command::Model(c) => model::run(
            &load_config(
                cli.config.as_ref(),
                &c.flags().store.apply(Overrides::default()),
            )?,
            c,
        ),
        Command::CompileRules(a) => accelerate::compile_rules_command(a.threads),
    }
}

#[derive(Debug, clap::Args)]
pub struct CompileRulesArgs {
    #[arg(long, default_value_t = 1)]
    threads: usize,
}

/// Reads the file (if any), then the environment and flags; every problem is reported.
pub fn load_config(path: Option<&PathBuf>, flags: &Overrides) -> Result<Config> {
    let file = match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading config file {}", p.display()))?;
            FileConfig::parse(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", p.display()))?
        }
        None => FileConfig::default(),
    };
    Ok(config::resolve(file, &ProcessEnv, flags)?)
}

/// Compiles the engine: built-in rules plus the configured rule files.
pub fn build_engine(cfg: &Config) -> Result<Engine> {
    let mut engine_cfg = cfg.engine.clone();
    for path in &cfg.rule_files {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading rule file {}", path.display()))?;
        let name = path.display().to_string();
        let specs =
            wafer_engine::rules::parse_file(&name, &text).map_err(|e| anyhow::anyhow!("{e}"))?;
        engine_cfg
            .extra_rules
            .extend(specs.into_iter().map(|s| (name.clone(), s)));
    }
    match Engine::build(engine_cfg) {
        Ok(e) => Ok(e),
        Err(errors) => {
            let lines: Vec<String> = errors.iter().map(|e| format!("  - {e}")).collect();
            bail!(
                "rules do not compile ({} problems):\n{}",
                errors.len(),
                lines.join("\n")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    /// Clap checks a command's definition only when that command is parsed;
    /// this checks all of them (a positional named `version` once clashed with `--version`).
    #[test]
    fn every_command_definition_is_valid() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
