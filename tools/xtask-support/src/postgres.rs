//! PostgreSQL for the test suite: the server on 127.0.0.1:5432 when one
//! answers there, and always a streaming pair of our own — a primary and a
//! hot-standby replica made with `pg_basebackup -R` — for the read-replica
//! tests, which stop, restart and pause the replica.
//!
//! Both run from the machine's binaries (`/usr/lib/postgresql/<N>/bin`,
//! installed from Debian's `postgresql` when missing) with trust auth, on
//! free ports, with their data under `<target>/spoke-test-postgres/<pid>/`.
//! PostgreSQL refuses to run as root, so as root every command runs as the
//! `postgres` OS user (`runuser`). Each server has a control script
//! (`<name>-ctl start|stop|status`, a `pg_ctl` call); the tests get the
//! replica's, and dropping [`Cluster`] stops both and removes the data.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::apt::{self, Need};
use crate::cmd;

/// The server the tests reuse when it answers: `SPOKE_TEST_POSTGRES_URL`.
const SHARED_SERVER: &str = "127.0.0.1:5432";

/// The running primary and replica; stopped (replica first) and their data
/// removed when dropped.
pub struct Cluster {
    /// The variables the tests read.
    pub env: Vec<(String, String)>,
    /// Control scripts of the servers started, in start order.
    started: Vec<PathBuf>,
    base: PathBuf,
    /// Set by [`Cluster::keep`]: dropping stops and removes nothing.
    kept: bool,
}

impl Cluster {
    /// Starts the pair and says where the tests find everything:
    /// `SPOKE_TEST_POSTGRES_URL` (127.0.0.1:5432 when it answers, else our
    /// primary), `SPOKE_TEST_PG_PRIMARY_URL`, `SPOKE_TEST_PG_REPLICA_URL`
    /// and `SPOKE_TEST_PG_REPLICA_CTL` (the replica's control script).
    pub fn start() -> Result<Self> {
        let bin = server_binaries()?;
        let base = cmd::target_dir()?
            .join("spoke-test-postgres")
            .join(std::process::id().to_string());
        remove_stale_runs(base.parent().unwrap_or(&base), &bin);
        let primary_port = free_port()?;
        let replica_port = free_port()?;
        let mut cluster = Self::start_at(base, primary_port, replica_port)?;
        let shared_answers = SHARED_SERVER
            .parse()
            .is_ok_and(|addr| TcpStream::connect_timeout(&addr, Duration::from_secs(5)).is_ok());
        let admin = if shared_answers {
            url(SHARED_SERVER)
        } else {
            eprintln!("    nothing answers on {SHARED_SERVER}; the tests use our primary");
            url(&format!("127.0.0.1:{primary_port}"))
        };
        cluster
            .env
            .insert(0, ("SPOKE_TEST_POSTGRES_URL".to_owned(), admin));
        Ok(cluster)
    }

    /// The streaming pair alone, with data, logs and `<name>-ctl` scripts
    /// under `base` (created), on the given ports; `env` names both servers
    /// and the replica's control script.
    pub fn start_at(base: PathBuf, primary_port: u16, replica_port: u16) -> Result<Self> {
        let bin = server_binaries()?;
        std::fs::create_dir_all(&base)
            .with_context(|| format!("cannot create {}", base.display()))?;
        let mut cluster = Self {
            env: Vec::new(),
            started: Vec::new(),
            base,
            kept: false,
        };
        if cmd::is_root() {
            // The data directories and logs must belong to the user the
            // servers run as.
            cmd::run(Command::new("chown").arg("postgres:").arg(&cluster.base))?;
        }

        let primary = cluster.base.join("primary");
        cmd::output(
            as_postgres(&bin.join("initdb"))
                .args([
                    "--auth=trust",
                    "--username=postgres",
                    "--encoding=UTF8",
                    "--no-sync",
                    "-D",
                ])
                .arg(&primary),
        )
        .context("initdb for the test primary")?;
        cluster.start_server(&bin, "primary", &primary, primary_port)?;

        let replica = cluster.base.join("replica");
        // -R: standby.signal plus primary_conninfo, so it starts as a
        // streaming hot standby of the primary.
        cmd::output(
            as_postgres(&bin.join("pg_basebackup"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-p"])
                .arg(primary_port.to_string())
                .args(["-R", "-X", "stream", "--checkpoint=fast", "--no-sync", "-D"])
                .arg(&replica),
        )
        .context("pg_basebackup for the test replica")?;
        let replica_ctl = cluster.start_server(&bin, "replica", &replica, replica_port)?;

        cluster.env = vec![
            (
                "SPOKE_TEST_PG_PRIMARY_URL".to_owned(),
                url(&format!("127.0.0.1:{primary_port}")),
            ),
            (
                "SPOKE_TEST_PG_REPLICA_URL".to_owned(),
                url(&format!("127.0.0.1:{replica_port}")),
            ),
            (
                "SPOKE_TEST_PG_REPLICA_CTL".to_owned(),
                replica_ctl.to_string_lossy().into_owned(),
            ),
        ];
        Ok(cluster)
    }

    /// Writes `<name>-ctl` for the server with data in `data`, starts it
    /// with it and returns the script's path.
    fn start_server(&mut self, bin: &Path, name: &str, data: &Path, port: u16) -> Result<PathBuf> {
        let ctl = self.base.join(format!("{name}-ctl"));
        let log = self.base.join(format!("{name}.log"));
        let options = format!(
            "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={socket_dir} \
             -c wal_level=replica -c max_wal_senders=10 -c max_connections=200 -c fsync=off",
            socket_dir = self.base.display()
        );
        let runuser = if cmd::is_root() {
            "runuser -u postgres -- "
        } else {
            ""
        };
        let script = format!(
            "#!/bin/sh\n\
             # Starts, stops or checks the test suite's PostgreSQL {name} (port {port}).\n\
             case \"$1\" in start|stop|status) ;; *) echo \"usage: $0 start|stop|status\" >&2; exit 2 ;; esac\n\
             exec {runuser}{pg_ctl} \"$1\" -D {data} -l {log} -o {options} -m fast -w -t 60\n",
            pg_ctl = shell_quote(&bin.join("pg_ctl").to_string_lossy()),
            data = shell_quote(&data.to_string_lossy()),
            log = shell_quote(&log.to_string_lossy()),
            options = shell_quote(&options),
        );
        std::fs::write(&ctl, script).with_context(|| format!("cannot write {}", ctl.display()))?;
        make_executable(&ctl)?;
        eprintln!("    starting the test {name} on 127.0.0.1:{port}");
        cmd::output(Command::new(&ctl).arg("start"))
            .with_context(|| format!("starting the test {name} (its log: {})", log.display()))?;
        self.started.push(ctl.clone());
        Ok(ctl)
    }
}

impl Cluster {
    /// Leaves both servers running and their data in place (nothing is
    /// stopped on drop); returns the control scripts in start order.
    pub fn keep(mut self) -> Vec<PathBuf> {
        self.kept = true;
        self.started.clone()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        // The tests may have left the replica stopped; a failed stop is fine.
        for ctl in self.started.iter().rev() {
            let _ = Command::new(ctl)
                .arg("stop")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// The newest installed server's binary directory, installing Debian's
/// `postgresql` when there is none.
pub fn server_binaries() -> Result<PathBuf> {
    apt::ensure(&[Need {
        what: "the PostgreSQL server binaries",
        present: newest_server_binaries().is_some(),
        packages: &["postgresql"],
    }])?;
    newest_server_binaries()
        .context("no /usr/lib/postgresql/<version>/bin with initdb, pg_ctl and pg_basebackup")
}

fn newest_server_binaries() -> Option<PathBuf> {
    let versions = std::fs::read_dir("/usr/lib/postgresql").ok()?;
    versions
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let major: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            ["initdb", "pg_ctl", "pg_basebackup", "postgres"]
                .iter()
                .all(|tool| bin.join(tool).is_file())
                .then_some((major, bin))
        })
        .max_by_key(|(major, _)| *major)
        .map(|(_, bin)| bin)
}

/// Stops the servers of earlier runs whose xtask died without cleaning up
/// (their directory is named after a pid that no longer runs) and removes
/// their data.
fn remove_stale_runs(runs: &Path, bin: &Path) {
    let Ok(entries) = std::fs::read_dir(runs) else {
        return;
    };
    for entry in entries.flatten() {
        let pid = entry
            .file_name()
            .to_str()
            .and_then(|name| name.parse::<u32>().ok());
        // Not named after a pid: not one of ours.
        if pid.is_none_or(|pid| Path::new(&format!("/proc/{pid}")).exists()) {
            continue;
        }
        for data in ["replica", "primary"] {
            let _ = as_postgres(&bin.join("pg_ctl"))
                .args(["stop", "-m", "immediate", "-D"])
                .arg(entry.path().join(data))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

/// `program`, run as the `postgres` user when we are root.
fn as_postgres(program: &Path) -> Command {
    if cmd::is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn url(address: &str) -> String {
    format!("postgres://postgres@{address}/postgres")
}

/// Bind-and-release picks a free port; the server takes it a moment later.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .context("finding a free port for PostgreSQL")?
        .port())
}

/// `text` as one single-quoted sh word.
fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .with_context(|| format!("cannot make {} executable", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var<'a>(cluster: &'a Cluster, name: &str) -> &'a str {
        cluster
            .env
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("{name} is not provided"))
    }

    fn port_of(url: &str) -> u16 {
        let (_, after_host) = url.rsplit_once(':').unwrap();
        after_host.split('/').next().unwrap().parse().unwrap()
    }

    fn in_recovery(bin: &Path, port: u16) -> String {
        cmd::output(
            Command::new(bin.join("psql"))
                .args(["-h", "127.0.0.1", "-U", "postgres", "-Atc"])
                .arg("SELECT pg_is_in_recovery()")
                .arg("-p")
                .arg(port.to_string()),
        )
        .unwrap()
        .trim()
        .to_owned()
    }

    /// Starts real servers (several seconds, root or the postgres user):
    /// `cargo test -p xtask-support -- --ignored streaming_pair`.
    #[test]
    #[ignore = "starts PostgreSQL servers"]
    fn starts_a_streaming_pair_and_cleans_up() {
        let bin = server_binaries().unwrap();
        let cluster = Cluster::start().unwrap();
        let primary = port_of(var(&cluster, "SPOKE_TEST_PG_PRIMARY_URL"));
        let replica = port_of(var(&cluster, "SPOKE_TEST_PG_REPLICA_URL"));
        assert_eq!(in_recovery(&bin, primary), "f");
        assert_eq!(in_recovery(&bin, replica), "t");
        let ctl = PathBuf::from(var(&cluster, "SPOKE_TEST_PG_REPLICA_CTL"));
        cmd::output(Command::new(&ctl).arg("stop")).unwrap();
        assert!(TcpStream::connect(("127.0.0.1", replica)).is_err());
        cmd::output(Command::new(&ctl).arg("start")).unwrap();
        assert_eq!(in_recovery(&bin, replica), "t");
        let base = cluster.base.clone();
        drop(cluster);
        assert!(!base.exists());
        for port in [primary, replica] {
            assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
        }
    }

    #[test]
    fn shell_quote_survives_quotes() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
