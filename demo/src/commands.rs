//! The subcommands besides serving: `migrate`, `check` and `version`.

pub mod check;
pub mod migrate;

pub const USAGE: &str = "\
usage: berth-demo [serve]          serve the demo site on 0.0.0.0:$PORT (default 8000)
       berth-demo migrate          pretend to run database migrations
       berth-demo check [PATH]     GET 127.0.0.1:$PORT PATH (default /api/health): exit 0 on 200
       berth-demo version          print the version (DEMO_VERSION)";
