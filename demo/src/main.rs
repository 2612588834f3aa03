//! `berth-demo`: serves the demo site, or runs one of its subcommands.

use berth_demo::app::State;
use berth_demo::commands::{self, check, migrate};
use berth_demo::config::Config;
use berth_demo::log;
use berth_demo::server::Server;
use berth_demo::signals;
use std::net::{Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// The exit code of every deliberate crash (`DEMO_CRASH`, `DEMO_CRASH_AFTER_SECS`, `/_demo/crash`).
const CRASH_CODE: u8 = 3;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let code = match args.first().map(String::as_str) {
        None | Some("serve") => serve(),
        Some("migrate") => {
            let get = |name: &str| std::env::var(name).ok();
            migrate::run(get, &mut std::io::stdout(), &mut std::io::stderr())
        }
        Some("check") => run_check(args.get(1).map(String::as_str)),
        Some("version" | "--version" | "-V") => {
            println!("{}", Config::from_env().unwrap_or_default().version);
            0
        }
        Some("help" | "--help" | "-h") => {
            println!("{}", commands::USAGE);
            0
        }
        Some(other) => {
            eprintln!("berth-demo: unknown command {other:?}\n{}", commands::USAGE);
            2
        }
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run_check(path: Option<&str>) -> i32 {
    let port = match Config::from_env() {
        Ok(config) => config.port,
        Err(e) => return fail(&e.to_string(), 2),
    };
    let path = path.unwrap_or(check::DEFAULT_PATH);
    match path.starts_with('/') {
        true => check::run(port, path),
        false => check::run(port, &format!("/{path}")),
    }
}

fn serve() -> i32 {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => return fail(&e.to_string(), 2),
    };
    if config.crash {
        return fail("DEMO_CRASH=1: crashing at start", CRASH_CODE.into());
    }
    if !signals::install() {
        log::error(format_args!(
            "berth-demo: could not install signal handlers"
        ));
    }
    if let Some(after) = config.crash_after {
        crash_after(after);
    }
    if !boot_delay(config.startup_delay) {
        return 0;
    }
    log::print_var(&config.print_var);
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port));
    let (version, port) = (config.version.clone(), config.port);
    let server = match Server::bind(addr, Arc::new(State::new(config))) {
        Ok(server) => server,
        Err(e) => return fail(&format!("cannot listen on {addr}: {e}"), 1),
    };
    log::info(format_args!(
        "berth-demo {version} listening on 0.0.0.0:{port}"
    ));
    let handle = server.shutdown_handle();
    thread::spawn(move || {
        signals::wait();
        log::info(format_args!("berth-demo: shutdown signal, draining"));
        handle.shutdown();
    });
    match server.run() {
        0 => log::info(format_args!("berth-demo: stopped")),
        open => log::info(format_args!("berth-demo: stopped, {open} connections cut")),
    }
    0
}

fn fail(message: &str, code: i32) -> i32 {
    log::error(format_args!("berth-demo: {message}"));
    code
}

fn crash_after(after: Duration) {
    thread::spawn(move || {
        thread::sleep(after);
        let secs = after.as_secs();
        fail(&format!("DEMO_CRASH_AFTER_SECS={secs}: crashing"), 0);
        std::process::exit(CRASH_CODE.into());
    });
}

/// `DEMO_STARTUP_DELAY_MS`: a slow boot that a stop signal still cuts short (returns false).
fn boot_delay(delay: Duration) -> bool {
    if delay.is_zero() {
        return true;
    }
    log::info(format_args!(
        "berth-demo: booting ({} ms)",
        delay.as_millis()
    ));
    let until = Instant::now() + delay;
    while Instant::now() < until {
        if signals::requested() {
            return false;
        }
        thread::sleep(
            until
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(20)),
        );
    }
    true
}
