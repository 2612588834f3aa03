-- A remote (tcp://) Docker host is reached over TLS or not at all, unless an instance admin
-- marks the environment's host insecure (plain TCP); changing the host clears the mark.
ALTER TABLE environments ADD COLUMN docker_insecure BIGINT NOT NULL DEFAULT 0;
