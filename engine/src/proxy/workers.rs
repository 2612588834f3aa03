//! Knowing when an nginx reload took effect: `nginx -s reload` only signals the master, which
//! then starts new workers (with the new configuration) and, 100 ms later, tells the old ones
//! to stop accepting. Berth watches the master's children, found through nginx's pid file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;

use super::{ProxyError, ReloadWait};

/// How long the new workers get to appear.
const REPLACE_TIMEOUT: Duration = Duration::from_secs(5);
/// Without a way to watch the workers.
const SETTLE: Duration = Duration::from_millis(100);
/// After the old workers retitled themselves, for them to close their listening sockets.
const HANDOVER: Duration = Duration::from_millis(10);
const POLL: Duration = Duration::from_millis(10);

/// Where the master's pid is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct PidFile(PathBuf);

impl PidFile {
    /// From `-g "… pid <path>; …"` in the commands, else the `pid` directive of the main
    /// configuration (`-c`, else `/etc/nginx/nginx.conf`). Relative paths resolve against
    /// `-p`, when given.
    pub(super) fn from_commands(test: &[String], reload: &[String]) -> Option<PidFile> {
        let flag = |name: &str| {
            [test, reload].into_iter().find_map(|argv| {
                let at = argv.iter().position(|a| a == name)?;
                argv.get(at + 1).cloned()
            })
        };
        let prefix = flag("-p").map(PathBuf::from);
        let from_globals = flag("-g").and_then(|g| pid_directive(&g));
        let configured = from_globals.or_else(|| {
            let conf = flag("-c").unwrap_or_else(|| "/etc/nginx/nginx.conf".to_owned());
            let conf = match &prefix {
                Some(prefix) if Path::new(&conf).is_relative() => prefix.join(conf),
                _ => PathBuf::from(conf),
            };
            pid_directive(&std::fs::read_to_string(conf).ok()?)
        })?;
        let path = PathBuf::from(configured);
        match prefix {
            _ if path.is_absolute() => Some(PidFile(path)),
            Some(prefix) => Some(PidFile(prefix.join(path))),
            None => None,
        }
    }
}

/// The value of a top-level `pid …;` directive.
fn pid_directive(text: &str) -> Option<String> {
    let mut depth = 0usize;
    for statement in text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        .split_inclusive([';', '{', '}'])
    {
        let trimmed = statement.trim();
        if trimmed.ends_with('{') {
            depth += 1;
        } else if trimmed.ends_with('}') {
            depth = depth.saturating_sub(1);
        } else if depth == 0 {
            let mut words = trimmed.trim_end_matches(';').split_whitespace();
            if words.next() == Some("pid") {
                return words.next().map(|w| w.trim_matches(['"', '\'']).to_owned());
            }
        }
    }
    None
}

/// The master and its children before the reload.
#[derive(Debug)]
pub(super) struct Snapshot {
    master: u32,
    children: HashSet<u32>,
}

pub(super) async fn snapshot(pid_file: Option<&PidFile>) -> Option<Snapshot> {
    let path = pid_file?.0.clone();
    tokio::task::spawn_blocking(move || {
        let master: u32 = std::fs::read_to_string(path).ok()?.trim().parse().ok()?;
        Path::new(&format!("/proc/{master}"))
            .exists()
            .then(|| Snapshot {
                master,
                children: children(master),
            })
    })
    .await
    .ok()
    .flatten()
}

/// Waits until the master runs new workers and every old worker has stopped accepting: nginx
/// starts the new workers, waits 100 ms, then tells the old ones to shut down, and they
/// retitle themselves "worker process is shutting down" as they close their listeners.
pub(super) async fn await_new(
    pid_file: Option<&PidFile>,
    before: Option<Snapshot>,
) -> Result<ReloadWait, ProxyError> {
    let Some(before) = before else {
        tokio::time::sleep(SETTLE).await;
        return Ok(ReloadWait::Settled);
    };
    let deadline = Instant::now() + REPLACE_TIMEOUT;
    let master = before.master;
    loop {
        let old: Vec<u32> = before.children.iter().copied().collect();
        let (now, old_serving) = tokio::task::spawn_blocking(move || {
            let serving = old.into_iter().filter(|pid| accepting(*pid)).count();
            (children(master), serving)
        })
        .await
        .unwrap_or_default();
        let fresh = now.difference(&before.children).count();
        if fresh > 0 && old_serving == 0 {
            tokio::time::sleep(HANDOVER).await;
            return Ok(ReloadWait::WorkersReplaced);
        }
        if Instant::now() >= deadline {
            let file = pid_file
                .map(|p| p.0.display().to_string())
                .unwrap_or_default();
            return Err(ProxyError::Reload(format!(
                "nginx (master pid {master} from {file}) did not replace its workers within {} s; \
                 see its error log",
                REPLACE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
}

/// True while `pid` is an nginx worker that has not begun shutting down.
fn accepting(pid: u32) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let title = String::from_utf8_lossy(&cmdline);
    title.contains("worker process") && !title.contains("shutting down")
}

/// Processes whose parent is `parent` (Linux `/proc`; empty elsewhere).
fn children(parent: u32) -> HashSet<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashSet::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                return false;
            };
            // "pid (comm) state ppid …", and comm may hold spaces or parentheses.
            let after = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
            after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) == Some(parent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pid_from_global_directives() {
        let test = args(&["nginx", "-t", "-g", "daemon on; pid /tmp/x/nginx.pid;"]);
        assert_eq!(
            PidFile::from_commands(&test, &[]),
            Some(PidFile("/tmp/x/nginx.pid".into()))
        );
    }

    #[test]
    fn relative_pid_resolves_against_the_prefix() {
        let reload = args(&[
            "nginx",
            "-p",
            "/srv/ngx",
            "-g",
            "pid logs/nginx.pid;",
            "-s",
            "reload",
        ]);
        assert_eq!(
            PidFile::from_commands(&[], &reload),
            Some(PidFile("/srv/ngx/logs/nginx.pid".into()))
        );
    }

    #[test]
    fn pid_directive_only_at_top_level() {
        let conf = "user www-data; # pid /nope;\nhttp {\n  pid /inner;\n}\npid /run/nginx.pid;\n";
        assert_eq!(pid_directive(conf).as_deref(), Some("/run/nginx.pid"));
        assert_eq!(pid_directive("events {}"), None);
    }

    #[test]
    fn children_of_this_process_include_a_spawned_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = children(std::process::id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&child.id()), "{found:?}");
    }
}
