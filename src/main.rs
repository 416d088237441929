use clap::Parser;

use archlint::cli::{Cli, Command};

fn main() {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    let code = match cli.command {
        Command::Check(args) => match archlint::check(&args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("archlint: error: {e}");
                2
            }
        },
        Command::Rules { format } => {
            match format {
                archlint::cli::RulesFormat::Text => print!("{}", archlint::list_rules()),
                archlint::cli::RulesFormat::Json => print!("{}", archlint::rules_json()),
            }
            0
        }
        Command::Mcp { root } => {
            match archlint::mcp::serve(root.as_deref().unwrap_or(std::path::Path::new("."))) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("archlint: error: {e}");
                    2
                }
            }
        }
        Command::Explain { rule } => match archlint::explain(&rule) {
            Ok(t) => {
                print!("{t}");
                0
            }
            Err(e) => {
                eprintln!("archlint: error: {e}");
                2
            }
        },
    };
    std::process::exit(code);
}
