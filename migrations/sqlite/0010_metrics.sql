-- Metrics: per environment, how Berth scrapes (its replicas, at which interval) and how long
-- it keeps what it stored, and the static targets it scrapes besides (added by hand or
-- imported from a prometheus.yml).
CREATE TABLE metrics_settings (
    environment_id BIGINT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    scrape_replicas BIGINT NOT NULL DEFAULT 1,
    interval_ms BIGINT NOT NULL DEFAULT 15000,
    timeout_ms BIGINT NOT NULL DEFAULT 10000,
    retention_raw_days BIGINT NOT NULL DEFAULT 15,
    retention_rollup_days BIGINT NOT NULL DEFAULT 90,
    -- Prometheus remote write: where the environment's samples are also sent ('': nowhere).
    remote_write_url TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);

CREATE TABLE scrape_targets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    job_name TEXT NOT NULL,
    scheme TEXT NOT NULL DEFAULT 'http',
    address TEXT NOT NULL,
    metrics_path TEXT NOT NULL DEFAULT '/metrics',
    -- JSON: [[name, value], ...]
    params TEXT NOT NULL DEFAULT '[]',
    labels TEXT NOT NULL DEFAULT '[]',
    interval_ms BIGINT NOT NULL,
    timeout_ms BIGINT NOT NULL,
    honor_labels BIGINT NOT NULL DEFAULT 0,
    honor_timestamps BIGINT NOT NULL DEFAULT 1,
    sample_limit BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (environment_id, job_name, address)
);
