-- The sealed values a secret had before it was overwritten or deleted (never plaintext), the
-- last 5 per name: containers started before a rotation still hold the old value, and their
-- logs must mask it too. Re-sealed with the variables by `berth secrets rotate-key`.
CREATE TABLE secret_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    sealed TEXT NOT NULL,
    key_id TEXT NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX secret_history_scope ON secret_history (project_id, environment_id, name, id);
