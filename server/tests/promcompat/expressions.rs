//! The compared expressions (`expressions.txt` beside this file) and the seed's own: every
//! `expr` of its Grafana dashboard and of its alert rules must be in the list.
use serde_json::Value;
use std::path::{Path, PathBuf};

/// In `expressions.txt`, replaced by a whole-second time inside the compared data, for `@`.
pub const AT_PLACEHOLDER: &str = "${AT}";

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/promcompat")
}

fn seed_monitoring() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/seed/fixtures/monitoring")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// `expressions.txt`: one expression a line; blank lines and `#` comments skipped.
pub fn compared() -> Vec<String> {
    parse_list(&read(&here().join("expressions.txt")))
}

pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

/// Every `expr` of the seed's dashboard and rules, in file order.
pub fn seed() -> Vec<String> {
    let dashboard = read(&seed_monitoring().join("grafana-dashboard.json"));
    let dashboard: Value = serde_json::from_str(&dashboard).expect("the seed dashboard is JSON");
    let mut out = Vec::new();
    json_exprs(&dashboard, &mut out);
    assert!(!out.is_empty(), "no expr in the seed dashboard");
    let rules = rule_exprs(&read(&seed_monitoring().join("rules/multi-site.yml")));
    assert!(!rules.is_empty(), "no expr in the seed rules");
    out.extend(rules);
    out
}

fn json_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr", Value::String(e)) => out.push(e.trim().to_string()),
                    _ => json_exprs(v, out),
                }
            }
        }
        Value::Array(list) => list.iter().for_each(|v| json_exprs(v, out)),
        _ => {}
    }
}

/// The `expr:` values of a rules file. The seed writes each on one line; a block scalar
/// (`expr: |`) would need a YAML parser, so it fails the test rather than being missed.
pub fn rule_exprs(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|l| {
            l.trim_start()
                .trim_start_matches("- ")
                .strip_prefix("expr:")
        })
        .map(|v| {
            let v = v.trim();
            assert!(
                !v.starts_with('|') && !v.starts_with('>') && !v.is_empty(),
                "a multi-line expr in the seed rules: teach rule_exprs to read it"
            );
            unquote(v)
        })
        .collect()
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner.to_string();
        }
    }
    v.to_string()
}

#[test]
fn rule_exprs_reads_plain_and_quoted_values() {
    let yaml = "groups:\n- rules:\n  - alert: A\n    expr: up == 0\n  - expr: 'rate(x[5m]) > 1'\n";
    assert_eq!(rule_exprs(yaml), ["up == 0", "rate(x[5m]) > 1"]);
}
