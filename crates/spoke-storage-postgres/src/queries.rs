//! The statements behind the store's hot reads. Public so that the scale
//! benchmark `EXPLAIN`s exactly what the store runs.

/// A module with what is derived from its versions: `updated_at` (its newest
/// push) and `latest` (the highest release, else the first in listing order),
/// and its labels (names, versions and times, by name), then its deprecation
/// marks as three parallel arrays ordered by version ('' for the module
/// itself); read by `module_of`.
macro_rules! select_module {
    () => {
        "SELECT m.name, m.description, m.created_at_ns,
            (SELECT max(v.created_at_ns) FROM versions v WHERE v.module = m.name),
            (SELECT v.version FROM versions v WHERE v.module = m.name
                ORDER BY v.is_release DESC, v.order_key DESC LIMIT 1),
            m.settings_updated_at_ns, m.compatibility_mode, m.compatibility_uses,
            m.compatibility_except, m.compatibility_ignore, m.compatibility_ignore_unstable,
            ARRAY(SELECT l.name FROM labels l WHERE l.module = m.name ORDER BY l.name),
            ARRAY(SELECT l.version FROM labels l WHERE l.module = m.name ORDER BY l.name),
            ARRAY(SELECT l.updated_at_ns FROM labels l WHERE l.module = m.name ORDER BY l.name),
            ARRAY(SELECT d.version FROM deprecations d WHERE d.module = m.name ORDER BY d.version),
            ARRAY(SELECT d.message FROM deprecations d WHERE d.module = m.name ORDER BY d.version),
            ARRAY(SELECT d.deprecated_at_ns FROM deprecations d WHERE d.module = m.name
                ORDER BY d.version)
        FROM modules m"
    };
}

/// One module by name (`$1`).
pub const GET_MODULE: &str = concat!(select_module!(), " WHERE m.name = $1");

/// A page of modules after the name `$1` (`""` for the first), `$2` rows.
pub const LIST_MODULES_AFTER: &str = concat!(
    select_module!(),
    " WHERE m.name > $1 ORDER BY m.name LIMIT $2"
);

/// A version's own row, by module (`$1`) and version (`$2`).
pub const GET_VERSION: &str = "SELECT digest, image, repository, commit_sha, branch, created_at_ns
    FROM versions WHERE module = $1 AND version = $2";

/// A version's files, in push order.
pub const GET_VERSION_FILES: &str = "SELECT path, digest, size FROM version_files
    WHERE module = $1 AND version = $2 ORDER BY position";

/// A version's documents, by name.
pub const GET_VERSION_DOCUMENTS: &str = "SELECT name, digest, size FROM version_documents
    WHERE module = $1 AND version = $2 ORDER BY name";

/// A version's dependency pins, in push order.
pub const GET_VERSION_DEPENDENCIES: &str = "SELECT dep_module, dep_version FROM dependency_edges
    WHERE module = $1 AND version = $2 ORDER BY position";

/// A page of a module's (`$1`) versions in listing order, after the order
/// key `$2`, `$3` rows: a keyset page, served by the `(module, order_key)`
/// index whatever its depth.
pub const LIST_VERSIONS_BEFORE: &str = "SELECT version, digest, created_at_ns FROM versions
    WHERE module = $1 AND order_key < $2 ORDER BY order_key DESC LIMIT $3";

/// A label's moves, newest first, by module (`$1`) and label (`$2`).
pub const GET_LABEL_HISTORY: &str = "SELECT version, time_ns FROM label_moves
    WHERE module = $1 AND name = $2 ORDER BY seq DESC";
