//! `wafer rules list`.

use anyhow::Result;
use wafer_engine::Engine;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// List every rule and detector check: id, class, severity, paranoia level, source, description.
    List {
        /// Only rules of this class (sqli, xss, rce, lfi, rfi, ssrf, php, java, ssti, nosqli, xxe, scanner, protocol...).
        #[arg(long)]
        class: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

pub fn run(engine: &Engine, cmd: &RulesCommand) -> Result<i32> {
    let RulesCommand::List { class, json } = cmd;
    let rules: Vec<_> = engine
        .rule_infos()
        .into_iter()
        .filter(|r| class.as_deref().is_none_or(|c| r.class.as_str() == c))
        .collect();
    if *json {
        println!("{}", serde_json::to_string_pretty(&rules)?);
        return Ok(0);
    }
    println!(
        "{:>6}  {:<9} {:<9} {:>2}  {:<20} description",
        "id", "class", "severity", "pl", "source"
    );
    for r in &rules {
        println!(
            "{:>6}  {:<9} {:<9} {:>2}  {:<20} {}",
            r.id,
            r.class.as_str(),
            r.severity.as_str(),
            r.paranoia,
            r.source,
            r.description
        );
    }
    println!("{} rules", rules.len());
    Ok(0)
}
