//! The results table and the helpers every benchmark shares.
use std::time::Duration;

pub fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .replace('_', "")
            .parse()
            .unwrap_or_else(|_| panic!("{name} must be a whole number, got {v:?}")),
        _ => default,
    }
}

/// One line of the results table.
struct Line {
    metric: String,
    value: String,
    target: String,
    met: Option<bool>,
}

#[derive(Default)]
pub struct Report {
    lines: Vec<Line>,
}

impl Report {
    pub fn add(&mut self, metric: &str, value: String, target: &str, met: Option<bool>) {
        println!("  {metric}: {value}");
        self.lines.push(Line {
            metric: metric.into(),
            value,
            target: target.into(),
            met,
        });
    }

    pub fn print(&self) {
        let w0 = self.lines.iter().map(|l| l.metric.len()).max().unwrap_or(6);
        let w1 = self.lines.iter().map(|l| l.value.len()).max().unwrap_or(5);
        let w2 = self.lines.iter().map(|l| l.target.len()).max().unwrap_or(6);
        println!();
        println!("== Berth foundation benchmarks ==");
        println!(
            "| {:w0$} | {:>w1$} | {:w2$} | met |",
            "metric", "value", "target"
        );
        println!(
            "|{}|{}|{}|-----|",
            "-".repeat(w0 + 2),
            "-".repeat(w1 + 2),
            "-".repeat(w2 + 2)
        );
        for l in &self.lines {
            let met = match l.met {
                Some(true) => "yes",
                Some(false) => "NO",
                None => "-",
            };
            println!(
                "| {:w0$} | {:>w1$} | {:w2$} | {:3} |",
                l.metric, l.value, l.target, met
            );
        }
    }
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}
