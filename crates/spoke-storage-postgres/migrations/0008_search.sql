-- Search (see docs/search.md). The types a field or RPC refers to; versions
-- stored before this migration have none recorded.
ALTER TABLE symbols ADD COLUMN type_refs TEXT[] NOT NULL DEFAULT '{}';

-- The order versions committed in, which each instance's search index
-- follows. Assigned at the end of the version's transaction under an
-- advisory lock held to the commit, so positions become visible in order.
-- Existing versions are numbered by push time.
CREATE SEQUENCE version_seq;
ALTER TABLE versions ADD COLUMN seq BIGINT;
UPDATE versions v SET seq = o.n
FROM (
    SELECT module, version,
           row_number() OVER (ORDER BY created_at_ns, module, version) AS n
    FROM versions
) o
WHERE v.module = o.module AND v.version = o.version;
SELECT setval('version_seq', COALESCE((SELECT max(seq) FROM versions), 0) + 1, false);
CREATE UNIQUE INDEX versions_by_seq ON versions (seq);
