-- Instance-wide settings an instance admin keeps (name → JSON value). First:
-- `allowed_host_paths`, the host directories maintainers may bind-mount into containers.
CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
