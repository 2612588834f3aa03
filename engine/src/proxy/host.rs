//! nginx on this machine: the managed file on disk, commands run directly.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

use super::workers::{self, PidFile};
use super::{one_line, ProxyApplied, ProxyError, ReloadWait};

const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

pub(super) async fn apply(
    path: &Path,
    test: &[String],
    reload: &[String],
    config: &str,
) -> Result<ProxyApplied, ProxyError> {
    let previous = read(path).await?;
    if previous.as_deref() == Some(config) {
        return Ok(ProxyApplied {
            changed: false,
            test_output: String::new(),
            reload: ReloadWait::Skipped,
        });
    }
    if let Some(previous) = &previous {
        write_atomic(&previous_path(path), previous).await?;
    }
    write_atomic(path, config).await?;
    let test_output = match run(test).await {
        Ok(output) => output,
        Err(output) => {
            restore(path, previous.as_deref()).await?;
            return Err(ProxyError::Invalid(output));
        }
    };
    if reload.is_empty() {
        return Ok(ProxyApplied {
            changed: true,
            test_output,
            reload: ReloadWait::Skipped,
        });
    }
    let pid_file = PidFile::from_commands(test, reload);
    let before = workers::snapshot(pid_file.as_ref()).await;
    run(reload).await.map_err(ProxyError::Reload)?;
    let wait = workers::await_new(pid_file.as_ref(), before).await?;
    Ok(ProxyApplied {
        changed: true,
        test_output,
        reload: wait,
    })
}

pub(super) async fn read(path: &Path) -> Result<Option<String>, ProxyError> {
    match tokio::fs::read_to_string(path).await {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(None),
        Err(err) => Err(io(path, "read", err)),
    }
}

fn previous_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".previous");
    PathBuf::from(name)
}

async fn restore(path: &Path, previous: Option<&str>) -> Result<(), ProxyError> {
    match previous {
        Some(previous) => write_atomic(path, previous).await,
        None => match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == ErrorKind::NotFound => Ok(()),
            Err(err) => Err(io(path, "remove", err)),
        },
    }
}

/// Writes a temporary file beside `path` and renames it over `path`, so nginx never reads a
/// half-written file.
async fn write_atomic(path: &Path, content: &str) -> Result<(), ProxyError> {
    let path = path.to_owned();
    let content = content.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut file = tempfile::Builder::new()
            .prefix(".berth-")
            .tempfile_in(&dir)
            .map_err(|e| io(&dir, "create a file in", e))?;
        file.write_all(content.as_bytes())
            .and_then(|()| file.as_file().sync_all())
            .map_err(|e| io(file.path(), "write", e))?;
        // Readable by nginx's master (root, or Berth's group), not by every local user: the
        // file carries each environment's access-log token.
        set_mode(file.as_file());
        file.persist(&path)
            .map_err(|e| io(&path, "replace", e.error))?;
        Ok(())
    })
    .await
    .map_err(|e| ProxyError::Io(format!("writing the nginx configuration failed: {e}")))?
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    let _ = file.set_permissions(std::fs::Permissions::from_mode(0o640));
}

#[cfg(not(unix))]
fn set_mode(_file: &std::fs::File) {}

/// Runs `argv`; Ok with its output when it exits 0, Err with its output otherwise.
async fn run(argv: &[String]) -> Result<String, String> {
    let Some((program, args)) = argv.split_first() else {
        return Ok(String::new());
    };
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output();
    let output = match tokio::time::timeout(COMMAND_TIMEOUT, child).await {
        Ok(Ok(output)) => output,
        Ok(Err(err)) => return Err(format!("cannot run {program}: {err}")),
        Err(_) => {
            return Err(format!(
                "{} did not finish within {} s",
                argv.join(" "),
                COMMAND_TIMEOUT.as_secs()
            ))
        }
    };
    let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stdout));
    let text = one_line(&text);
    if output.status.success() {
        Ok(text)
    } else if text.is_empty() {
        Err(format!("{} failed ({})", argv.join(" "), output.status))
    } else {
        Err(text)
    }
}

fn io(path: &Path, action: &str, err: std::io::Error) -> ProxyError {
    ProxyError::Io(format!("cannot {action} {}: {err}", path.display()))
}
