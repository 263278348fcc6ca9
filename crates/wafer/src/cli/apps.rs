//! `wafer apps`: the application profiles, and with a name, what one relaxes
//! (each entry, and the rule ranges it becomes against this engine's rules).

use anyhow::Result;
use wafer_engine::{Engine, apps};

#[derive(Debug, clap::Args)]
pub struct AppsArgs {
    /// Show this profile in detail (its entries and the exclusions they compile to).
    pub name: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

pub fn run(engine: &Engine, a: &AppsArgs) -> Result<i32> {
    let all = apps::builtin().map_err(|e| anyhow::anyhow!(e.join("\n")))?;
    let enabled = &engine.policy().apps;
    let Some(name) = &a.name else {
        if a.json {
            let v = crate::admin::apps::document(enabled, &[]);
            println!("{}", serde_json::to_string_pretty(&v["apps"])?);
            return Ok(0);
        }
        println!("{:<11} {:<3} {:<12} about", "name", "on", "title");
        for p in all {
            let on = if enabled.contains(&p.name) { "yes" } else { "" };
            println!("{:<11} {:<3} {:<12} {}", p.name, on, p.title, p.about);
        }
        println!(
            "{} profiles; enable with [inspection] apps = [...] or WAFER_APPS; `wafer apps NAME` shows one",
            all.len()
        );
        return Ok(0);
    };
    let p = apps::find(name).map_err(|e| anyhow::anyhow!(e))?;
    let table = engine.rule_table();
    if a.json {
        let ex: Vec<_> = p
            .compile(&table)
            .iter()
            .map(|e| {
                serde_json::json!({
                    "path": e.path.as_str(),
                    "rules": e.rules.iter().map(|r| String::from(*r)).collect::<Vec<_>>(),
                    "args": e.args.iter().map(|a| a.as_str()).collect::<Vec<_>>(),
                    "when_cookies": e.when_cookies,
                    "when_headers": e.when_headers,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&ex)?);
        return Ok(0);
    }
    println!("{} ({}): {}", p.title, p.name, p.about);
    let sessions: Vec<String> = p.sessions.iter().map(|s| s.join(" + ")).collect();
    println!("logged in: cookies {}", sessions.join(", or "));
    println!(
        "fingerprint: paths {}; cookies {}",
        p.fingerprint.paths.join(" "),
        p.fingerprint.cookies.join(" ")
    );
    for (kind, r) in p.entries() {
        println!("\n[{}] {}", kind.as_str(), r.about);
        println!("  paths:   {}", r.paths.join(" "));
        println!("  args:    {}", r.args.join(" "));
        println!("  classes: {}", r.classes.join(" "));
        if !r.headers.is_empty() {
            println!("  headers: {}", r.headers.join(" "));
        }
        if kind == apps::Kind::SelfUrl {
            println!("  for everyone (a same-site redirect target, sent before login too)");
        }
    }
    println!(
        "\n{} exclusions against {} rules",
        p.compile(&table).len(),
        table.len()
    );
    Ok(0)
}
