//! The server-function access sweep: every server function registered with server_fn, called
//! anonymously, by a signed-in outsider, by each project role and by an instance admin, must
//! be refused below its row of serverfn_access.txt and not refused from it. A registered
//! function without a row, or a row naming no registered function, fails. The REST
//! counterpart is access.rs.
use crate::support::*;
use crate::webhooks::{deliver, SECRET};
use berth_core::session_store::{DbSessionStore, SEEN_AT, SIGNED_IN_AT, USER_ID};
use berth_core::{tokens, Ctx};
use berth_model::{InstanceRole, Role, Scope};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};
use tower_sessions::session::{Id, Record};
use tower_sessions::SessionStore;

#[path = "serverfn_access/world.rs"]
mod world;
use world::*;

const TABLE: &str = include_str!("serverfn_access.txt");

/// Callers from the least to the most powerful, and who plays them (`None`: nobody signed in).
const CALLERS: [(&str, Option<&str>); 7] = [
    ("anonymous", None),
    ("user", Some("otto")),
    ("viewer", Some("vic")),
    ("deployer", Some("dee")),
    ("maintainer", Some("max")),
    ("admin", Some("ada")),
    ("instance", Some("root")),
];

/// What a row's form may name besides literal values.
const PLACEHOLDERS: [&str; 6] = [
    "{deploy}",
    "{prod_deploy}",
    "{delivery}",
    "{token}",
    "{own_token}",
    "{missing}",
];

#[derive(Debug)]
struct Row {
    /// `module::function`, as in app/src/serverfns/<module>.rs.
    function: String,
    /// Index of the least caller allowed in [`CALLERS`].
    least: usize,
    write: bool,
    form: Vec<(String, String)>,
    line: usize,
}

impl Row {
    fn module(&self) -> &str {
        self.function.split("::").next().unwrap_or("")
    }
    fn name(&self) -> &str {
        self.function.rsplit("::").next().unwrap_or("")
    }
    fn at(&self) -> String {
        format!("serverfn_access.txt:{} {}", self.line, self.function)
    }
    fn names_missing(&self) -> bool {
        self.form.iter().any(|(_, v)| v == "{missing}")
    }
    /// A function that removes what it names: after one allowed caller succeeded, the next
    /// finds nothing (404). Any other row's allowed callers must all get through.
    fn deletes(&self) -> bool {
        let n = self.name();
        ["delete_", "remove_", "revoke_"]
            .iter()
            .any(|p| n.starts_with(p))
    }
}

fn rows() -> Vec<Row> {
    TABLE
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|(i, l)| {
            let line = i + 1;
            let words: Vec<&str> = l.split_whitespace().collect();
            assert!(
                (3..=4).contains(&words.len()),
                "serverfn_access.txt:{line}: expected FUNCTION LEAST EFFECT [FORM]"
            );
            let function = words[0].to_string();
            assert!(
                function.split("::").count() == 2,
                "serverfn_access.txt:{line}: {function} is not module::function"
            );
            let least = CALLERS
                .iter()
                .position(|(r, _)| *r == words[1])
                .unwrap_or_else(|| {
                    panic!("serverfn_access.txt:{line}: unknown caller {}", words[1])
                });
            let write = match words[2] {
                "read" => false,
                "write" => true,
                other => panic!("serverfn_access.txt:{line}: EFFECT is read or write, not {other}"),
            };
            let form: Vec<(String, String)> = match words.get(3) {
                Some(q) => reqwest::Url::parse(&format!("http://form/?{q}"))
                    .expect("form")
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
                None => Vec::new(),
            };
            for (k, v) in &form {
                assert!(
                    !v.starts_with('{') || PLACEHOLDERS.contains(&v.as_str()),
                    "serverfn_access.txt:{line}: {k}={v} is no placeholder"
                );
            }
            Row {
                function,
                least,
                write,
                form,
                line,
            }
        })
        .collect()
}

/// A server function as registered: its path, method and the hash server_fn derives from its
/// module (the same for every function of one file).
struct Registered {
    path: String,
    method: Method,
    module_hash: String,
}

/// The registered server functions by name (`/api/{name}{hash}` → name).
fn registered() -> BTreeMap<String, Registered> {
    let mut out = BTreeMap::new();
    for (path, method) in leptos::server_fn::axum::server_fn_paths() {
        let rest = path.strip_prefix("/api/").unwrap_or(path);
        let name = rest.trim_end_matches(|c: char| c.is_ascii_digit());
        assert!(!name.is_empty(), "server function path {path}");
        let method: Method = method.as_str().parse().expect("method");
        let old = out.insert(
            name.to_string(),
            Registered {
                path: path.to_string(),
                method,
                module_hash: rest[name.len()..].to_string(),
            },
        );
        assert!(
            old.is_none(),
            "two server functions are named {name}: the table could not tell them apart"
        );
    }
    out
}

#[test]
fn every_registered_server_function_has_a_row_and_every_row_a_function() {
    let rows = rows();
    let reg = registered();
    assert!(
        reg.len() >= 60,
        "only {} server functions registered",
        reg.len()
    );
    let mut keys = BTreeSet::new();
    for row in &rows {
        assert!(
            keys.insert((row.function.clone(), row.form.clone())),
            "{}: the same call has two rows",
            row.at()
        );
    }
    let in_table: BTreeSet<&str> = rows.iter().map(Row::name).collect();
    let in_registry: BTreeSet<&str> = reg.keys().map(String::as_str).collect();
    let missing: Vec<_> = in_registry.difference(&in_table).collect();
    assert!(
        missing.is_empty(),
        "server functions without a row in serverfn_access.txt: {missing:?}"
    );
    let stale: Vec<_> = rows
        .iter()
        .filter(|r| !reg.contains_key(r.name()))
        .map(Row::at)
        .collect();
    assert!(
        stale.is_empty(),
        "rows of serverfn_access.txt naming no registered server function: {stale:?}"
    );
    // The module written in a row is the one the function is defined in: functions of one
    // file share their path's hash, and files do not.
    let mut hash_of: BTreeMap<&str, (&str, String)> = BTreeMap::new();
    for row in &rows {
        let hash = &reg[row.name()].module_hash;
        match hash_of.get(row.module()) {
            Some((other, h)) => assert!(
                h == hash,
                "{}: {} and {other} are defined in different files, though both rows say `{}`",
                row.at(),
                row.name(),
                row.module()
            ),
            None => {
                hash_of.insert(row.module(), (row.name(), hash.clone()));
            }
        }
    }
    let distinct: BTreeSet<&String> = hash_of.values().map(|(_, h)| h).collect();
    assert_eq!(
        distinct.len(),
        hash_of.len(),
        "rows put functions of one module under different module names: {hash_of:?}"
    );
}

/// What a refused call must leave as it was: row counts and the last change of each table
/// that records one, and the audit log apart from its records of refusals.
const PROBES: [(&str, &str); 24] = [
    ("projects", "SELECT COUNT(*) FROM projects"),
    (
        "project repositories",
        "SELECT COALESCE(SUM(LENGTH(repository)), 0) FROM projects",
    ),
    ("memberships", "SELECT COUNT(*) FROM memberships"),
    (
        "membership roles",
        "SELECT COALESCE(SUM(LENGTH(role)), 0) FROM memberships",
    ),
    ("environments", "SELECT COUNT(*) FROM environments"),
    (
        "environment changes",
        "SELECT COALESCE(MAX(updated_at), 0) FROM environments",
    ),
    ("variables", "SELECT COUNT(*) FROM variables"),
    (
        "variable changes",
        "SELECT COALESCE(MAX(updated_at), 0) FROM variables",
    ),
    ("services", "SELECT COUNT(*) FROM services"),
    (
        "service changes",
        "SELECT COALESCE(MAX(updated_at), 0) FROM services",
    ),
    ("sites", "SELECT COUNT(*) FROM sites"),
    (
        "site changes",
        "SELECT COALESCE(MAX(updated_at), 0) FROM sites",
    ),
    ("deploys", "SELECT COUNT(*) FROM deploys"),
    (
        "cancelled deploys",
        "SELECT COUNT(*) FROM deploys WHERE status = 'cancelled'",
    ),
    ("releases", "SELECT COUNT(*) FROM releases"),
    ("config versions", "SELECT COUNT(*) FROM config_versions"),
    ("users", "SELECT COUNT(*) FROM users"),
    (
        "user changes",
        "SELECT COALESCE(MAX(updated_at), 0) FROM users",
    ),
    ("api tokens", "SELECT COUNT(*) FROM api_tokens"),
    (
        "revoked tokens",
        "SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NOT NULL",
    ),
    (
        "instance settings",
        "SELECT COALESCE(MAX(updated_at), 0) FROM instance_settings",
    ),
    (
        "runtime settings",
        "SELECT COALESCE(MAX(updated_at), 0) FROM environment_runtime",
    ),
    (
        "watchdogs",
        "SELECT COALESCE(MAX(updated_at), 0) FROM watchdogs",
    ),
    (
        "audit events other than refusals",
        "SELECT COUNT(*) FROM audit_events WHERE result <> 'denied'",
    ),
];

struct Snapshot {
    probes: Vec<i64>,
    refusals: i64,
}

async fn snapshot(app: &TestApp) -> Snapshot {
    let one = |sql: &'static str| {
        let pool = app.state.db.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(sql)
                .fetch_one(&pool)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"))
        }
    };
    let mut probes = Vec::new();
    for (_, sql) in PROBES {
        probes.push(one(sql).await);
    }
    let refusals = one("SELECT COUNT(*) FROM audit_events WHERE result = 'denied'").await;
    Snapshot { probes, refusals }
}

/// What changed between two snapshots, by probe name.
fn changed(before: &Snapshot, after: &Snapshot) -> Vec<&'static str> {
    PROBES
        .iter()
        .zip(before.probes.iter().zip(&after.probes))
        .filter(|(_, (a, b))| a != b)
        .map(|((name, _), _)| *name)
        .collect()
}

/// Calls a row's function as every caller, from the least powerful up: those below the row's
/// least must be refused, with nothing changed and the refusal audited; the others must not be.
async fn sweep(
    w: &World,
    reg: &BTreeMap<String, Registered>,
    row: &Row,
    failures: &mut Vec<String>,
) {
    let at = row.at();
    // A row that deletes leaves the next allowed caller nothing to find.
    let mut done = false;
    for (rank, (role, user)) in CALLERS.iter().enumerate() {
        let who = format!("{role} ({})", user.unwrap_or("nobody signed in"));
        if rank < row.least {
            let before = snapshot(&w.app).await;
            let (s, b) = call(w, reg, row, *user).await;
            let code = b["code"].as_str().unwrap_or("");
            let refused = match *role {
                "anonymous" => s == 401 && code == "unauthenticated",
                // An outsider may be told the project does not exist; a member is told no.
                "user" => (s == 403 && code == "forbidden") || (s == 404 && code == "not_found"),
                _ => s == 403 && code == "forbidden",
            };
            if !refused {
                failures.push(format!(
                    "{at}: {who} was not refused (least: {}): {s} {}",
                    CALLERS[row.least].0,
                    short(&b)
                ));
                continue;
            }
            let after = snapshot(&w.app).await;
            let diff = changed(&before, &after);
            if !diff.is_empty() {
                failures.push(format!(
                    "{at}: {who} was refused ({s}) but the call changed {diff:?}"
                ));
            }
            if user.is_some() && after.refusals <= before.refusals {
                failures.push(format!("{at}: the refusal of {who} ({s}) was not audited"));
            }
        } else {
            let (s, b) = call(w, reg, row, *user).await;
            let code = b["code"].as_str().unwrap_or("");
            let refused = matches!(s, 401 | 403)
                || matches!(code, "unauthenticated" | "forbidden" | "cross_site");
            let gone = s == 404 && (row.names_missing() || done);
            if refused || s >= 500 || (s == 404 && !gone) {
                failures.push(format!("{at}: {who} is allowed but got {s} {}", short(&b)));
            }
            done |= s < 400 && row.deletes();
        }
    }
}

#[tokio::test]
async fn every_server_function_is_refused_below_its_row_and_allowed_from_it() {
    let rows = rows();
    let reg = registered();
    for row in &rows {
        assert!(
            reg.contains_key(row.name()),
            "{}: no such server function",
            row.at()
        );
    }
    let mut failures = Vec::new();
    // Reads share one world, and must leave it as it was.
    let shared = world().await;
    for row in rows.iter().filter(|r| !r.write) {
        let before = snapshot(&shared.app).await;
        sweep(&shared, &reg, row, &mut failures).await;
        let diff = changed(&before, &snapshot(&shared.app).await);
        if !diff.is_empty() {
            failures.push(format!(
                "{}: a read changed {diff:?} (make it a write row)",
                row.at()
            ));
        }
    }
    drop(shared);
    for row in rows.iter().filter(|r| r.write) {
        let w = world().await;
        sweep(&w, &reg, row, &mut failures).await;
    }
    assert!(
        failures.is_empty(),
        "{} of the calls were not what serverfn_access.txt says:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
