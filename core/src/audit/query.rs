//! Reading the log: filtered pages, newest first.
use super::{stored, COLUMNS};
use crate::db::Db;
use crate::error::ServiceResult;
use berth_model::{AuditEventView, AuditFilter, AuditPage};
use sqlx::Row;

fn parse_time(field: &str, raw: &str) -> ServiceResult<i64> {
    let s = raw.trim();
    if let Ok(ms) = s.parse::<i64>() {
        return Ok(ms);
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.timestamp_millis());
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M") {
        return Ok(t.and_utc().timestamp_millis());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .timestamp_millis());
    }
    Err(crate::error::ServiceError::invalid(
        field,
        "use a date (2026-01-31), an RFC 3339 time, or Unix milliseconds",
    ))
}

/// Which projects' events the caller may read: `None` means all.
pub type Visibility = Option<Vec<i64>>;

/// One page of events, newest first, filtered.
pub async fn list(db: &Db, visible: &Visibility, f: &AuditFilter) -> ServiceResult<AuditPage> {
    let limit = f.limit.unwrap_or(50).clamp(1, 1000);
    let mut sql = format!(
        "SELECT {COLUMNS}, p.slug FROM audit_events e LEFT JOIN projects p ON p.id = e.project_id WHERE 1 = 1"
    );
    let mut binds: Vec<Bind> = Vec::new();
    let arg = |binds: &mut Vec<Bind>, b: Bind| {
        binds.push(b);
        format!("${}", binds.len())
    };
    if let Some(actor) = f.actor.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("%{}%", escape_like(actor))));
        sql.push_str(&format!(" AND e.actor_name LIKE {p} ESCAPE '\\'"));
    }
    if let Some(action) = f.action.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("{}%", escape_like(action))));
        sql.push_str(&format!(" AND e.action LIKE {p} ESCAPE '\\'"));
    }
    if let Some(target) = f.target.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        let p = arg(&mut binds, Bind::Text(format!("%{}%", escape_like(target))));
        sql.push_str(&format!(" AND e.target LIKE {p} ESCAPE '\\'"));
    }
    if let Some(since) = f.since.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = arg(&mut binds, Bind::Int(parse_time("since", since)?));
        sql.push_str(&format!(" AND e.ts >= {p}"));
    }
    if let Some(until) = f.until.as_deref().filter(|s| !s.trim().is_empty()) {
        let p = arg(&mut binds, Bind::Int(parse_time("until", until)?));
        sql.push_str(&format!(" AND e.ts <= {p}"));
    }
    if let Some(before) = f.before {
        let p = arg(&mut binds, Bind::Int(before));
        sql.push_str(&format!(" AND e.seq < {p}"));
    }
    if let Some(ids) = visible {
        if ids.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let list = ids
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            sql.push_str(&format!(" AND e.project_id IN ({list})"));
        }
    }
    let p = arg(&mut binds, Bind::Int(limit + 1));
    sql.push_str(&format!(" ORDER BY e.seq DESC LIMIT {p}"));
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(s),
            Bind::Int(i) => q.bind(i),
        };
    }
    let rows = q.fetch_all(&db.pool).await?;
    let mut events = Vec::with_capacity(rows.len());
    for row in rows.iter().take(limit as usize) {
        let e = stored(row)?;
        let slug: Option<String> = row.try_get(14)?;
        events.push(AuditEventView {
            seq: e.seq,
            ts: e.ts,
            actor_kind: e.actor_kind,
            actor: e.actor_name,
            client_addr: e.client_addr,
            user_agent: e.user_agent,
            action: e.action,
            target: e.target,
            project: slug,
            summary: e.summary,
            result: e.result,
            hash: e.hash,
        });
    }
    let next_before = if rows.len() as i64 > limit {
        events.last().map(|e| e.seq)
    } else {
        None
    };
    Ok(AuditPage {
        events,
        next_before,
    })
}

enum Bind {
    Text(String),
    Int(i64),
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}
