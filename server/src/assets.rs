//! The site (wasm, JS, CSS, public files) embedded into the binary at build time, so
//! `berth` runs from any directory.
use axum::body::Body;
use axum::http::{header, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

#[derive(RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// Serves an embedded file for `path`, if there is one.
pub fn serve(path: &str) -> Option<Response> {
    let path = path.trim_start_matches('/');
    // Leptos asks for `<name>_bg.wasm` unless its own crate was compiled by cargo-leptos
    // (which sets LEPTOS_OUTPUT_NAME); cargo-leptos writes `<name>.wasm`. Serve either.
    let file = Site::get(path).or_else(|| {
        path.strip_suffix("_bg.wasm")
            .and_then(|stem| Site::get(&format!("{stem}.wasm")))
    })?;
    let mime = mime_guess::from_path(path).first_or_octet_stream();
    let cache = if path.starts_with("pkg/") {
        "no-cache"
    } else {
        "public, max-age=3600"
    };
    let mut res = (StatusCode::OK, Body::from(file.data.into_owned())).into_response();
    let headers = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::ETAG,
        HeaderValue::from_str(&format!("\"{}\"", hex::encode(file.metadata.sha256_hash())))
            .unwrap_or(HeaderValue::from_static("\"\"")),
    );
    Some(res)
}

/// True when the path looks like a static asset rather than a page.
pub fn is_asset(req: &Request<Body>) -> bool {
    let p = req.uri().path();
    p.starts_with("/pkg/")
        || p == "/favicon.ico"
        || p.rsplit('/').next().is_some_and(|l| l.contains('.'))
}
