//! Pieces the live pages share: a status badge, durations, a deploy's place in the queue, and
//! the polling that keeps a hydrated page current (a no-JS page refreshes itself instead).
use leptos::prelude::*;
use std::time::Duration;

/// Inert while scripts run; without them, reloads the page every two seconds.
pub const REFRESH: &str = r#"<meta http-equiv="refresh" content="2">"#;

/// Runs `f` every `ms` milliseconds in the hydrated page (never on the server), until the
/// calling component goes away.
pub fn every(ms: u64, f: impl Fn() + 'static) {
    let f = std::rc::Rc::new(f);
    Effect::new(move |_| {
        let f = f.clone();
        if let Ok(h) = set_interval_with_handle(move || f(), Duration::from_millis(ms)) {
            on_cleanup(move || h.clear());
        }
    });
}

/// `1.2 s`, `3m 04s`, `1h 02m`.
pub fn fmt_duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        _ if ms < 1000 => format!("{} ms", ms.max(0)),
        0..=59 => format!("{:.1} s", ms as f64 / 1000.0),
        60..=3599 => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// How long something between `start` and `end` took.
pub fn took(start: Option<i64>, end: Option<i64>) -> String {
    match (start, end) {
        (Some(a), Some(b)) => fmt_duration(b - a),
        (Some(_), None) => "running".into(),
        _ => "—".into(),
    }
}

/// A status as a coloured badge (`rolled_back` reads "rolled back").
#[component]
pub fn Status(#[prop(into)] status: String) -> impl IntoView {
    view! { <span class=format!("status {status}") data-status=status.clone()>{status.replace('_', " ")}</span> }
}

/// Where a queued deploy stands: ` next` or ` 2 ahead`.
pub fn queue_text(ahead: i64) -> String {
    if ahead == 0 {
        " next".into()
    } else {
        format!(" {ahead} ahead")
    }
}
