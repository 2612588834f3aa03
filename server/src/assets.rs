//! The site (wasm, JS, CSS, public files) embedded into the binary at build time, so
//! `berth` runs from any directory.
//!
//! The wasm and JS are served under a content-addressed directory, `/pkg/<version>/`, where
//! `<version>` is a digest of every embedded `pkg/` file: a browser may keep them for a year
//! (`immutable`), and a new build is a new address. Files the build precompressed
//! (`<name>.br`, `<name>.gz`) are sent to clients that accept them.
use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

#[derive(RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `<version>`: 16 hex digits of a digest over the names and contents of the embedded `pkg/`
/// files (their precompressed forms excluded).
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut names: Vec<String> = Site::iter()
            .filter(|n| n.starts_with("pkg/") && !is_precompressed(n))
            .map(|n| n.into_owned())
            .collect();
        names.sort();
        let mut h = Sha256::new();
        for n in &names {
            if let Some(f) = Site::get(n) {
                h.update((n.len() as u64).to_be_bytes());
                h.update(n.as_bytes());
                h.update(f.metadata.sha256_hash());
            }
        }
        hex::encode(h.finalize())[..16].to_string()
    })
}

/// The site's package directory as Leptos links it (`pkg/<version>`).
pub fn pkg_dir() -> String {
    format!("pkg/{}", version())
}

fn is_precompressed(name: &str) -> bool {
    name.ends_with(".br") || name.ends_with(".gz")
}

/// Serves an embedded file for `path`, if there is one, in the best encoding `headers`
/// accept; answers 304 when the client's `If-None-Match` names it.
pub fn serve(path: &str, headers: &HeaderMap) -> Option<Response> {
    let path = path.trim_start_matches('/');
    // `pkg/<version>/berth.js` is `pkg/berth.js` of this build, kept for a year. Another
    // version (a page from before an upgrade) gets this build's file, not to be cached.
    let (path, cache) = match path.strip_prefix("pkg/").and_then(|r| r.split_once('/')) {
        Some((v, rest)) if v == version() => (format!("pkg/{rest}"), IMMUTABLE),
        Some((v, rest)) if v.len() == 16 && v.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (format!("pkg/{rest}"), "no-store")
        }
        _ if path.starts_with("pkg/") => (path.to_string(), "no-cache"),
        _ => (path.to_string(), "public, max-age=3600"),
    };
    if is_precompressed(&path) {
        return None;
    }
    // Leptos asks for `<name>_bg.wasm` unless its own crate was compiled by cargo-leptos
    // (which sets LEPTOS_OUTPUT_NAME); cargo-leptos writes `<name>.wasm`. Serve either.
    let name = if Site::get(&path).is_some() {
        path.clone()
    } else {
        path.strip_suffix("_bg.wasm")
            .map(|stem| format!("{stem}.wasm"))
            .filter(|n| Site::get(n).is_some())?
    };
    let file = Site::get(&name)?;
    let (data, encoding) = match accepted(headers)
        .into_iter()
        .find_map(|(enc, ext)| Some((Site::get(&format!("{name}.{ext}"))?, enc)))
    {
        Some((f, enc)) => (f.data, Some(enc)),
        None => (file.data, None),
    };
    // One tag per representation: a cache revalidating the brotli form must not be told that
    // the identity form it holds is still good for a client without brotli, or the reverse.
    let hash = hex::encode(file.metadata.sha256_hash());
    let etag = match encoding {
        Some(enc) => format!("\"{hash}-{enc}\""),
        None => format!("\"{hash}\""),
    };
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag
            })
        }) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, Body::from(data.into_owned())).into_response()
    };
    if let Some(enc) = encoding {
        res.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Some(res)
}

/// The precompressed forms `headers` accept, best first: (Content-Encoding, file suffix).
fn accepted(headers: &HeaderMap) -> Vec<(&'static str, &'static str)> {
    let accept = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let allows = |coding: &str| {
        accept.split(',').any(|part| {
            let mut it = part.split(';');
            let name = it.next().unwrap_or("").trim();
            let q_zero = it.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            name.eq_ignore_ascii_case(coding) && !q_zero
        })
    };
    [("br", "br"), ("gzip", "gz")]
        .into_iter()
        .filter(|(coding, _)| allows(coding))
        .collect()
}

/// True when the path looks like a static asset rather than a page.
pub fn is_asset(req: &Request<Body>) -> bool {
    let p = req.uri().path();
    p.starts_with("/pkg/")
        || p == "/favicon.ico"
        || p.rsplit('/').next().is_some_and(|l| l.contains('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_str(accept).unwrap(),
        );
        h
    }

    #[test]
    fn the_best_accepted_encoding_comes_first_and_q0_refuses() {
        assert_eq!(
            accepted(&headers("gzip, deflate, br")),
            [("br", "br"), ("gzip", "gz")]
        );
        assert_eq!(accepted(&headers("gzip;q=1, br;q=0")), [("gzip", "gz")]);
        assert_eq!(accepted(&headers("identity")), []);
        assert_eq!(accepted(&HeaderMap::new()), []);
    }

    #[test]
    fn the_version_is_sixteen_hex_digits() {
        assert_eq!(version().len(), 16);
        assert!(version().bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(pkg_dir(), format!("pkg/{}", version()));
    }
}
