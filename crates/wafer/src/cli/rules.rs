//! `wafer rules list` and `wafer rules test` (`rules_test`).

use anyhow::Result;
use std::io::Write;
use wafer_engine::Engine;

#[derive(Debug, clap::Subcommand)]
pub enum RulesCommand {
    /// List every rule and detector check: id, class, severity, paranoia level, source, the
    /// OWASP CRS rules that detect the same construct, description (`--json`: with CRS tags).
    List {
        /// Only rules of this class (sqli, xss, rce, lfi, rfi, ssrf, php, java, ssti, nosqli, xxe, scanner, protocol...).
        #[arg(long)]
        class: Option<String>,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Run go-ftw regression tests (YAML, as the OWASP CRS project writes them)
    /// against the engine, offline; prints pass/fail per test. An expected id
    /// counts as fired when a Wafer rule mapped to it fires. Exit 1 on a failure.
    Test(super::rules_test::TestArgs),
}

pub fn run(engine: &Engine, cmd: &RulesCommand) -> Result<i32> {
    let (class, json) = match cmd {
        RulesCommand::List { class, json } => (class, json),
        RulesCommand::Test(args) => return super::rules_test::run(engine, args),
    };
    let rules: Vec<_> = engine
        .rule_infos()
        .into_iter()
        .filter(|r| class.as_deref().is_none_or(|c| r.class.as_str() == c))
        .collect();
    match print(&rules, *json) {
        // `wafer rules list | head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        other => other.map(|()| 0).map_err(Into::into),
    }
}

fn print(rules: &[wafer_engine::RuleInfo], json: bool) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer_pretty(&mut out, rules)?;
        return writeln!(out);
    }
    writeln!(
        out,
        "{:>6}  {:<9} {:<9} {:>2}  {:<4}  {:<20} {:<27} description",
        "id", "class", "severity", "pl", "weak", "source", "crs"
    )?;
    for r in rules {
        let crs: Vec<String> = r.crs.iter().map(u32::to_string).collect();
        writeln!(
            out,
            "{:>6}  {:<9} {:<9} {:>2}  {:<4}  {:<20} {:<27} {}",
            r.id,
            r.class.as_str(),
            r.severity.as_str(),
            r.paranoia,
            if r.weak { "yes" } else { "" },
            r.source,
            if crs.is_empty() {
                "-".to_owned()
            } else {
                crs.join(",")
            },
            r.description
        )?;
    }
    writeln!(out, "{} rules", rules.len())
}
