//! Checking a rendered config with the real `nginx -t`.
use super::NginxCheck;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The nginx binary: the first `nginx` on `PATH`, else the usual sbin locations.
pub fn find_nginx() -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    from_path
        .into_iter()
        .map(|dir| dir.join("nginx"))
        .chain(
            [
                "/usr/sbin/nginx",
                "/usr/local/sbin/nginx",
                "/usr/local/nginx/sbin/nginx",
            ]
            .map(PathBuf::from),
        )
        .find(|p| p.is_file())
}

/// Check a config from [`render`](super::render) with the real `nginx -t`.
///
/// The config is wrapped in a minimal `nginx.conf` (its own `pid`, `error_log`, temp paths
/// and `events {}`, the config included inside `http { }`) in a private temporary directory,
/// so this needs no root and touches nothing of the system's nginx. Nginx opens every file
/// the config names: TLS certificates and keys must exist and be readable, and the log
/// directory writable, or the check fails saying so.
///
/// Returns `Err` with kind `NotFound` when nginx is not installed.
pub fn validate_with_nginx(config: &str) -> Result<NginxCheck, std::io::Error> {
    let nginx = find_nginx().ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "nginx not installed here (looked on PATH and in /usr/sbin, /usr/local/sbin)",
        )
    })?;
    let dir = TempDir::new("berth-nginx-check")?;
    let root = dir.path();
    let r = root.display();
    std::fs::write(root.join("berth.conf"), config)?;
    let main = format!(
        "pid {r}/nginx.pid;\n\
         error_log {r}/error.log;\n\
         events {{}}\n\
         http {{\n\
         \x20   access_log {r}/access.log;\n\
         \x20   client_body_temp_path {r}/body;\n\
         \x20   proxy_temp_path {r}/proxy;\n\
         \x20   fastcgi_temp_path {r}/fastcgi;\n\
         \x20   uwsgi_temp_path {r}/uwsgi;\n\
         \x20   scgi_temp_path {r}/scgi;\n\
         \x20   include {r}/berth.conf;\n\
         }}\n"
    );
    std::fs::write(root.join("nginx.conf"), main)?;
    let mut child = Command::new(&nginx)
        .arg("-t")
        .arg("-p")
        .arg(root)
        .arg("-e")
        .arg(root.join("error.log"))
        .arg("-c")
        .arg(root.join("nginx.conf"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()?;
    // A file the config names on a hung mount must not hold the caller forever.
    let deadline = std::time::Instant::now() + NGINX_CHECK_TIMEOUT;
    while child.try_wait()?.is_none() {
        if std::time::Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "nginx -t did not finish in {} s",
                    NGINX_CHECK_TIMEOUT.as_secs()
                ),
            ));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = child.wait_with_output()?;
    let mut output = String::from_utf8_lossy(&out.stderr).into_owned();
    output.push_str(&String::from_utf8_lossy(&out.stdout));
    Ok(NginxCheck {
        ok: out.status.success(),
        output,
    })
}

/// How long `nginx -t` may take.
pub const NGINX_CHECK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A private directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(prefix: &str) -> std::io::Result<TempDir> {
        use rand::Rng;
        let base = std::env::temp_dir();
        for _ in 0..16 {
            let suffix: u64 = rand::thread_rng().gen();
            let path = base.join(format!("{prefix}-{suffix:016x}"));
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            match builder.create(&path) {
                Ok(()) => return Ok(TempDir(path)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            "could not create a temporary directory",
        ))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
