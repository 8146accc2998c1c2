-- A module's compatibility policy (docs/compatibility.md). `compatibility_mode` NULL:
-- the module has none of its own and the server's default applies; the rule
-- selection columns are then empty. `settings_updated_at_ns` is when the
-- policy was last set (NULL: never), which a module's `updated_at` counts
-- besides its newest push.
ALTER TABLE modules
    ADD COLUMN compatibility_mode     TEXT,
    ADD COLUMN compatibility_uses     TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN compatibility_except   TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN compatibility_ignore   TEXT[] NOT NULL DEFAULT '{}',
    ADD COLUMN compatibility_ignore_unstable BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN settings_updated_at_ns BIGINT;
