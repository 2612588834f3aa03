//! The socket's loop: each datagram parsed, its token and environment checked, and counted.
use super::Collector;
use stack::nginx::access_log::{parse_datagram, MAX_DATAGRAM};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Receives until `stop`.
pub(super) async fn run(socket: tokio::net::UdpSocket, c: Arc<Collector>, stop: CancellationToken) {
    // One byte more than a line may have, so a longer datagram is seen as too long.
    let mut buf = vec![0u8; MAX_DATAGRAM + 1];
    loop {
        let n = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv(&mut buf) => match r {
                Ok(n) => n,
                Err(e) => {
                    // ICMP errors and the like: the socket stays usable.
                    tracing::debug!(error = %e, "access log: receive failed");
                    continue;
                }
            },
        };
        take(&c, &buf[..n], crate::now_ms());
    }
}

/// Counts one datagram (or why it was dropped).
pub(super) fn take(c: &Collector, datagram: &[u8], at: i64) {
    let k = &c.counters;
    k.received.fetch_add(1, Ordering::Relaxed);
    let line = match parse_datagram(datagram) {
        Ok(l) => l,
        Err(_) => {
            k.malformed.fetch_add(1, Ordering::Relaxed);
            return;
        }
    };
    if !c.verify(line.environment_id, line.token) {
        k.bad_token.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if c.env(line.environment_id).is_none() {
        k.unknown_environment.fetch_add(1, Ordering::Relaxed);
        return;
    }
    if c.totals.lock().expect("access log totals").add(&line, at) {
        k.counted.fetch_add(1, Ordering::Relaxed);
    } else {
        k.too_many_sites.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::super::EnvRef;
    use super::*;

    fn collector() -> Collector {
        let c = Collector::new("127.0.0.1:9".parse().unwrap(), b"salt");
        c.set_envs(
            [(
                7,
                EnvRef {
                    project: "p".into(),
                    slug: "staging".into(),
                    interval_ms: 1000,
                },
            )]
            .into(),
        );
        c
    }

    fn datagram(env: i64, token: &str, rest: &str) -> Vec<u8> {
        format!("<190>Dec  7 23:51:07 berth: berth1 {env} {token} {rest}").into_bytes()
    }

    #[test]
    fn spoofed_and_malformed_datagrams_are_counted_and_dropped() {
        let c = collector();
        let good = c.sink(7).token;
        let deleted = c.sink(8).token;
        take(&c, &datagram(7, &good, "a.test GET 200 0.001 10 -"), 1);
        take(&c, &datagram(7, &deleted, "a.test GET 200 0.001 10 -"), 1);
        take(
            &c,
            &datagram(7, &"0".repeat(32), "a.test GET 200 0.001 10 -"),
            1,
        );
        take(&c, &datagram(8, &deleted, "a.test GET 200 0.001 10 -"), 1);
        take(&c, &datagram(7, &good, "a.test GET 200 0.001"), 1);
        take(&c, b"\xff\xfe garbage", 1);
        take(&c, &vec![b'<'; 5000], 1);
        let s = c.stats();
        assert_eq!(
            (
                s.received,
                s.counted,
                s.bad_token,
                s.unknown_environment,
                s.malformed
            ),
            (7, 1, 2, 1, 3)
        );
        let totals = c.totals.lock().unwrap();
        assert_eq!(totals.envs.len(), 1);
        assert_eq!(totals.envs[&7]["a.test"].count(), 1);
    }
}
