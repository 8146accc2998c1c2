-- Labels (docs/labels.md): movable named pointers to a module's versions.
-- `labels` holds where each points now (read with the module record);
-- `label_moves` every setting, `seq` ordering them (newest last). Deleting a
-- label deletes its moves. Versions are never deleted, so the foreign keys
-- to `versions` keep a label from ever naming a missing version.
CREATE TABLE labels (
    module        TEXT COLLATE "C" NOT NULL REFERENCES modules (name),
    name          TEXT COLLATE "C" NOT NULL,
    version       TEXT COLLATE "C" NOT NULL,
    updated_at_ns BIGINT NOT NULL,
    PRIMARY KEY (module, name),
    FOREIGN KEY (module, version) REFERENCES versions (module, version)
);

CREATE TABLE label_moves (
    seq     BIGSERIAL PRIMARY KEY,
    module  TEXT COLLATE "C" NOT NULL,
    name    TEXT COLLATE "C" NOT NULL,
    version TEXT COLLATE "C" NOT NULL,
    time_ns BIGINT NOT NULL,
    FOREIGN KEY (module, version) REFERENCES versions (module, version)
);
CREATE INDEX label_moves_by_label ON label_moves (module, name, seq);
