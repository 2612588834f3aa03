//! `berth-load`: measures a zero-downtime deploy by keeping load on a URL through it.

use berth_demo::load::{self, args};
use std::process::ExitCode;

fn main() -> ExitCode {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let cfg = match args::parse(&argv) {
        Ok(args::Command::Run(cfg)) => cfg,
        Ok(args::Command::Help) => {
            println!("{}", args::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("berth-load: {message}\n{}", args::USAGE);
            return ExitCode::from(2);
        }
    };
    if let Some(path) = cfg.until_file.as_ref().filter(|p| p.exists()) {
        eprintln!(
            "berth-load: warning: {} already exists, stopping at once",
            path.display()
        );
    }
    let report = load::run(&cfg);
    match cfg.json {
        true => println!("{}", report.to_json()),
        false => print!("{}", report.to_human()),
    }
    ExitCode::SUCCESS
}
