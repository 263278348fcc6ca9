//! `wafer check`: inspect one request offline and print the verdict.

use anyhow::{Context, Result, bail};
use std::io::Read;
use wafer_engine::{Action, Engine, Request};

use super::EngineFlags;

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Request method.
    #[arg(long, default_value = "GET")]
    pub method: String,
    /// Request target, e.g. '/search?q=1%27%20or%201=1--'. Without it, a raw HTTP request is read from stdin.
    #[arg(long)]
    pub uri: Option<String>,
    /// A header as 'Name: value' (repeatable).
    #[arg(long = "header", short = 'H')]
    pub headers: Vec<String>,
    /// Request body.
    #[arg(long)]
    pub body: Option<String>,
    #[command(flatten)]
    pub engine: EngineFlags,
}

pub fn run(engine: &Engine, args: &CheckArgs) -> Result<i32> {
    let req = match &args.uri {
        Some(uri) => from_flags(args, uri)?,
        None => {
            let mut raw = Vec::new();
            std::io::stdin()
                .read_to_end(&mut raw)
                .context("reading the request from stdin")?;
            if raw.is_empty() {
                bail!(
                    "no request: give --uri (and --method, --header, --body) or a raw HTTP request on stdin"
                );
            }
            Request::parse_raw(&raw).context("stdin is not an HTTP request")?
        }
    };
    let verdict = engine.inspect(&req);
    println!("{}", serde_json::to_string_pretty(&verdict)?);
    Ok(if verdict.action == Action::Block {
        1
    } else {
        0
    })
}

fn from_flags(args: &CheckArgs, uri: &str) -> Result<Request> {
    let mut req = Request::new(&args.method.to_ascii_uppercase(), uri);
    for h in &args.headers {
        let (name, value) = h
            .split_once(':')
            .with_context(|| format!("--header {h:?}: expected 'Name: value'"))?;
        req.headers
            .push((name.trim().to_owned(), value.trim().to_owned()));
    }
    // Like curl: a Host, a User-Agent and an Accept unless given, so a bare `--uri` looks like a normal client.
    for (name, value) in [
        ("Host", "localhost"),
        ("User-Agent", "wafer-check"),
        ("Accept", "*/*"),
    ] {
        if req.header_value(name).is_none() {
            req.headers.push((name.into(), value.into()));
        }
    }
    if let Some(body) = &args.body {
        if req.header_value("content-type").is_none() {
            req.headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        req.headers
            .push(("Content-Length".into(), body.len().to_string()));
        req.body = body.as_bytes().to_vec();
    }
    Ok(req)
}
