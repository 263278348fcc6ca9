//! `wafer model list | show | activate | rollback`: the models directory.

use anyhow::Result;

use crate::anomaly::{DEFAULT_VERSION, ModelsDir, models::ModelInfo};
use crate::config::Config;

#[derive(Debug, clap::Subcommand)]
pub enum ModelCommand {
    /// Every trained model, newest first; * marks the active one.
    List(ModelFlags),
    /// One model's parameters, threshold, data fingerprint and score distribution (JSON).
    Show {
        /// A version from `wafer model list`, or `default` for the built-in model.
        #[arg(value_name = "VERSION")]
        name: String,
        #[command(flatten)]
        flags: ModelFlags,
    },
    /// Make a model the active one; a running Wafer switches within 2 s.
    Activate {
        #[arg(value_name = "VERSION")]
        name: String,
        #[command(flatten)]
        flags: ModelFlags,
    },
    /// Go back to the model that was active before the current one.
    Rollback(ModelFlags),
}

#[derive(Debug, clap::Args)]
pub struct ModelFlags {
    #[command(flatten)]
    pub store: super::StoreFlags,
}

impl ModelCommand {
    pub fn flags(&self) -> &ModelFlags {
        match self {
            ModelCommand::List(f) | ModelCommand::Rollback(f) => f,
            ModelCommand::Show { flags, .. } | ModelCommand::Activate { flags, .. } => flags,
        }
    }
}

fn date(ms: u64) -> String {
    crate::anomaly::models::utc_stamp(ms)
}

pub fn run(cfg: &Config, cmd: &ModelCommand) -> Result<i32> {
    let dir = ModelsDir::new(cfg.models_dir());
    match cmd {
        ModelCommand::List(_) => {
            let active = dir.active()?;
            println!(
                "{:<1} {:<28} {:>15} {:>8} {:>9} {:>8}",
                "", "version", "created (UTC)", "samples", "threshold", "fpr"
            );
            if active.is_none() {
                println!("* {DEFAULT_VERSION:<28} (built in; active while no trained model is)");
            }
            for entry in dir.list()? {
                match entry {
                    Ok(m) => println!(
                        "{:<1} {:<28} {:>15} {:>8} {:>9.4} {:>7.2}%",
                        if m.active { "*" } else { "" },
                        m.version,
                        date(m.created_ms),
                        m.samples,
                        m.threshold,
                        100.0 * m.target_fpr
                    ),
                    Err(e) => println!("! {e}"),
                }
            }
            Ok(0)
        }
        ModelCommand::Show { name: version, .. } => {
            let info = if version == DEFAULT_VERSION {
                let m = crate::anomaly::builtin()?;
                ModelInfo::of(DEFAULT_VERSION, &m.model)
            } else {
                ModelInfo {
                    active: dir.active()?.as_deref() == Some(version.as_str()),
                    ..ModelInfo::of(version, &dir.load(version)?)
                }
            };
            println!("{}", serde_json::to_string_pretty(&info)?);
            Ok(0)
        }
        ModelCommand::Activate { name: version, .. } => {
            dir.activate(version)?;
            println!("activated {version}");
            Ok(0)
        }
        ModelCommand::Rollback(_) => {
            let (version, _) = dir.rollback()?;
            println!("rolled back to {version}");
            Ok(0)
        }
    }
}
