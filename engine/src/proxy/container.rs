//! nginx in a container: the managed file moves through Docker's archive API, commands run
//! by exec, and the workers are watched through Docker's process list.

use std::collections::HashSet;
use std::time::Duration;

use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::query_parameters::{DownloadFromContainerOptions, UploadToContainerOptions};
use futures_util::{StreamExt, TryStreamExt};
use tokio::time::Instant;

use super::{one_line, ProxyApplied, ProxyError, ReloadWait};
use crate::error::is_not_found;
use crate::Engine;

const REPLACE_TIMEOUT: Duration = Duration::from_secs(5);
const HANDOVER: Duration = Duration::from_millis(50);
const POLL: Duration = Duration::from_millis(20);

pub(super) async fn apply(
    engine: &Engine,
    container: &str,
    path: &str,
    config: &str,
) -> Result<ProxyApplied, ProxyError> {
    let previous = read(engine, container, path).await?;
    if previous.as_deref() == Some(config) {
        return Ok(ProxyApplied {
            changed: false,
            test_output: String::new(),
            reload: ReloadWait::Skipped,
        });
    }
    let (dir, name) = split(path)?;
    let mut files = Vec::new();
    if let Some(previous) = &previous {
        files.push((format!("{name}.previous"), previous.as_str()));
    }
    files.push((name.to_owned(), config));
    upload(engine, container, dir, &files).await?;
    let (ok, test_output) = exec(engine, container, &["nginx", "-t"]).await?;
    if !ok {
        match &previous {
            Some(previous) => {
                upload(engine, container, dir, &[(name.to_owned(), previous)]).await?
            }
            // Images without `rm` get an empty file, which nginx accepts as well.
            None => {
                if !matches!(
                    exec(engine, container, &["rm", "-f", path]).await,
                    Ok((true, _))
                ) {
                    upload(engine, container, dir, &[(name.to_owned(), "")]).await?;
                }
            }
        }
        return Err(ProxyError::Invalid(test_output));
    }
    let before = workers(engine, container).await?;
    let (ok, output) = exec(engine, container, &["nginx", "-s", "reload"]).await?;
    if !ok {
        return Err(ProxyError::Reload(output));
    }
    let deadline = Instant::now() + REPLACE_TIMEOUT;
    // As on the host (see `workers`): new workers run and no old one still accepts.
    loop {
        let now = workers(engine, container).await?;
        if now.difference(&before).next().is_some() && before.is_disjoint(&now) {
            tokio::time::sleep(HANDOVER).await;
            break;
        }
        if Instant::now() >= deadline {
            return Err(ProxyError::Reload(format!(
                "nginx in container {container} started no new workers within {} s",
                REPLACE_TIMEOUT.as_secs()
            )));
        }
        tokio::time::sleep(POLL).await;
    }
    Ok(ProxyApplied {
        changed: true,
        test_output,
        reload: ReloadWait::WorkersReplaced,
    })
}

pub(super) async fn read(
    engine: &Engine,
    container: &str,
    path: &str,
) -> Result<Option<String>, ProxyError> {
    let docker = engine.docker().await?;
    let options = DownloadFromContainerOptions {
        path: path.to_owned(),
    };
    let chunks: Result<Vec<_>, _> = docker
        .download_from_container(container, Some(options))
        .try_collect()
        .await;
    let archive: Vec<u8> = match chunks {
        Ok(chunks) => chunks.concat(),
        Err(err) if is_not_found(&err) => return Ok(None),
        Err(err) => return Err(engine.fail(err).into()),
    };
    tokio::task::spawn_blocking(move || {
        let mut entries = tar::Archive::new(archive.as_slice());
        let mut entries = entries.entries().map_err(tar_error)?;
        let Some(entry) = entries.next() else {
            return Ok(None);
        };
        let mut text = String::new();
        std::io::Read::read_to_string(&mut entry.map_err(tar_error)?, &mut text)
            .map_err(tar_error)?;
        Ok(Some(text))
    })
    .await
    .map_err(|e| ProxyError::Io(format!("reading the nginx configuration failed: {e}")))?
}

fn split(path: &str) -> Result<(&str, &str), ProxyError> {
    match path.rsplit_once('/') {
        Some((dir, name)) if !name.is_empty() => Ok((if dir.is_empty() { "/" } else { dir }, name)),
        _ => Err(ProxyError::Io(format!(
            "the nginx configuration path {path:?} must be an absolute file path"
        ))),
    }
}

async fn upload(
    engine: &Engine,
    container: &str,
    dir: &str,
    files: &[(String, &str)],
) -> Result<(), ProxyError> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
        builder
            .append_data(&mut header, name, content.as_bytes())
            .map_err(tar_error)?;
    }
    let archive = builder.into_inner().map_err(tar_error)?;
    let docker = engine.docker().await?;
    let options = UploadToContainerOptions {
        path: dir.to_owned(),
        ..Default::default()
    };
    docker
        .upload_to_container(container, Some(options), bollard::body_full(archive.into()))
        .await
        .map_err(|e| engine.fail(e).into())
}

/// Runs `argv` in the container; (exit code 0, output on one line).
async fn exec(
    engine: &Engine,
    container: &str,
    argv: &[&str],
) -> Result<(bool, String), ProxyError> {
    let docker = engine.docker().await?;
    let options = CreateExecOptions {
        cmd: Some(argv.iter().map(|a| a.to_string()).collect()),
        attach_stdout: Some(true),
        attach_stderr: Some(true),
        ..Default::default()
    };
    let created = docker
        .create_exec(container, options)
        .await
        .map_err(|e| engine.fail(e))?;
    let mut text = String::new();
    if let StartExecResults::Attached { mut output, .. } = docker
        .start_exec(&created.id, None)
        .await
        .map_err(|e| engine.fail(e))?
    {
        while let Some(chunk) = output.next().await {
            text.push_str(&chunk.map_err(|e| engine.fail(e))?.to_string());
        }
    }
    let inspected = docker
        .inspect_exec(&created.id)
        .await
        .map_err(|e| engine.fail(e))?;
    Ok((inspected.exit_code == Some(0), one_line(&text)))
}

/// Host pids of the container's nginx workers that accept connections (not shutting down).
async fn workers(engine: &Engine, container: &str) -> Result<HashSet<String>, ProxyError> {
    let docker = engine.docker().await?;
    let top = docker
        .top_processes(container, None)
        .await
        .map_err(|e| engine.fail(e))?;
    let titles = top.titles.unwrap_or_default();
    let pid_at = titles.iter().position(|t| t == "PID");
    let cmd_at = titles.iter().position(|t| t == "CMD" || t == "COMMAND");
    let (Some(pid_at), Some(cmd_at)) = (pid_at, cmd_at) else {
        return Ok(HashSet::new());
    };
    Ok(top
        .processes
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.get(cmd_at)
                .is_some_and(|c| c.contains("nginx: worker process"))
        })
        .filter_map(|p| p.get(pid_at).cloned())
        .collect())
}

fn tar_error(err: std::io::Error) -> ProxyError {
    ProxyError::Io(format!(
        "cannot pack or unpack the nginx configuration: {err}"
    ))
}
