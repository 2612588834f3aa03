//! `berth-load`'s command line.

use berth_demo::load::args::{parse, parse_duration, parse_url, Command, LoadConfig};
use std::path::PathBuf;
use std::time::Duration;

fn run(args: &[&str]) -> Result<LoadConfig, String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    match parse(&args)? {
        Command::Run(cfg) => Ok(cfg),
        Command::Help => Err("help".into()),
    }
}

#[test]
fn every_option_is_read() {
    let cfg = run(&[
        "--url",
        "http://127.0.0.1:8080/api/health",
        "--host",
        "site-a.local",
        "--connections",
        "3",
        "--duration",
        "2s",
        "--until-file",
        "/tmp/done",
        "--rate",
        "50",
        "--json",
        "--timeout=1500ms",
    ])
    .unwrap();
    assert_eq!(cfg.addr, "127.0.0.1:8080".parse().unwrap());
    assert_eq!(
        (cfg.host.as_str(), cfg.path.as_str()),
        ("site-a.local", "/api/health")
    );
    assert_eq!(cfg.connections, 3);
    assert_eq!(cfg.duration, Some(Duration::from_secs(2)));
    assert_eq!(cfg.until_file, Some(PathBuf::from("/tmp/done")));
    assert_eq!((cfg.rate, cfg.json), (Some(50.0), true));
    assert_eq!(cfg.timeout, Duration::from_millis(1500));
}

#[test]
fn defaults_are_eight_connections_for_ten_seconds_with_the_url_host() {
    let cfg = run(&["--url", "http://127.0.0.1:81"]).unwrap();
    assert_eq!(
        (cfg.connections, cfg.duration),
        (8, Some(Duration::from_secs(10)))
    );
    assert_eq!(
        (cfg.host.as_str(), cfg.path.as_str()),
        ("127.0.0.1:81", "/")
    );
}

#[test]
fn until_file_alone_has_no_time_limit() {
    let cfg = run(&["--url", "http://127.0.0.1/", "--until-file", "x"]).unwrap();
    assert_eq!(cfg.duration, None);
}

#[test]
fn wrong_arguments_are_errors() {
    for args in [
        &[][..],
        &["--url"],
        &["--url", "https://127.0.0.1/"],
        &["--url", "http://127.0.0.1/", "--connections", "0"],
        &["--url", "http://127.0.0.1/", "--duration", "soon"],
        &["--url", "http://127.0.0.1/", "--rate", "-3"],
        &["--url", "http://127.0.0.1/", "--bogus"],
    ] {
        assert!(run(args).is_err(), "{args:?}");
    }
    assert_eq!(run(&["--help"]), Err("help".into()));
}

#[test]
fn durations_take_units() {
    assert_eq!(parse_duration("20s"), Ok(Duration::from_secs(20)));
    assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
    assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
    assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
    assert!(parse_duration("0s").is_err());
}

#[test]
fn urls_default_to_port_80_and_root() {
    let (addr, authority, path) = parse_url("http://127.0.0.1?x=1").unwrap();
    assert_eq!(addr, "127.0.0.1:80".parse().unwrap());
    assert_eq!((authority.as_str(), path.as_str()), ("127.0.0.1", "/?x=1"));
    let (addr, _, _) = parse_url("http://[::1]:9/a").unwrap();
    assert_eq!(addr, "[::1]:9".parse().unwrap());
    assert_eq!(parse_url("http://localhost:9/").unwrap().0.port(), 9);
}
