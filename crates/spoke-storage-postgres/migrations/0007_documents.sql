-- A version's documents (README.md, LICENSE at the module's root; see
-- docs/storage.md): name and content digest, the content in the blob store
-- like a file's. Written in the version's transaction; versions without
-- documents have no rows.
CREATE TABLE version_documents (
    module  TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    name    TEXT COLLATE "C" NOT NULL,
    digest  BYTEA NOT NULL,
    size    BIGINT NOT NULL,
    PRIMARY KEY (module, version, name),
    FOREIGN KEY (module, version) REFERENCES versions (module, version) ON DELETE CASCADE
);
