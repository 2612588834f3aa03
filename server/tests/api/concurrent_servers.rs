//! Many servers in one process, as the test suites run them: starting one must never stall a
//! page another is rendering.
//!
//! The cause this guards against: Leptos builds its route list by running the whole app once
//! with resource loading suppressed through a process-wide flag. A resource first polled by any
//! other render while that flag is up waits forever, so its page never answers. Berth builds the
//! list once per process, before any server serves.
use crate::support::*;
use berth_model::InstanceRole;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_servers_does_not_stall_pages_being_rendered() {
    let app = spawn().await;
    app.user("root", InstanceRole::Admin).await;
    app.project("shop").await;
    let readers: Vec<_> = (0..4).map(|_| app.signed_in("root")).collect();
    let mut clients = Vec::new();
    for r in readers {
        clients.push(r.await);
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loads = tokio::task::JoinSet::new();
    for c in clients {
        let url = format!("{}/projects/shop", app.url);
        let done = done.clone();
        loads.spawn(async move {
            let mut pages = 0u32;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let page = async { c.get(&url).send().await?.text().await };
                match tokio::time::timeout(Duration::from_secs(10), page).await {
                    Ok(Ok(html)) => assert!(html.contains("Members"), "{html}"),
                    Ok(Err(e)) => panic!("page failed: {e}"),
                    Err(_) => panic!("GET /projects/shop stalled past 10 s after {pages} pages"),
                }
                pages += 1;
            }
            pages
        });
    }
    // Other servers start while the pages render, as parallel tests do.
    for _ in 0..16 {
        let other = spawn().await;
        drop(other);
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut total = 0;
    while let Some(pages) = loads.join_next().await {
        total += pages.expect("a page loader panicked");
    }
    assert!(
        total >= 16,
        "only {total} pages rendered while servers started"
    );
}
