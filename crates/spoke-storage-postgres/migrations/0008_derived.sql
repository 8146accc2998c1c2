-- Content derived from immutable inputs (generated SDKs, packaged crates),
-- when no object store is configured: keyed by the SHA-256 of the inputs,
-- not of the content, so it lives apart from the content-addressed blobs.
-- Written once per key and never updated.
CREATE TABLE derived (
    key     BYTEA PRIMARY KEY CHECK (length(key) = 32),
    content BYTEA NOT NULL
);
