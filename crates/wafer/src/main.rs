use clap::Parser;

fn main() {
    let cli = wafer::cli::Cli::parse();
    let code = match wafer::cli::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("wafer: {e:#}");
            2
        }
    };
    std::process::exit(code);
}
