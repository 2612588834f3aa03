//! The failure report: per differing expression, where it differs and both answers
//! (truncated), then one count of differing expressions over the total.
use super::compare::Outcome;
use std::collections::BTreeMap;

/// How much of each answer a report shows.
const ANSWER_CHARS: usize = 700;
/// How many differing times a report shows per expression.
const TIMES_SHOWN: usize = 2;

fn truncated(v: &serde_json::Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(ANSWER_CHARS) {
        Some((cut, _)) => format!("{}… ({} chars)", &text[..cut], text.len()),
        None => text,
    }
}

/// The differing expressions, in list order, with their differing outcomes.
pub fn differing(outcomes: &[Outcome]) -> Vec<(&str, Vec<&Outcome>)> {
    let mut order: Vec<&str> = Vec::new();
    let mut by_expr: BTreeMap<&str, Vec<&Outcome>> = BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.difference.is_some()) {
        if !by_expr.contains_key(o.expr.as_str()) {
            order.push(&o.expr);
        }
        by_expr.entry(&o.expr).or_default().push(o);
    }
    order
        .into_iter()
        .map(|e| (e, by_expr.remove(e).unwrap_or_default()))
        .collect()
}

/// A readable account of every difference.
pub fn render(differing: &[(&str, Vec<&Outcome>)], total_queries: usize) -> String {
    let mut out = String::new();
    for (expr, list) in differing {
        out.push_str(&format!(
            "\n== {expr}\n   differs in {} of its queries\n",
            list.len()
        ));
        for o in list.iter().take(TIMES_SHOWN) {
            out.push_str(&format!(
                "   -- {}: {}\n      Berth:      {}\n      Prometheus: {}\n",
                o.at.describe(),
                o.difference.as_deref().unwrap_or_default(),
                truncated(&o.berth),
                truncated(&o.prom),
            ));
        }
    }
    out.push_str(&format!("\n({total_queries} queries compared in all)\n"));
    out
}
