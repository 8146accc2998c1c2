-- Access control (docs/storage.md): API tokens, grants and the audit log.
-- Times are Unix nanoseconds, as elsewhere.

-- A token's secret is never stored, only its SHA-256: the server finds a
-- presented token by id and compares hashes in constant time.
CREATE TABLE access_tokens (
    id              TEXT COLLATE "C" PRIMARY KEY,
    subject         TEXT COLLATE "C" NOT NULL,
    secret_hash     BYTEA NOT NULL CHECK (length(secret_hash) = 32),
    created_at_ns   BIGINT NOT NULL,
    expires_at_ns   BIGINT,
    last_used_at_ns BIGINT
);
CREATE INDEX access_tokens_by_subject ON access_tokens (subject, created_at_ns, id);

-- A role on a scope (`*`, a module, or a prefix ending in `*`). Not unique
-- by (subject, scope, role): granting twice is harmless, and each grant is
-- deleted by its own id.
CREATE TABLE access_grants (
    id            TEXT COLLATE "C" PRIMARY KEY,
    subject       TEXT COLLATE "C" NOT NULL,
    scope         TEXT COLLATE "C" NOT NULL,
    role          TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    created_by    TEXT NOT NULL
);

-- Every write attempted, in `seq` order. Writers take a transaction-scoped
-- advisory lock before inserting an entry and hold it to their commit, so
-- entries commit in `seq` order and a reader paging by `seq` misses none.
CREATE TABLE audit_log (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    time_ns    BIGINT NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    action     TEXT NOT NULL,
    target     TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    request_id TEXT NOT NULL
);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
