//! GitHub's side of a delivery: the `X-Hub-Signature-256` check, and what a `ping`, `push` or
//! `workflow_run` asks for. Pure functions over the raw body and the parsed payload.
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// GitHub caps payloads at 25 MB; anything bigger is not from GitHub.
pub const MAX_BODY: usize = 25 * 1024 * 1024;

/// The events Berth acts on (what to tick in GitHub's webhook settings).
pub const EVENTS: [&str; 2] = ["push", "workflow_run"];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Signature {
    Valid,
    Missing,
    /// Why it does not verify.
    Invalid(&'static str),
}

/// Checks `X-Hub-Signature-256` (`sha256=` + hex HMAC-SHA256 of the raw body) in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: Option<&str>) -> Signature {
    let Some(h) = header else {
        return Signature::Missing;
    };
    let Some(hex_mac) = h.trim().strip_prefix("sha256=") else {
        return Signature::Invalid("is not of the form sha256=<hex>");
    };
    let Ok(given) = hex::decode(hex_mac) else {
        return Signature::Invalid("is not hexadecimal");
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return Signature::Invalid("cannot be checked");
    };
    mac.update(body);
    match mac.verify_slice(&given) {
        Ok(()) => Signature::Valid,
        Err(_) => Signature::Invalid("does not match the body and the project's secret"),
    }
}

/// The `X-Hub-Signature-256` value GitHub would send for `body` (tests, benchmarks, docs).
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A commit a push or a finished workflow run asks to deploy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    /// `push` or `workflow_run`.
    pub kind: &'static str,
    pub repository: String,
    pub branch: String,
    pub sha: String,
    /// Who pushed (or whose push started the run).
    pub actor: String,
    /// The head commit's message, first line.
    pub message: String,
    /// `workflow_run`: the workflow's name and file path.
    pub workflow: String,
    pub workflow_path: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ask {
    Ping,
    Deploy(Trigger),
    /// Nothing to do, and why.
    Skip(String),
}

fn text<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    let mut cur = v;
    for p in path {
        cur = &cur[*p];
    }
    cur.as_str().unwrap_or_default()
}

/// `repository.full_name` of any event.
pub fn repository(v: &Value) -> String {
    text(v, &["repository", "full_name"]).to_string()
}

/// The ref a delivery is about: a push's `ref`, a workflow run's branch.
pub fn git_ref(event: &str, v: &Value) -> String {
    match event {
        "push" => text(v, &["ref"]).to_string(),
        "workflow_run" => text(v, &["workflow_run", "head_branch"]).to_string(),
        _ => String::new(),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or_default().trim().to_string()
}

fn is_commit_id(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// What a delivery of `event` with this payload asks for.
pub fn interpret(event: &str, v: &Value) -> Ask {
    match event {
        "ping" => Ask::Ping,
        "push" => push(v),
        "workflow_run" => workflow_run(v),
        other => Ask::Skip(format!(
            "event `{other}` is not handled: Berth acts on push and workflow_run (and answers ping); untick it in GitHub's webhook settings"
        )),
    }
}

fn push(v: &Value) -> Ask {
    let r = text(v, &["ref"]);
    if let Some(tag) = r.strip_prefix("refs/tags/") {
        return Ask::Skip(format!("tag `{tag}` pushed: tags do not deploy"));
    }
    let Some(branch) = r.strip_prefix("refs/heads/") else {
        return Ask::Skip(format!("ref `{r}` is not a branch"));
    };
    let after = text(v, &["after"]);
    if v["deleted"].as_bool() == Some(true) || after.chars().all(|c| c == '0') {
        return Ask::Skip(format!("branch `{branch}` was deleted"));
    }
    if !is_commit_id(after) {
        return Ask::Skip("the push has no commit id (`after`)".into());
    }
    let actor = [text(v, &["pusher", "name"]), text(v, &["sender", "login"])]
        .into_iter()
        .find(|s| !s.is_empty())
        .unwrap_or("someone");
    Ask::Deploy(Trigger {
        kind: "push",
        repository: repository(v),
        branch: branch.to_string(),
        sha: after.to_ascii_lowercase(),
        actor: actor.to_string(),
        message: first_line(text(v, &["head_commit", "message"])),
        workflow: String::new(),
        workflow_path: String::new(),
    })
}

fn workflow_run(v: &Value) -> Ask {
    let run = &v["workflow_run"];
    // A run's own name may be empty (GitHub's example payload has one): fall back to the
    // workflow's name, then to its file.
    let name = [
        text(run, &["name"]),
        text(v, &["workflow", "name"]),
        text(run, &["path"]),
        text(v, &["workflow", "path"]),
    ]
    .into_iter()
    .find(|s| !s.trim().is_empty())
    .unwrap_or("(unnamed)");
    let action = text(v, &["action"]);
    if action != "completed" {
        return Ask::Skip(format!(
            "workflow `{name}` {action}: Berth deploys when a run has completed"
        ));
    }
    let conclusion = text(run, &["conclusion"]);
    if conclusion != "success" {
        return Ask::Skip(format!(
            "workflow `{name}` concluded `{conclusion}`: only successful runs deploy"
        ));
    }
    let cause = text(run, &["event"]);
    if cause != "push" {
        return Ask::Skip(format!(
            "workflow `{name}` ran for a `{cause}` event: only runs started by a push deploy"
        ));
    }
    let repo = repository(v);
    let head_repo = text(run, &["head_repository", "full_name"]);
    if !head_repo.is_empty() && !head_repo.eq_ignore_ascii_case(&repo) {
        return Ask::Skip(format!(
            "workflow `{name}` ran on `{head_repo}`, not on `{repo}` (a fork)"
        ));
    }
    let sha = text(run, &["head_sha"]);
    let branch = text(run, &["head_branch"]);
    if branch.is_empty() || !is_commit_id(sha) {
        return Ask::Skip(format!("workflow `{name}` has no branch or commit id"));
    }
    let actor = [
        text(run, &["actor", "login"]),
        text(run, &["triggering_actor", "login"]),
        text(v, &["sender", "login"]),
    ]
    .into_iter()
    .find(|s| !s.is_empty())
    .unwrap_or("someone");
    Ask::Deploy(Trigger {
        kind: "workflow_run",
        repository: repo,
        branch: branch.to_string(),
        sha: sha.to_ascii_lowercase(),
        actor: actor.to_string(),
        message: first_line(text(run, &["head_commit", "message"])),
        workflow: name.to_string(),
        workflow_path: text(run, &["path"]).to_string(),
    })
}

/// An environment as the matcher sees it.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: i64,
    pub slug: String,
    pub protected: bool,
    pub branch: String,
    pub trigger: String,
    pub workflow: String,
}

/// Which environments a trigger deploys, and notes on those it does not (and why).
pub fn choose<'a>(t: &Trigger, targets: &'a [Target]) -> (Vec<&'a Target>, Vec<String>) {
    let mut chosen = Vec::new();
    let mut notes = Vec::new();
    for e in targets.iter().filter(|e| e.branch == t.branch) {
        let workflow_ok = e.workflow.is_empty()
            || e.workflow == t.workflow
            || e.workflow == t.workflow_path
            || t.workflow_path.rsplit('/').next() == Some(e.workflow.as_str());
        if e.trigger == "manual" {
            notes.push(format!("`{}` is deployed manually only", e.slug));
        } else if e.trigger != t.kind {
            notes.push(format!(
                "`{}` deploys on {}, not on {}",
                e.slug, e.trigger, t.kind
            ));
        } else if t.kind == "workflow_run" && !workflow_ok {
            notes.push(format!(
                "`{}` waits for workflow `{}`, this run was `{}`",
                e.slug, e.workflow, t.workflow
            ));
        } else {
            chosen.push(e);
        }
    }
    if chosen.is_empty() && notes.is_empty() {
        let mapped: Vec<String> = targets
            .iter()
            .filter(|e| !e.branch.is_empty())
            .map(|e| format!("{} → {}", e.branch, e.slug))
            .collect();
        notes.push(if mapped.is_empty() {
            format!(
                "no environment deploys branch `{}` (no environment has a deploy branch)",
                t.branch
            )
        } else {
            format!(
                "no environment deploys branch `{}` (deploy branches: {})",
                t.branch,
                mapped.join(", ")
            )
        });
    }
    (chosen, notes)
}

#[cfg(test)]
#[path = "github_tests.rs"]
mod tests;
