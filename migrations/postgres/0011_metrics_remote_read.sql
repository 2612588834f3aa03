-- Metrics: per environment, an external Prometheus-compatible store whose samples the query
-- API reads besides the embedded storage's (Prometheus remote read; '': none).
ALTER TABLE metrics_settings ADD COLUMN remote_read_url TEXT NOT NULL DEFAULT '';
