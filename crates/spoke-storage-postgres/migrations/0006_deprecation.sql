-- Deprecation marks (docs/deprecation.md): one row per deprecated module
-- (`version` '') or version. Mutable, so they live beside the module rather
-- than in a version's rows; read with the module (`select_module!`).
CREATE TABLE deprecations (
    module           TEXT COLLATE "C" NOT NULL REFERENCES modules (name),
    version          TEXT COLLATE "C" NOT NULL,
    message          TEXT NOT NULL,
    deprecated_at_ns BIGINT NOT NULL,
    PRIMARY KEY (module, version)
);
