//! The query box of an environment's metrics page: PromQL in, the answer now as a table and
//! the last hour as a chart, in one project's scope.
use super::super::super::context::Ctx;
use super::super::super::error::ServiceResult;
use super::super::super::AppState;
use super::{instant, range, QueryFailure, Scope};
use ::metrics::promql::{self, Value};

/// The most rows and chart series the query box shows.
const PAGE_ROWS: usize = 200;
const PAGE_SERIES: usize = 20;

/// The query box of an environment's metrics page: the answer now as a table and the last
/// hour as a chart, in one project's scope. A failed query is an answer with an error.
pub async fn page_query(
    state: &AppState,
    ctx: &Ctx,
    project: &str,
    expr: &str,
) -> ServiceResult<berth_model::QueryResultView> {
    use berth_model::{ChartSeries, QueryResultView};
    let scope = Scope::Project(project.to_string());
    let now = super::super::super::now_ms();
    let mut view = QueryResultView {
        expr: expr.to_string(),
        ..Default::default()
    };
    let fail = |f: QueryFailure| -> ServiceResult<String> {
        match f {
            QueryFailure::Service(e) => Err(e),
            QueryFailure::Eval(e) => Ok(format!("{}: {e}", e.error_type())),
            QueryFailure::Unavailable(m) => Ok(format!("unavailable: {m}")),
        }
    };
    match instant(state, ctx, &scope, expr, now).await {
        Ok(v) => {
            let rows: Vec<(String, String)> = match &v {
                Value::Scalar(_, x) => {
                    view.result_type = "scalar".into();
                    vec![("scalar".into(), promql::format_value(*x))]
                }
                Value::String(_, s) => {
                    view.result_type = "string".into();
                    vec![("string".into(), s.clone())]
                }
                Value::Vector(list) => {
                    view.result_type = "vector".into();
                    list.iter()
                        .map(|s| (s.labels.to_string(), promql::format_value(s.v)))
                        .collect()
                }
                Value::Matrix(list) => {
                    view.result_type = "matrix".into();
                    list.iter()
                        .map(|s| {
                            let last = s.samples.last().map(|(_, v)| promql::format_value(*v));
                            (
                                s.labels.to_string(),
                                format!(
                                    "{} samples, last {}",
                                    s.samples.len(),
                                    last.unwrap_or_default()
                                ),
                            )
                        })
                        .collect()
                }
            };
            view.truncated = rows.len().saturating_sub(PAGE_ROWS);
            view.rows = rows.into_iter().take(PAGE_ROWS).collect();
        }
        Err(f) => {
            view.error = Some(fail(f)?);
            return Ok(view);
        }
    }
    if matches!(view.result_type.as_str(), "vector" | "scalar") {
        let hour = 3_600_000;
        match range(state, ctx, &scope, expr, now - hour, now, 15_000).await {
            Ok(m) => {
                view.chart = m
                    .into_iter()
                    .take(PAGE_SERIES)
                    .map(|s| ChartSeries {
                        label: s.labels.to_string(),
                        points: s.samples,
                    })
                    .collect()
            }
            Err(f) => view.error = Some(fail(f)?),
        }
    }
    Ok(view)
}
