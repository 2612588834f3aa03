//! `berth-demo check [PATH]`: a health probe that needs no shell or curl, so it works as a
//! Docker `HEALTHCHECK` in a `FROM scratch` image.

use crate::client::{get_request, Conn};
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TIMEOUT: Duration = Duration::from_secs(5);
pub const DEFAULT_PATH: &str = "/api/health";

/// GETs `path` on `127.0.0.1:port`: exit code 0 on a 200, else 1.
pub fn run(port: u16, path: &str) -> i32 {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    match probe(addr, path) {
        Ok(200) => {
            println!("ok: GET {path} -> 200");
            0
        }
        Ok(status) => {
            println!("unhealthy: GET {path} -> {status}");
            1
        }
        Err(why) => {
            println!("unhealthy: GET {path} on {addr}: {why}");
            1
        }
    }
}

/// The status code of `GET path`, or why there was none.
pub fn probe(addr: SocketAddr, path: &str) -> Result<u16, String> {
    let mut conn = Conn::connect(addr, CONNECT_TIMEOUT).map_err(|e| e.to_string())?;
    let request = get_request("localhost", path, true);
    conn.exchange(&request, TIMEOUT)
        .map(|response| response.status)
        .map_err(|failure| failure.kind().replace('_', " "))
}
