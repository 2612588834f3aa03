-- Environments, services, sites, variables and secrets, and numbered configuration versions.
CREATE TABLE environments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    slug TEXT NOT NULL,
    protected BIGINT NOT NULL DEFAULT 0,
    branch TEXT NOT NULL DEFAULT '',
    docker_host TEXT NOT NULL DEFAULT '',
    proxy TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, slug)
);

CREATE TABLE services (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (environment_id, name)
);

CREATE TABLE sites (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    spec TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

-- environment_id 0 means project level (NULL would not be unique in either database).
CREATE TABLE variables (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    environment_id BIGINT NOT NULL DEFAULT 0,
    name TEXT NOT NULL,
    is_secret BIGINT NOT NULL DEFAULT 0,
    value TEXT,
    sealed TEXT,
    key_id TEXT,
    version BIGINT NOT NULL DEFAULT 1,
    updated_by TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (project_id, environment_id, name)
);

CREATE TABLE config_versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    environment_id BIGINT NOT NULL REFERENCES environments (id) ON DELETE CASCADE,
    number BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    UNIQUE (environment_id, number)
);
