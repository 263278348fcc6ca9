//! `wafer demo`: the demo app and Wafer in front of it, in one command.

use anyhow::{Context, Result};

use crate::config::{Config, Overrides};

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where Wafer listens.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Where the demo app listens (0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub app_listen: String,
    /// No generated traffic: only what you send shows on the dashboard.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub store: super::StoreFlags,
}

impl DemoArgs {
    pub fn overrides(&self) -> Overrides {
        self.store.apply(Overrides {
            listen: Some(self.listen.clone()),
            ..Default::default()
        })
    }
}

pub fn run(cfg: Config, args: &DemoArgs) -> Result<i32> {
    super::run::init_logging(&cfg);
    let engine = super::build_engine(&cfg)?;
    super::accelerate::at_start(&engine, &cfg.data_dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")?;
    rt.block_on(async move {
        let app = tokio::net::TcpListener::bind(&args.app_listen)
            .await
            .with_context(|| format!("demo app: listening on {}", args.app_listen))?;
        let app_addr = app.local_addr()?;
        tokio::spawn(crate::demo::serve(app));
        // The demo fronts its own app, whatever sites a config file lists.
        let cfg = crate::config::Config {
            upstream: Some(format!("http://{app_addr}").parse()?),
            sites: Default::default(),
            tls: None,
            ..cfg
        };
        let quiet = args.quiet;
        super::run::serve(cfg, engine, |r| {
            let addr = r.proxy_addr;
            super::run::announce_with(r, true);
            if !quiet {
                tokio::spawn(crate::demo::traffic::drive(addr));
                eprintln!(
                    "\nWafer demo: sending a little traffic of its own (visitors on 127.0.0.10-13, \
                     an attack a few seconds from 127.0.0.14); --quiet turns it off."
                );
            }
            eprintln!(
                "\nWafer demo: the app at http://{app_addr} is protected by Wafer at http://{addr}\n\n\
                 allowed: curl -i 'http://{addr}/search?q=blue+shoes'\n\
                 blocked: curl -i 'http://{addr}/search?q=%27%20UNION%20SELECT%20password%20FROM%20users--'\n\
                 blocked: curl -i 'http://{addr}/search?q=%3Cscript%3Ealert(1)%3C/script%3E'\n\
                 blocked: curl -i -d 'user=admin%27--&password=x' http://{addr}/login\n\n\
                 Events (JSON lines) follow on stdout. Ctrl-C stops.\n"
            );
        })
        .await
    })?;
    Ok(0)
}
