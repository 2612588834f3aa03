//! `/_demo/*`: runtime toggles for the watchdog and health-check tests.

use super::{Request, State};
use crate::escape::json_str;
use crate::http::response::Response;
use std::time::Duration;

/// The longest latency `/_demo/slow` accepts.
pub const MAX_SLOW_MS: u64 = 60_000;
/// Exit code of a requested crash, as with `DEMO_CRASH`.
pub const CRASH_EXIT_CODE: i32 = 3;
/// Long enough for the 202 to reach the client before the process goes.
const CRASH_DELAY: Duration = Duration::from_millis(100);

/// `POST /_demo/health?state=unhealthy|healthy`.
pub fn health(state: &State, req: &Request<'_>) -> Response {
    let healthy = match req.param("state").as_deref() {
        Some("healthy") => true,
        Some("unhealthy") => false,
        _ => return Response::error(400, "state must be healthy or unhealthy"),
    };
    state.set_healthy(healthy);
    Response::json(200, format!("{{\"healthy\":{healthy}}}"))
}

/// `POST /_demo/slow?ms=N[&site=HOST]`: extra latency on every later request, or only on
/// those for one site (0 turns it off). One slow site keeps `/metrics` fast, so a scraper
/// sees its latency without timing out.
pub fn slow(state: &State, req: &Request<'_>) -> Response {
    let ms = req.param("ms").and_then(|v| v.trim().parse::<u64>().ok());
    let Some(ms) = ms.filter(|ms| *ms <= MAX_SLOW_MS) else {
        return Response::error(400, "ms must be an integer from 0 to 60000");
    };
    let delay = Duration::from_millis(ms);
    match req.param("site").map(|s| s.trim().to_ascii_lowercase()) {
        Some(site) if !site.is_empty() => {
            state.set_slow_site(&site, delay);
            let site = json_str(&site);
            Response::json(200, format!("{{\"slow_ms\":{ms},\"site\":{site}}}"))
        }
        _ => {
            state.set_slow(delay);
            Response::json(200, format!("{{\"slow_ms\":{ms}}}"))
        }
    }
}

/// `POST /_demo/crash`: answers 202, then the process exits with code 3.
pub fn crash(state: &State, _req: &Request<'_>) -> Response {
    let exit = state.exit_hook();
    std::thread::spawn(move || {
        std::thread::sleep(CRASH_DELAY);
        crate::log::error(format_args!(
            "berth-demo: crash requested via /_demo/crash, exiting with code {CRASH_EXIT_CODE}"
        ));
        exit(CRASH_EXIT_CODE);
    });
    let body = format!("{{\"status\":\"crashing\",\"exit_code\":{CRASH_EXIT_CODE}}}");
    Response::json(202, body).closing()
}
