-- Spoke's metadata schema. Text keys use the "C" collation so that indexes
-- order them bytewise, as Rust compares strings.

CREATE TABLE modules (
    name          TEXT COLLATE "C" PRIMARY KEY,
    description   TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);

-- `order_key` sorts ascending as `spoke_domain::newest_first` sorts
-- descending (computed in Rust at insert time); `is_release` lets `latest`
-- be read from one index.
CREATE TABLE versions (
    module        TEXT COLLATE "C" NOT NULL REFERENCES modules (name),
    version       TEXT COLLATE "C" NOT NULL,
    digest        BYTEA NOT NULL,
    image         BYTEA,
    repository    TEXT,
    commit_sha    TEXT,
    branch        TEXT,
    created_at_ns BIGINT NOT NULL,
    is_release    BOOLEAN NOT NULL,
    order_key     BYTEA NOT NULL,
    PRIMARY KEY (module, version)
);
-- Not UNIQUE: keys embed the version string, so the primary key already
-- implies it, and a second unique index would turn a racing insert's
-- ON CONFLICT (module, version) into a unique violation.
CREATE INDEX versions_by_order ON versions (module, order_key);
CREATE INDEX versions_latest ON versions (module, is_release, order_key);
-- A module's updated_at is its newest push.
CREATE INDEX versions_by_created ON versions (module, created_at_ns);

CREATE TABLE version_files (
    module   TEXT COLLATE "C" NOT NULL,
    version  TEXT COLLATE "C" NOT NULL,
    position INTEGER NOT NULL,
    path     TEXT NOT NULL,
    digest   BYTEA NOT NULL,
    size     BIGINT NOT NULL,
    PRIMARY KEY (module, version, position),
    FOREIGN KEY (module, version) REFERENCES versions (module, version) ON DELETE CASCADE
);

-- A version's dependency pins, in order; the second index serves reverse
-- lookups (who depends on dep_module@dep_version).
CREATE TABLE dependency_edges (
    module      TEXT COLLATE "C" NOT NULL,
    version     TEXT COLLATE "C" NOT NULL,
    position    INTEGER NOT NULL,
    dep_module  TEXT COLLATE "C" NOT NULL,
    dep_version TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (module, version, position),
    FOREIGN KEY (module, version) REFERENCES versions (module, version) ON DELETE CASCADE
);
CREATE INDEX dependency_edges_reverse
    ON dependency_edges (dep_module, dep_version, module, version);

CREATE TABLE symbols (
    module    TEXT COLLATE "C" NOT NULL,
    version   TEXT COLLATE "C" NOT NULL,
    position  INTEGER NOT NULL,
    full_name TEXT NOT NULL,
    kind      TEXT NOT NULL,
    path      TEXT NOT NULL,
    line      BIGINT NOT NULL,
    comment   TEXT,
    PRIMARY KEY (module, version, position),
    FOREIGN KEY (module, version) REFERENCES versions (module, version) ON DELETE CASCADE
);
