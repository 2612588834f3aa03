-- Store audit events in sequence order: `seq` becomes SQLite's rowid (INTEGER PRIMARY KEY),
-- so walking the chain is a straight scan of the table instead of an index lookup per row.
CREATE TABLE audit_events_rowid (
    seq INTEGER PRIMARY KEY,
    ts BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    client_addr TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    project_id BIGINT,
    summary TEXT NOT NULL,
    result TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_events_rowid SELECT seq, ts, actor_kind, actor_id, actor_name, client_addr,
    user_agent, action, target, project_id, summary, result, prev_hash, hash FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_rowid RENAME TO audit_events;
CREATE INDEX audit_events_ts ON audit_events (ts);
CREATE INDEX audit_events_project ON audit_events (project_id, seq);
