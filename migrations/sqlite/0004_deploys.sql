-- The deploy engine: immutable releases, deploys (a durable queue) with their steps and log
-- lines, the current release of each environment, and the watchdog.
CREATE TABLE releases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    config_version BIGINT NOT NULL,
    -- JSON: services (specs), variables (templates; secret names only), sites, proxy settings,
    -- and per service the image reference resolved to its id and digest.
    plan TEXT NOT NULL,
    proxy_config TEXT NOT NULL DEFAULT '',
    git_sha TEXT NOT NULL DEFAULT '',
    reason TEXT NOT NULL DEFAULT '',
    trigger_kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    deployed_at BIGINT,
    UNIQUE (environment_id, number)
);

CREATE TABLE environment_runtime (
    environment_id BIGINT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    current_release_id BIGINT,
    settings TEXT NOT NULL DEFAULT '{}',
    updated_at BIGINT NOT NULL
);

CREATE TABLE deploys (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    release_id BIGINT,
    previous_release_id BIGINT,
    target_release_id BIGINT,
    params TEXT NOT NULL DEFAULT '{}',
    cause TEXT NOT NULL DEFAULT '',
    actor TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    trigger_kind TEXT NOT NULL,
    cancel_requested BIGINT NOT NULL DEFAULT 0,
    runner TEXT NOT NULL DEFAULT '',
    heartbeat_at BIGINT,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT
);
CREATE INDEX deploys_env_status ON deploys (environment_id, status);
CREATE INDEX deploys_status ON deploys (status, id);

CREATE TABLE deploy_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deploy_id BIGINT NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    started_at BIGINT,
    finished_at BIGINT,
    UNIQUE (deploy_id, position)
);

CREATE TABLE deploy_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    deploy_id BIGINT NOT NULL REFERENCES deploys (id) ON DELETE CASCADE,
    seq BIGINT NOT NULL,
    step TEXT NOT NULL,
    ts BIGINT NOT NULL,
    stream TEXT NOT NULL,
    line TEXT NOT NULL,
    UNIQUE (deploy_id, seq)
);

CREATE TABLE watchdogs (
    environment_id BIGINT PRIMARY KEY REFERENCES environments (id) ON DELETE CASCADE,
    enabled BIGINT NOT NULL DEFAULT 0,
    interval_secs BIGINT NOT NULL DEFAULT 60,
    failure_threshold BIGINT NOT NULL DEFAULT 3,
    webhook_url TEXT NOT NULL DEFAULT '',
    consecutive_failures BIGINT NOT NULL DEFAULT 0,
    last_check_at BIGINT,
    last_status TEXT NOT NULL DEFAULT '',
    last_alert_at BIGINT,
    updated_at BIGINT NOT NULL
);
