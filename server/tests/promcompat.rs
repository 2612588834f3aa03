//! Berth's PromQL against the real thing. Berth scrapes the demo sites and an exporter of
//! edge cases, and remote-writes everything it stores to a Prometheus (Debian's, 2.42):
//! on those identical samples, every expression of `promcompat/expressions.txt` (the
//! seed's dashboard and rules, what operators write, the edge cases) must get the same
//! answer from both, as instant and as range queries at the same whole seconds. A second
//! Prometheus scrapes the same targets itself, to check scraping: `up`, sample counts and
//! the series stored per target. Needs `prometheus` (scripts/ensure-deps.sh --prometheus).
#[path = "api/support.rs"]
mod support;

#[path = "promcompat/answer.rs"]
mod answer;
#[path = "promcompat/compare.rs"]
mod compare;
#[path = "promcompat/demos.rs"]
mod demos;
#[path = "promcompat/edge.rs"]
mod edge;
#[path = "promcompat/expressions.rs"]
mod expressions;
#[path = "promcompat/prometheus.rs"]
mod prometheus;
#[path = "promcompat/report.rs"]
mod report;
#[path = "promcompat/scraping.rs"]
mod scraping;
#[path = "promcompat/world.rs"]
mod world;

use std::time::Duration;

/// How long samples accumulate before the comparison (the whole test stays under 3 min).
const ACCUMULATE: Duration = Duration::from_secs(75);

/// The seed's expressions that `expressions.txt` lacks.
fn seed_expressions_missing_from(list: &[String]) -> Vec<String> {
    let mut missing: Vec<String> = expressions::seed()
        .into_iter()
        .filter(|e| !list.contains(e))
        .collect();
    missing.dedup();
    missing
}

#[test]
fn every_expression_of_the_seeds_dashboard_and_rules_is_compared() {
    let missing = seed_expressions_missing_from(&expressions::compared());
    assert!(
        missing.is_empty(),
        "add these seed expressions to server/tests/promcompat/expressions.txt: {missing:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn berth_answers_like_prometheus_on_the_same_samples() {
    let exprs = expressions::compared();
    let missing = seed_expressions_missing_from(&exprs);
    assert!(
        missing.is_empty(),
        "seed expressions not in expressions.txt: {missing:#?}"
    );
    let world = world::World::start().await;
    world.wait_for_data().await;
    tokio::time::sleep(ACCUMULATE.saturating_sub(world.started.elapsed())).await;

    let scraping = scraping::check(&world).await;
    let end = world.aligned_end().await;
    let plan = compare::Plan::ending_at(end);
    let outcomes = compare::run(&exprs, &plan, &world.berth(), &world.receiver()).await;
    let differing = report::differing(&outcomes);
    // Every seed expression is meant to have data (the demos make each alert true).
    let seed = expressions::seed();
    let empty: Vec<&String> = exprs
        .iter()
        .filter(|e| seed.contains(e))
        .filter(|e| {
            !outcomes
                .iter()
                .any(|o| &o.expr == *e && o.prometheus_has_data())
        })
        .collect();

    println!(
        "promcompat: {} expressions at {} times each, ending {end} (${{AT}} = {})",
        exprs.len(),
        plan.times.len(),
        plan.at
    );
    if !differing.is_empty() {
        println!("{}", report::render(&differing, outcomes.len()));
    }
    for finding in &scraping {
        println!("scraping: {finding}");
    }
    for e in &empty {
        println!("no data on either side (the test's traffic does not exercise it): {e}");
    }
    assert!(
        differing.is_empty() && scraping.is_empty() && empty.is_empty(),
        "{} of {} compared expressions differ between Berth and Prometheus; {} scraping \
         findings; {} seed expressions without data (details above)",
        differing.len(),
        exprs.len(),
        scraping.len(),
        empty.len()
    );
}
