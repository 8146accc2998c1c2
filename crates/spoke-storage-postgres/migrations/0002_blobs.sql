-- File content, when no object store is configured: one row per distinct
-- SHA-256 digest (content addressing), written once and never updated.
-- PostgreSQL compresses and moves large values out of line (TOAST) by
-- itself; .proto text compresses well.
CREATE TABLE blobs (
    digest  BYTEA PRIMARY KEY CHECK (length(digest) = 32),
    content BYTEA NOT NULL
);
