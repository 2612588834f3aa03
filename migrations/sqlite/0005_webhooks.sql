-- GitHub webhooks: the repository a project deploys from, every delivery with its outcome,
-- and the delivery ids already handled (a replayed delivery queues nothing).
ALTER TABLE projects ADD COLUMN repository TEXT NOT NULL DEFAULT '';

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- X-GitHub-Delivery (empty when the sender gave none).
    delivery TEXT NOT NULL,
    event TEXT NOT NULL,
    repository TEXT NOT NULL,
    git_ref TEXT NOT NULL,
    -- valid | missing | invalid | no_secret | replay
    signature TEXT NOT NULL,
    -- connected | deployed | skipped | refused | duplicate | failed
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    status BIGINT NOT NULL,
    -- JSON: [{"environment": "staging", "deploy": 12}]
    deploys TEXT NOT NULL DEFAULT '[]',
    -- JSON object of the headers that explain a delivery (no cookies, no authorization).
    headers TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_truncated BIGINT NOT NULL DEFAULT 0,
    replay_of BIGINT,
    actor TEXT NOT NULL DEFAULT '',
    received_at BIGINT NOT NULL,
    duration_us BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webhook_deliveries_project ON webhook_deliveries (project_id, id);

CREATE TABLE webhook_seen (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    delivery TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, delivery)
);
