//! `berth-demo migrate`: output shaped like Django's `manage.py migrate`, for deploy hooks.

use std::io::Write;
use std::time::Duration;

const APPS: &str = "admin, auth, contenttypes, news, sessions, sites";
const MIGRATIONS: [&str; 4] = [
    "contenttypes.0001_initial",
    "auth.0001_initial",
    "sites.0001_initial",
    "news.0001_initial",
];
/// The whole run takes about this long, like a real (tiny) migration.
const DURATION: Duration = Duration::from_millis(200);

/// Runs the pretend migration; returns the exit code.
///
/// `DEMO_MIGRATE_FAIL=1` makes it fail with exit 1. `DEMO_SECRET_ECHO` is printed as-is, so
/// Berth's tests can check that deploy logs redact secret values. `DEMO_MIGRATE_MS` makes the
/// run take that long (tests inspect the job's container while it runs).
pub fn run(
    get: impl Fn(&str) -> Option<String>,
    out: &mut impl Write,
    err: &mut impl Write,
) -> i32 {
    let total = get("DEMO_MIGRATE_MS")
        .and_then(|v| v.trim().parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(DURATION);
    let step = total / (MIGRATIONS.len() as u32 + 1);
    if let Some(secret) = get("DEMO_SECRET_ECHO") {
        let _ = writeln!(out, "using secret: {secret}");
    }
    let _ = writeln!(
        out,
        "Operations to perform:\n  Apply all migrations: {APPS}"
    );
    let _ = writeln!(out, "Running migrations:");
    let _ = out.flush();
    if crate::config::flag(&get, "DEMO_MIGRATE_FAIL") {
        std::thread::sleep(step);
        let _ = writeln!(out, "  Applying {}...", MIGRATIONS[0]);
        let _ = writeln!(
            err,
            "django.db.utils.OperationalError: could not apply {} (DEMO_MIGRATE_FAIL=1)",
            MIGRATIONS[0]
        );
        return 1;
    }
    for migration in MIGRATIONS {
        std::thread::sleep(step);
        let _ = writeln!(out, "  Applying {migration}... OK");
        let _ = out.flush();
    }
    std::thread::sleep(step);
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn migrate(vars: &[(&str, &str)]) -> (i32, String, String) {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let get = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        let code = run(get, &mut out, &mut err);
        let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
        (code, text(out), text(err))
    }

    #[test]
    fn a_migration_applies_every_step_and_succeeds() {
        let (code, out, err) = migrate(&[]);
        assert_eq!(code, 0);
        assert!(out.contains("Applying news.0001_initial... OK"));
        assert!(err.is_empty());
        assert!(!out.contains("using secret"));
    }

    #[test]
    fn a_failing_migration_exits_1_with_an_error_line() {
        let (code, _, err) = migrate(&[("DEMO_MIGRATE_FAIL", "1")]);
        assert_eq!(code, 1);
        assert!(err.contains("OperationalError"));
    }

    #[test]
    fn the_run_takes_as_long_as_asked() {
        let t0 = std::time::Instant::now();
        assert_eq!(migrate(&[("DEMO_MIGRATE_MS", "500")]).0, 0);
        assert!(t0.elapsed() >= Duration::from_millis(500));
    }

    #[test]
    fn the_secret_is_echoed_for_redaction_tests() {
        let (_, out, _) = migrate(&[("DEMO_SECRET_ECHO", "hunter2")]);
        assert!(out.contains("using secret: hunter2\n"));
    }
}
