//! A minimal HTTP/1.1 GET, for readiness probes against a container's published port.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Empty;
use hyper::Request;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// GETs `path` from `addr` and returns the status code, or why there was none.
pub(crate) async fn get_status(
    addr: SocketAddr,
    path: &str,
    timeout: Duration,
) -> Result<u16, String> {
    match tokio::time::timeout(timeout, get(addr, path)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} ms", timeout.as_millis())),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let path = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("/{path}")
    };
    let request = Request::get(path)
        .header(hyper::header::HOST, addr.to_string())
        .header(hyper::header::USER_AGENT, "berth-probe")
        .body(Empty::<Bytes>::new())
        .map_err(|e| e.to_string())?;
    let result = sender.send_request(request).await;
    driver.abort();
    result
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}
