-- Refused webhook deliveries that no secret signed (unknown sender, missing or wrong
-- signature, no secret set, body too large) are counted per project, hour and reason instead
-- of being stored one by one; only the first few of each hour are kept as deliveries.
CREATE TABLE webhook_refusals (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- The start of the hour (Unix milliseconds).
    window_start BIGINT NOT NULL,
    -- no_secret | signature_missing | signature_invalid | payload_too_large
    reason TEXT NOT NULL,
    refusals BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, window_start, reason)
);
