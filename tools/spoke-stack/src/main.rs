//! `cargo xtask stack up|down`: the compose HA stack
//! (`deploy/compose/docker-compose.yml`) on loopback, from local binaries,
//! for machines without Docker.
//!
//! The same topology — three `spoke-server` processes behind nginx,
//! PostgreSQL primary plus streaming replica ([`postgres`]), Redis master
//! plus replica watched by three Sentinels, an S3-compatible server (moto
//! instead of MinIO) — and the same configuration: the servers get
//! `deploy/compose/spoke.env`, nginx gets `deploy/nginx/nginx.conf` and
//! Redis the templates under `deploy/compose/redis/`, with only addresses,
//! ports and directories substituted. Only the OpenTelemetry Collector is
//! left out (there is no local build of it), so tracing is switched off.
//!
//! `up` starts everything detached (own process groups, logs in the state
//! directory `<target>/spoke-stack/`) and exits; every process and
//! PostgreSQL control script is appended to `stack.state` as soon as it
//! starts, so `down` — or a failed `up` cleaning after itself — can stop
//! exactly what was started.
//!
//! xtask runs this binary for `cargo xtask stack` (`cargo run -p spoke-stack
//! -- ARGS`); the PostgreSQL pair is `xtask-support`'s, shared with the tests.

use std::fs::{File, OpenOptions};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};

use xtask_support::apt::{self, Need};
use xtask_support::{cmd, nginx, postgres, python};

/// What `cargo xtask stack --help` says before the subcommands.
const ABOUT: &str = "\
The compose HA stack on loopback, without Docker

up starts, from local binaries and on 127.0.0.1, what
deploy/compose/docker-compose.yml runs in containers:
    nginx            deploy/nginx/nginx.conf (REST and gRPC, retries)
    spoke-server x3  deploy/compose/spoke.env (hybrid storage, Redis via
                     Sentinel, read replica), built with cargo first
    PostgreSQL       primary + streaming replica (pg_basebackup -R)
    Redis            master + replica + 3 Sentinels (deploy/compose/redis/)
    S3               moto's server with the bucket of spoke.env
Only hosts, ports and directories differ from the compose stack; there is
no OpenTelemetry Collector, so SPOKE_OTEL_ENABLED is false. Access control
is on, as in spoke.env; SPOKE_AUTH_BOOTSTRAP_TOKEN from the calling shell
reaches the servers (compose reads it from .env). Missing tools
(nginx, redis-server, PostgreSQL, Python) are installed with apt-get. up
prints the endpoints and exits, leaving the stack running; state, data and
logs are in <target>/spoke-stack/.

down stops everything up started (recorded in <target>/spoke-stack/stack.state)
and removes the state directory.";

const DEFAULT_BASE_PORT: u16 = 18080;
/// The server instances, as in the compose file.
const INSTANCES: usize = 3;
/// Compose's default REDIS_PASSWORD, so the stack authenticates like it.
const REDIS_PASSWORD: &str = "spoke-redis";
/// The Sentinel master name in the templates and in SPOKE_REDIS_URL.
const REDIS_MASTER_NAME: &str = "spoke";
/// The database the servers use (compose: POSTGRES_DB).
const DATABASE: &str = "spoke";
/// Longest wait for one component to answer.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// SPOKE_SHUTDOWN_TIMEOUT of spoke.env plus margin: how long `down` lets a
/// process drain after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(40);

/// `cargo xtask stack` (run by xtask as `cargo run -p spoke-stack --`).
#[derive(Debug, Parser)]
#[command(name = "cargo xtask stack", bin_name = "cargo xtask stack", about = ABOUT)]
struct Cli {
    #[command(subcommand)]
    action: Options,
}

#[derive(Debug, PartialEq, Eq, Subcommand)]
enum Options {
    /// Start the stack, print its endpoints and exit, leaving it running
    Up {
        /// Build and run the release server (default: debug)
        #[arg(long)]
        release: bool,
        /// First port of the block the stack uses: N nginx REST, N+1 nginx
        /// gRPC, N+10.. server APIs, N+20.. server health, N+30/31
        /// PostgreSQL, N+40/41 Redis, N+42..44 Sentinels, N+50 S3
        #[arg(long, value_name = "N", default_value_t = DEFAULT_BASE_PORT, value_parser = base_port)]
        base_port: u16,
    },
    /// Stop everything `up` started and remove the state directory
    Down,
}

/// `--base-port`: the whole block must fit above the privileged ports.
fn base_port(value: &str) -> Result<u16, String> {
    value
        .parse()
        .ok()
        .filter(|port| (1024..=u16::MAX - Ports::SPAN).contains(port))
        .ok_or_else(|| format!("expected a number from 1024 to {}", u16::MAX - Ports::SPAN))
}

fn main() -> ExitCode {
    match run(&Cli::parse().action) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask stack: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: &Options) -> Result<()> {
    let dir = cmd::target_dir()?.join("spoke-stack");
    match *opts {
        Options::Up { release, base_port } => {
            // As compose takes the bootstrap token from its .env, the stack
            // takes it from the caller's shell.
            let bootstrap = std::env::var(BOOTSTRAP_TOKEN_VAR).ok();
            up(
                &dir,
                release,
                Ports { base: base_port },
                bootstrap.as_deref(),
            )
        }
        Options::Down => {
            if !down(&dir)? {
                eprintln!(
                    "xtask stack: no stack is running (no {})",
                    state_file(&dir).display()
                );
            }
            Ok(())
        }
    }
}

/// The block of loopback ports the stack uses (see `--base-port`).
#[derive(Debug, Clone, Copy)]
struct Ports {
    base: u16,
}

impl Ports {
    /// The ports used are base..base+SPAN.
    const SPAN: u16 = 51;

    fn nginx_http(self) -> u16 {
        self.base
    }
    fn nginx_grpc(self) -> u16 {
        self.base + 1
    }
    fn api(self, instance: usize) -> u16 {
        self.base + 10 + offset(instance)
    }
    fn health(self, instance: usize) -> u16 {
        self.base + 20 + offset(instance)
    }
    fn postgres_primary(self) -> u16 {
        self.base + 30
    }
    fn postgres_replica(self) -> u16 {
        self.base + 31
    }
    fn redis_master(self) -> u16 {
        self.base + 40
    }
    fn redis_replica(self) -> u16 {
        self.base + 41
    }
    fn sentinel(self, index: usize) -> u16 {
        self.base + 42 + offset(index)
    }
    fn s3(self) -> u16 {
        self.base + 50
    }

    fn all(self) -> Vec<u16> {
        let mut ports = vec![
            self.nginx_http(),
            self.nginx_grpc(),
            self.postgres_primary(),
            self.postgres_replica(),
            self.redis_master(),
            self.redis_replica(),
            self.s3(),
        ];
        for i in 0..INSTANCES {
            ports.extend([self.api(i), self.health(i), self.sentinel(i)]);
        }
        ports
    }
}

/// An instance or Sentinel index as a port offset (there are three).
fn offset(index: usize) -> u16 {
    u16::try_from(index).unwrap_or(u16::MAX)
}

/// What `up` started, in start order; `down` stops it in reverse.
#[derive(Debug, PartialEq, Eq)]
enum Entry {
    /// A detached process: its name, pid and start time (checked against
    /// /proc before signalling, so a recycled pid is left alone; names are
    /// no help, nginx and Redis rewrite their command lines).
    Process {
        name: String,
        pid: u32,
        started: u64,
    },
    /// A PostgreSQL server's control script (`<ctl> stop`).
    Postgres { ctl: PathBuf },
}

impl Entry {
    fn line(&self) -> String {
        match self {
            Entry::Process { name, pid, started } => format!("process {name} {pid} {started}"),
            Entry::Postgres { ctl } => format!("postgres {}", ctl.display()),
        }
    }

    fn parse(line: &str) -> Option<Entry> {
        let mut words = line.splitn(2, ' ');
        match (words.next()?, words.next()?) {
            ("process", rest) => {
                let mut fields = rest.split(' ');
                let name = fields.next()?.to_owned();
                let pid = fields.next()?.parse().ok()?;
                let started = fields.next()?.parse().ok()?;
                Some(Entry::Process { name, pid, started })
            }
            ("postgres", ctl) => Some(Entry::Postgres {
                ctl: PathBuf::from(ctl),
            }),
            _ => None,
        }
    }
}

fn state_file(dir: &Path) -> PathBuf {
    dir.join("stack.state")
}

/// The state file, appended to (and flushed) as things start.
struct Record {
    file: File,
}

impl Record {
    fn create(dir: &Path) -> Result<Self> {
        let path = state_file(dir);
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(Self { file })
    }

    fn add(&mut self, entry: &Entry) -> Result<()> {
        writeln!(self.file, "{}", entry.line())
            .and_then(|()| self.file.sync_data())
            .context("cannot write the stack's state file")
    }
}

/// Starts the stack; `bootstrap` is the servers' SPOKE_AUTH_BOOTSTRAP_TOKEN
/// (access control is on, as in spoke.env).
fn up(dir: &Path, release: bool, ports: Ports, bootstrap: Option<&str>) -> Result<()> {
    if state_file(dir).exists() {
        if read_state(dir)?.iter().any(is_running) {
            bail!(
                "a stack is already up ({}); stop it with `cargo xtask stack down`",
                state_file(dir).display()
            );
        }
        // A stack whose processes are gone: clear what is left of it.
        down(dir)?;
    }
    let busy: Vec<String> = ports
        .all()
        .into_iter()
        .filter(|port| TcpListener::bind(("127.0.0.1", *port)).is_err())
        .map(|port| port.to_string())
        .collect();
    if !busy.is_empty() {
        bail!(
            "port(s) {} on 127.0.0.1 are taken; pick another block with --base-port",
            busy.join(", ")
        );
    }

    let tools = Tools::ensure()?;
    let server = build_server(release)?;
    let python = python::ensure_python()?;

    let _ = std::fs::remove_dir_all(dir);
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut record = Record::create(dir)?;
    let mut started = Started {
        dir,
        bootstrap,
        record: &mut record,
        children: Vec::new(),
    };
    match started.start_all(&tools, &server, &python, ports) {
        Ok(endpoints) => {
            print!("{endpoints}");
            Ok(())
        }
        Err(err) => {
            eprintln!("xtask stack: starting failed; stopping what was started");
            drop(started);
            if let Err(stop_err) = down(dir) {
                eprintln!("xtask stack: stopping failed too: {stop_err:#}");
            }
            Err(err)
        }
    }
}

/// The programs the stack runs besides the server and Python.
struct Tools {
    nginx: PathBuf,
    redis_server: PathBuf,
    redis_cli: PathBuf,
}

impl Tools {
    fn ensure() -> Result<Self> {
        // Full nginx, not nginx-light: the gRPC listener needs grpc_pass.
        apt::ensure(&[
            Need::tool("nginx", &["nginx"]),
            Need::tool("redis-server", &["redis-server"]),
            Need::tool("redis-cli", &["redis-tools"]),
        ])?;
        let find = |tool: &str| {
            cmd::find_tool(tool).with_context(|| format!("`{tool}` is still not on PATH"))
        };
        let nginx = find("nginx")?;
        let build = Command::new(&nginx)
            .arg("-V")
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {} -V", nginx.display()))?;
        if String::from_utf8_lossy(&build.stderr).contains("--without-http_grpc_module") {
            bail!(
                "{} has no gRPC proxy module (nginx-light?); install Debian's `nginx`",
                nginx.display()
            );
        }
        Ok(Self {
            nginx,
            redis_server: find("redis-server")?,
            redis_cli: find("redis-cli")?,
        })
    }
}

/// `cargo build [--release] -p spoke-server-bin` and the binary's path.
fn build_server(release: bool) -> Result<PathBuf> {
    let mut build = cmd::cargo_command();
    build.args(["build", "-p", "spoke-server-bin"]);
    if release {
        build.arg("--release");
    }
    eprintln!("    $ {}", cmd::display(&build));
    cmd::run(&mut build)?;
    let profile = if release { "release" } else { "debug" };
    let binary = cmd::target_dir()?.join(profile).join("spoke-server");
    if !binary.is_file() {
        bail!("cargo built no {}", binary.display());
    }
    Ok(binary)
}

/// The stack being started: recorded entries, and the children of this
/// process, watched while waiting for them (and released, still running,
/// when `up` is done).
struct Started<'a> {
    dir: &'a Path,
    bootstrap: Option<&'a str>,
    record: &'a mut Record,
    children: Vec<(String, Child)>,
}

impl Started<'_> {
    fn start_all(
        &mut self,
        tools: &Tools,
        server: &Path,
        python: &Path,
        ports: Ports,
    ) -> Result<String> {
        let postgres = self.start_postgres(ports)?;
        self.start_redis(tools, ports)?;
        self.start_s3(python, ports)?;
        let shared = read_spoke_env()?;
        let (dir, bootstrap) = (self.dir, self.bootstrap);
        let env = |instance| server_env(&shared, ports, &postgres, instance, dir, bootstrap);
        self.migrate(server, &env(0))?;
        for instance in 0..INSTANCES {
            self.start_server(server, instance, &env(instance), ports)?;
        }
        self.start_nginx(tools, ports)?;
        Ok(endpoints(self.dir, ports, &postgres))
    }

    /// Spawns `command` detached (own process group, logs to
    /// `<dir>/<name>.log`) and records it.
    fn spawn(&mut self, name: &str, command: &mut Command) -> Result<()> {
        let log_path = self.dir.join(format!("{name}.log"));
        let log = File::create(&log_path)
            .with_context(|| format!("cannot create {}", log_path.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Out of the terminal's process group: a Ctrl-C meant for a
            // later command does not reach the stack.
            .process_group(0);
        eprintln!("    starting {name}: {}", cmd::display(command));
        let child = command
            .spawn()
            .with_context(|| format!("cannot start {name}: `{}`", cmd::display(command)))?;
        let pid = child.id();
        self.children.push((name.to_owned(), child));
        let started = process_start_time(pid)
            .with_context(|| format!("{name} (pid {pid}) vanished as it started"))?;
        self.record.add(&Entry::Process {
            name: name.to_owned(),
            pid,
            started,
        })
    }

    /// Polls `ready` until it holds, failing if the child `name` exits or
    /// [`START_TIMEOUT`] passes (its log is named either way).
    fn wait_for(&mut self, name: &str, what: &str, mut ready: impl FnMut() -> bool) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let log = self.dir.join(format!("{name}.log"));
        loop {
            if ready() {
                return Ok(());
            }
            if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name)
                && let Ok(Some(status)) = child.try_wait()
            {
                bail!(
                    "{name} exited ({status}) before {what}; see {}",
                    log.display()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{name}: {what} did not happen within {START_TIMEOUT:?}; see {}",
                    log.display()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The streaming pair of [`postgres`], kept running, plus the `spoke`
    /// database on it.
    fn start_postgres(&mut self, ports: Ports) -> Result<Postgres> {
        let cluster = postgres::Cluster::start_at(
            self.dir.join("postgres"),
            ports.postgres_primary(),
            ports.postgres_replica(),
        )?;
        for ctl in cluster.keep() {
            self.record.add(&Entry::Postgres { ctl })?;
        }
        let psql = postgres::server_binaries()?.join("psql");
        cmd::output(
            Command::new(&psql)
                .args(["-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-p"])
                .arg(ports.postgres_primary().to_string())
                .args(["-v", "ON_ERROR_STOP=1", "-c"])
                .arg(format!("CREATE DATABASE {DATABASE}")),
        )
        .context("creating the stack's database")?;
        Ok(Postgres {
            primary: postgres_url(ports.postgres_primary()),
            replica: postgres_url(ports.postgres_replica()),
        })
    }

    /// Master, replica and three Sentinels from deploy/compose/redis/*.template.
    fn start_redis(&mut self, tools: &Tools, ports: Ports) -> Result<()> {
        let template = read_deploy_file("compose/redis/redis.conf.template")?;
        let master_port = ports.redis_master().to_string();
        for (name, port, replica_of) in [
            ("redis-master", ports.redis_master(), None),
            ("redis-replica", ports.redis_replica(), Some(&master_port)),
        ] {
            let data = self.dir.join(name);
            std::fs::create_dir_all(&data)?;
            let conf = data.join("redis.conf");
            std::fs::write(&conf, render_redis(&template, port, &data, None)?)?;
            let mut command = Command::new(&tools.redis_server);
            command.arg(&conf);
            if let Some(master_port) = replica_of {
                command.args(["--replicaof", "127.0.0.1", master_port]);
            }
            self.spawn(name, &mut command)?;
            self.wait_for(name, "answering PING", || {
                redis_cli(&tools.redis_cli, port, &["PING"]).is_some_and(|reply| reply == "PONG")
            })?;
        }
        let replica_port = ports.redis_replica();
        self.wait_for("redis-replica", "syncing with the master", || {
            redis_cli(&tools.redis_cli, replica_port, &["INFO", "replication"])
                .is_some_and(|info| info.contains("master_link_status:up"))
        })?;

        let template = read_deploy_file("compose/redis/sentinel.conf.template")?;
        for index in 0..INSTANCES {
            let name = format!("redis-sentinel-{}", index + 1);
            let port = ports.sentinel(index);
            let data = self.dir.join(&name);
            std::fs::create_dir_all(&data)?;
            let conf = data.join("sentinel.conf");
            let master = Some(ports.redis_master());
            std::fs::write(&conf, render_redis(&template, port, &data, master)?)?;
            self.spawn(
                &name,
                Command::new(&tools.redis_server)
                    .arg(&conf)
                    .arg("--sentinel"),
            )?;
        }
        // Ready for a failover: every Sentinel sees the replica and the others.
        for index in 0..INSTANCES {
            let port = ports.sentinel(index);
            self.wait_for(
                &format!("redis-sentinel-{}", index + 1),
                "knowing the replica and the other Sentinels",
                || {
                    redis_cli(
                        &tools.redis_cli,
                        port,
                        &["SENTINEL", "MASTER", REDIS_MASTER_NAME],
                    )
                    .is_some_and(|reply| {
                        let fields: Vec<&str> = reply.lines().map(str::trim).collect();
                        let field = |name: &str| {
                            fields
                                .iter()
                                .position(|line| *line == name)
                                .and_then(|at| fields.get(at + 1).copied())
                        };
                        field("num-slaves") == Some("1")
                            && field("num-other-sentinels") == Some("2")
                    })
                },
            )?;
        }
        Ok(())
    }

    /// moto's S3 server, with the bucket spoke.env names.
    fn start_s3(&mut self, python: &Path, ports: Ports) -> Result<()> {
        let port = ports.s3();
        self.spawn(
            "s3",
            Command::new(python)
                .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
                .arg(port.to_string()),
        )?;
        self.wait_for("s3", "answering HTTP", || {
            http_status(port, "GET", "/", "").is_some()
        })?;
        let bucket = spoke_env_value(&read_spoke_env()?, "SPOKE_S3_BUCKET")?;
        // moto accepts unsigned requests.
        match http_status(port, "PUT", &format!("/{bucket}"), "") {
            Some(200) => Ok(()),
            other => bail!("creating bucket {bucket} on moto answered {other:?}"),
        }
    }

    /// `spoke-server migrate`, as the compose stack's migrate service.
    fn migrate(&mut self, server: &Path, env: &[(String, String)]) -> Result<()> {
        let mut migrate = server_command(server, env);
        migrate.arg("migrate");
        eprintln!("    $ {}", cmd::display(&migrate));
        let out = cmd::output(&mut migrate).context("`spoke-server migrate`")?;
        for line in out.lines() {
            eprintln!("      {line}");
        }
        Ok(())
    }

    fn start_server(
        &mut self,
        server: &Path,
        instance: usize,
        env: &[(String, String)],
        ports: Ports,
    ) -> Result<()> {
        let name = format!("spoke-{}", instance + 1);
        self.spawn(&name, &mut server_command(server, env))?;
        let health = ports.health(instance);
        self.wait_for(&name, "/health/ready answering 200", || {
            http_status(health, "GET", "/health/ready", "") == Some(200)
        })
    }

    /// deploy/nginx/nginx.conf with loopback addresses, checked with
    /// `nginx -t`, then started in the foreground of its process group.
    fn start_nginx(&mut self, tools: &Tools, ports: Ports) -> Result<()> {
        let prefix = self.dir.join("nginx");
        std::fs::create_dir_all(&prefix)?;
        let conf = prefix.join("nginx.conf");
        let config = render_nginx(&read_deploy_file("nginx/nginx.conf")?, ports, &prefix)?;
        std::fs::write(&conf, config)?;
        nginx::check(&tools.nginx, &prefix, &conf, &prefix.join("error.log"))?;
        let mut command = nginx::command(&tools.nginx, &prefix, &conf, &prefix.join("error.log"));
        command.args(["-g", "daemon off;"]);
        self.spawn("nginx", &mut command)?;
        let port = ports.nginx_http();
        self.wait_for("nginx", "/nginx-health answering 200", || {
            http_status(port, "GET", "/nginx-health", "") == Some(200)
        })?;
        self.wait_for("nginx", "/health/ready through nginx answering 200", || {
            http_status(port, "GET", "/health/ready", "") == Some(200)
        })
    }
}

/// Where the servers find PostgreSQL.
struct Postgres {
    primary: String,
    replica: String,
}

fn postgres_url(port: u16) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/{DATABASE}")
}

/// The text of `deploy/<relative>`.
fn read_deploy_file(relative: &str) -> Result<String> {
    let path = cmd::workspace_root().join("deploy").join(relative);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_spoke_env() -> Result<Vec<(String, String)>> {
    parse_env_file(&read_deploy_file("compose/spoke.env")?)
        .context("deploy/compose/spoke.env is malformed")
}

/// `KEY=VALUE` lines as docker compose's `env_file` reads them: blank lines
/// and `#` comments skipped, the value taken literally.
fn parse_env_file(text: &str) -> Result<Vec<(String, String)>> {
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            bail!("line {}: expected KEY=VALUE, got `{line}`", number + 1);
        };
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            bail!("line {}: `{key}` is not a variable name", number + 1);
        }
        vars.push((key.to_owned(), value.to_owned()));
    }
    Ok(vars)
}

fn spoke_env_value(vars: &[(String, String)], key: &str) -> Result<String> {
    vars.iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value.clone())
        .with_context(|| format!("deploy/compose/spoke.env does not set {key}"))
}

/// The variables that say where things are: set per stack (compose:
/// `x-spoke-endpoints` and the per-container volume), never from spoke.env.
const LOCATION_VARS: &[&str] = &[
    "SPOKE_HOST",
    "SPOKE_PORT",
    "SPOKE_HEALTH_PORT",
    "SPOKE_FILESYSTEM_ROOT",
    "SPOKE_POSTGRES_URL",
    "SPOKE_POSTGRES_REPLICA_URLS",
    "SPOKE_S3_ENDPOINT",
    "SPOKE_S3_ACCESS_KEY",
    "SPOKE_S3_SECRET_KEY",
    "SPOKE_REDIS_URL",
    "SPOKE_REDIS_PASSWORD",
    "SPOKE_OTEL_ENABLED",
    "SPOKE_OTEL_ENDPOINT",
];

/// The environment of `instance` with its data under `dir`: spoke.env,
/// then the loopback locations.
fn server_env(
    shared: &[(String, String)],
    ports: Ports,
    postgres: &Postgres,
    instance: usize,
    dir: &Path,
    bootstrap: Option<&str>,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = shared
        .iter()
        .filter(|(key, _)| !LOCATION_VARS.contains(&key.as_str()))
        .cloned()
        .collect();
    let sentinels: Vec<String> = (0..INSTANCES)
        .map(|index| format!("127.0.0.1:{}", ports.sentinel(index)))
        .collect();
    for (key, value) in [
        ("SPOKE_HOST", "127.0.0.1".to_owned()),
        ("SPOKE_PORT", ports.api(instance).to_string()),
        ("SPOKE_HEALTH_PORT", ports.health(instance).to_string()),
        (
            "SPOKE_FILESYSTEM_ROOT",
            dir.join(format!("spoke-{}-data", instance + 1))
                .to_string_lossy()
                .into_owned(),
        ),
        ("SPOKE_POSTGRES_URL", postgres.primary.clone()),
        ("SPOKE_POSTGRES_REPLICA_URLS", postgres.replica.clone()),
        (
            "SPOKE_S3_ENDPOINT",
            format!("http://127.0.0.1:{}", ports.s3()),
        ),
        // moto accepts any key pair.
        ("SPOKE_S3_ACCESS_KEY", "spoke".to_owned()),
        ("SPOKE_S3_SECRET_KEY", "spoke-s3".to_owned()),
        (
            "SPOKE_REDIS_URL",
            format!(
                "redis://{REDIS_MASTER_NAME}@{}/master/{REDIS_MASTER_NAME}",
                sentinels.join(",")
            ),
        ),
        ("SPOKE_REDIS_PASSWORD", REDIS_PASSWORD.to_owned()),
        // No collector in the stack.
        ("SPOKE_OTEL_ENABLED", "false".to_owned()),
    ] {
        env.push((key.to_owned(), value));
    }
    // Access control is on (spoke.env).
    if let Some(token) = bootstrap {
        env.push((BOOTSTRAP_TOKEN_VAR.to_owned(), token.to_owned()));
    }
    env
}

/// The one SPOKE_* variable the servers take from the caller's shell.
const BOOTSTRAP_TOKEN_VAR: &str = "SPOKE_AUTH_BOOTSTRAP_TOKEN";

/// The server with exactly `env` as its SPOKE_* settings (none inherited
/// from the caller's shell).
fn server_command(server: &Path, env: &[(String, String)]) -> Command {
    let mut command = Command::new(server);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("SPOKE_") {
            command.env_remove(key);
        }
    }
    command.envs(env.iter().map(|(key, value)| (key, value)));
    command
}

/// A Redis template with this node's values; `master` is the Sentinel's
/// master port (Sentinel templates only).
fn render_redis(template: &str, port: u16, dir: &Path, master: Option<u16>) -> Result<String> {
    let mut values = vec![
        ("@PORT@", port.to_string()),
        ("@BIND@", "127.0.0.1".to_owned()),
        ("@DIR@", dir.to_string_lossy().into_owned()),
        ("@PASSWORD@", REDIS_PASSWORD.to_owned()),
        ("@ANNOUNCE_HOST@", "127.0.0.1".to_owned()),
    ];
    if let Some(master) = master {
        values.push(("@MASTER_HOST@", "127.0.0.1".to_owned()));
        values.push(("@MASTER_PORT@", master.to_string()));
    }
    let mut text = template.to_owned();
    for (placeholder, value) in &values {
        text = text.replace(placeholder, value);
    }
    if let Some(left) = placeholder_in(&text) {
        bail!("the Redis template has a placeholder the stack does not fill: {left}");
    }
    Ok(text)
}

/// The first `@NAME@` placeholder left in `text`.
fn placeholder_in(text: &str) -> Option<&str> {
    text.match_indices('@').find_map(|(at, _)| {
        let rest = &text[at + 1..];
        let end = rest.find('@')?;
        let name = &rest[..end];
        (!name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            .then(|| &text[at..at + end + 2])
    })
}

/// deploy/nginx/nginx.conf for the stack: the instances' host names become
/// loopback ports, the listeners bind 127.0.0.1, and /tmp/nginx (pid and
/// temp files) becomes `prefix`. Each substitution must apply, so a change
/// to the file that the stack does not follow is an error, not a stack that
/// quietly differs from compose.
fn render_nginx(template: &str, ports: Ports, prefix: &Path) -> Result<String> {
    let mut substitutions = vec![
        (
            "listen 8080;".to_owned(),
            format!("listen 127.0.0.1:{};", ports.nginx_http()),
        ),
        (
            "listen 50051 http2;".to_owned(),
            format!("listen 127.0.0.1:{} http2;", ports.nginx_grpc()),
        ),
        (
            "/tmp/nginx".to_owned(),
            prefix.to_string_lossy().into_owned(),
        ),
    ];
    for instance in 0..INSTANCES {
        substitutions.push((
            format!("server spoke-{}:8080 ", instance + 1),
            format!("server 127.0.0.1:{} ", ports.api(instance)),
        ));
    }
    let mut text = template.to_owned();
    for (from, to) in &substitutions {
        if !text.contains(from.as_str()) {
            bail!(
                "deploy/nginx/nginx.conf no longer contains `{from}`; update tools/spoke-stack/src/main.rs"
            );
        }
        text = text.replace(from.as_str(), to);
    }
    if let Some(line) = text
        .lines()
        .find(|line| line.trim_start().starts_with("server spoke-"))
    {
        bail!(
            "deploy/nginx/nginx.conf has an upstream the stack does not run: `{}`",
            line.trim()
        );
    }
    Ok(format!(
        "# Generated by `cargo xtask stack up` from deploy/nginx/nginx.conf.\n{text}"
    ))
}

/// One redis-cli call with the stack's password; its trimmed output.
fn redis_cli(redis_cli: &Path, port: u16, args: &[&str]) -> Option<String> {
    let out = Command::new(redis_cli)
        .args([
            "-h",
            "127.0.0.1",
            "--no-auth-warning",
            "-a",
            REDIS_PASSWORD,
            "-p",
        ])
        .arg(port.to_string())
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// The status code of an HTTP/1.0 request to 127.0.0.1:`port` with a JSON
/// `body` (may be empty), or `None` when nothing answers (HTTP/1.0: the
/// server closes after one response, so no client library is needed).
fn http_status(port: u16, method: &str, path: &str, body: &str) -> Option<u16> {
    http_status_as(port, method, path, body, None)
}

/// [`http_status`] with `Authorization: Bearer <token>` when given.
fn http_status_as(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    token: Option<&str>,
) -> Option<u16> {
    let authorization = token
        .map(|token| format!("Authorization: Bearer {token}\r\n"))
        .unwrap_or_default();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    // Above nginx's retry budget (30s), so a retried request is waited for.
    stream
        .set_read_timeout(Some(Duration::from_secs(35)))
        .ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         {authorization}Content-Length: {length}\r\n\r\n{body}",
        length = body.len()
    )
    .ok()?;
    let mut head = [0_u8; 12];
    stream.read_exact(&mut head).ok()?;
    // "HTTP/1.1 200"
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// What `up` prints.
fn endpoints(dir: &Path, ports: Ports, postgres: &Postgres) -> String {
    let mut out = format!(
        "\nThe Spoke stack is up (state, data and logs: {dir}).\n\
         \n  REST through nginx   http://127.0.0.1:{http}\
         \n  gRPC through nginx   127.0.0.1:{grpc} (plaintext HTTP/2)\n",
        dir = dir.display(),
        http = ports.nginx_http(),
        grpc = ports.nginx_grpc(),
    );
    for instance in 0..INSTANCES {
        out.push_str(&format!(
            "  spoke-{n}              http://127.0.0.1:{api}  health/metrics http://127.0.0.1:{health}\n",
            n = instance + 1,
            api = ports.api(instance),
            health = ports.health(instance),
        ));
    }
    let sentinels: Vec<String> = (0..INSTANCES)
        .map(|index| ports.sentinel(index).to_string())
        .collect();
    out.push_str(&format!(
        "  PostgreSQL           primary {primary}  replica {replica}\n\
         \x20 Redis                master 127.0.0.1:{master}  replica 127.0.0.1:{replica_port}  \
         Sentinels 127.0.0.1:{sentinels} (master `{REDIS_MASTER_NAME}`, password {REDIS_PASSWORD})\n\
         \x20 S3 (moto)            http://127.0.0.1:{s3}\n\
         \nStop it with `cargo xtask stack down`.\n",
        primary = postgres.primary,
        replica = postgres.replica,
        master = ports.redis_master(),
        replica_port = ports.redis_replica(),
        sentinels = sentinels.join(","),
        s3 = ports.s3(),
    ));
    out
}

fn read_state(dir: &Path) -> Result<Vec<Entry>> {
    let path = state_file(dir);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            Entry::parse(line)
                .with_context(|| format!("{}: unreadable line `{line}`", path.display()))
        })
        .collect()
}

/// Stops what the state file lists, newest first, and removes the state
/// directory. `Ok(false)` when there is no state file.
fn down(dir: &Path) -> Result<bool> {
    if !state_file(dir).exists() {
        return Ok(false);
    }
    let entries = read_state(dir)?;
    let mut failures = Vec::new();
    for entry in entries.iter().rev() {
        match entry {
            Entry::Process { name, pid, .. } => {
                if is_running(entry) {
                    eprintln!("    stopping {name} (pid {pid})");
                    stop_process(*pid, STOP_GRACE);
                }
            }
            Entry::Postgres { ctl } => {
                // Already stopped is fine.
                if is_running(entry) {
                    eprintln!("    stopping PostgreSQL: {} stop", ctl.display());
                    if let Err(err) = cmd::output(Command::new(ctl).arg("stop")) {
                        failures.push(format!("{err:#}"));
                    }
                }
            }
        }
    }
    if !failures.is_empty() {
        bail!(
            "some parts did not stop (state left in {}): {}",
            dir.display(),
            failures.join("; ")
        );
    }
    std::fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    eprintln!("xtask stack: stopped; removed {}", dir.display());
    Ok(true)
}

/// Whether a recorded process still runs (the same process: same start
/// time, not a zombie). PostgreSQL entries count as running when their
/// control script says so.
fn is_running(entry: &Entry) -> bool {
    match entry {
        Entry::Process { pid, started, .. } => {
            is_alive(*pid) && process_start_time(*pid) == Some(*started)
        }
        Entry::Postgres { ctl } => Command::new(ctl)
            .arg("status")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success()),
    }
}

/// The fields of `/proc/<pid>/stat` after the parenthesised command name
/// (which may hold spaces): the state letter first.
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, after_name) = stat.rsplit_once(')')?;
    Some(
        after_name
            .split_whitespace()
            .map(ToOwned::to_owned)
            .collect(),
    )
}

/// When `pid` started, in clock ticks since boot (`starttime`, field 22 of
/// /proc/<pid>/stat).
fn process_start_time(pid: u32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// Whether `pid` exists and is not a zombie (a process that exited and was
/// not reaped yet).
fn is_alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|fields| fields.first().is_some_and(|state| state != "Z"))
}

/// SIGTERM, then SIGKILL if `pid` still runs after `grace`.
fn stop_process(pid: u32, grace: Duration) {
    let signal = |name: &str| {
        Command::new("kill")
            .args([name, &pid.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success())
    };
    if !signal("-TERM") {
        return;
    }
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if !is_alive(pid) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    eprintln!("xtask stack: pid {pid} did not exit within {grace:?} of SIGTERM; killing it");
    signal("-KILL");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, clap::Error> {
        Cli::try_parse_from(std::iter::once("stack").chain(args.iter().copied()))
            .map(|cli| cli.action)
    }

    #[test]
    fn parses_actions_and_options() {
        assert_eq!(
            parse(&["up"]).unwrap(),
            Options::Up {
                release: false,
                base_port: DEFAULT_BASE_PORT
            }
        );
        assert_eq!(
            parse(&["up", "--release", "--base-port", "20000"]).unwrap(),
            Options::Up {
                release: true,
                base_port: 20000
            }
        );
        assert_eq!(parse(&["down"]).unwrap(), Options::Down);
        assert_eq!(
            parse(&["up", "--help"]).unwrap_err().kind(),
            clap::error::ErrorKind::DisplayHelp
        );
        assert!(parse(&[]).is_err());
        assert!(parse(&["sideways"]).is_err());
        assert!(parse(&["up", "--base-port", "80"]).is_err());
        assert!(parse(&["up", "--base-port", "65530"]).is_err());
        assert!(parse(&["down", "--release"]).is_err());
    }

    #[test]
    fn ports_are_distinct_and_within_the_span() {
        let ports = Ports { base: 20000 };
        let mut all = ports.all();
        all.sort_unstable();
        let count = all.len();
        all.dedup();
        assert_eq!(all.len(), count);
        assert!(
            all.iter()
                .all(|port| (20000..20000 + Ports::SPAN).contains(port))
        );
    }

    #[test]
    fn state_entries_round_trip() {
        for entry in [
            Entry::Process {
                name: "spoke-1".into(),
                pid: 42,
                started: 123_456,
            },
            Entry::Postgres {
                ctl: PathBuf::from("/t/spoke stack/postgres/primary-ctl"),
            },
        ] {
            assert_eq!(Entry::parse(&entry.line()), Some(entry));
        }
        assert_eq!(Entry::parse("garbage"), None);
        assert_eq!(Entry::parse("process spoke-1 42 not-a-time"), None);
    }

    #[test]
    fn spoke_env_leaves_locations_to_the_stack() {
        let vars = read_spoke_env().unwrap();
        assert!(vars.iter().all(|(key, _)| key.starts_with("SPOKE_")));
        // Only listener defaults may be in it among the location variables;
        // the stack overrides them.
        for (key, _) in &vars {
            assert!(
                !LOCATION_VARS.contains(&key.as_str())
                    || [
                        "SPOKE_HOST",
                        "SPOKE_PORT",
                        "SPOKE_HEALTH_PORT",
                        "SPOKE_FILESYSTEM_ROOT",
                        "SPOKE_OTEL_ENABLED"
                    ]
                    .contains(&key.as_str()),
                "{key} says where a dependency is; it belongs in x-spoke-endpoints"
            );
        }
        let postgres = Postgres {
            primary: postgres_url(1),
            replica: postgres_url(2),
        };
        let env = server_env(
            &vars,
            Ports { base: 20000 },
            &postgres,
            1,
            Path::new("/s"),
            None,
        );
        let value = |key: &str| {
            let matches: Vec<&String> = env
                .iter()
                .filter(|(k, _)| k == key)
                .map(|(_, v)| v)
                .collect();
            assert_eq!(matches.len(), 1, "{key} set {} times", matches.len());
            matches[0].clone()
        };
        assert_eq!(value("SPOKE_PORT"), "20011");
        assert_eq!(value("SPOKE_HEALTH_PORT"), "20021");
        assert_eq!(value("SPOKE_FILESYSTEM_ROOT"), "/s/spoke-2-data");
        assert_eq!(value("SPOKE_HOST"), "127.0.0.1");
        assert_eq!(
            value("SPOKE_REDIS_URL"),
            "redis://spoke@127.0.0.1:20042,127.0.0.1:20043,127.0.0.1:20044/master/spoke"
        );
        assert_eq!(
            value("SPOKE_STORAGE_TYPE"),
            spoke_env_value(&vars, "SPOKE_STORAGE_TYPE").unwrap()
        );
        assert!(parse_env_file("NOT A LINE").is_err());
        assert!(parse_env_file("BAD-NAME=1").is_err());
    }

    #[test]
    fn redis_templates_are_filled_in() {
        for (file, master) in [
            ("compose/redis/redis.conf.template", None),
            ("compose/redis/sentinel.conf.template", Some(20040)),
        ] {
            let conf = render_redis(
                &read_deploy_file(file).unwrap(),
                20042,
                Path::new("/d"),
                master,
            )
            .unwrap();
            assert!(conf.contains("port 20042\n"), "{conf}");
            assert!(
                conf.contains(&format!("requirepass {REDIS_PASSWORD}\n")),
                "{conf}"
            );
            assert_eq!(placeholder_in(&conf), None);
        }
        let sentinel = render_redis(
            &read_deploy_file("compose/redis/sentinel.conf.template").unwrap(),
            1,
            Path::new("/d"),
            Some(20040),
        )
        .unwrap();
        assert!(sentinel.contains(&format!(
            "sentinel monitor {REDIS_MASTER_NAME} 127.0.0.1 20040 2"
        )));
        assert!(render_redis("port @PORT@ @UNKNOWN@", 1, Path::new("/d"), None).is_err());
        assert_eq!(placeholder_in("a@b.c @X_Y@"), Some("@X_Y@"));
    }

    #[test]
    fn nginx_config_points_at_the_stack() {
        let ports = Ports { base: 20000 };
        let conf = render_nginx(
            &read_deploy_file("nginx/nginx.conf").unwrap(),
            ports,
            Path::new("/p"),
        )
        .unwrap();
        for expected in [
            "listen 127.0.0.1:20000;",
            "listen 127.0.0.1:20001 http2;",
            "server 127.0.0.1:20010 ",
            "server 127.0.0.1:20012 ",
            "pid /p/nginx.pid;",
        ] {
            assert!(conf.contains(expected), "{expected} missing");
        }
        assert!(!conf.contains("spoke-1:"));
        assert!(!conf.contains("/tmp/nginx"));
        assert!(render_nginx("listen 8080;", ports, Path::new("/p")).is_err());
    }

    /// `nginx -t` on the stack's rendering of deploy/nginx/nginx.conf:
    /// every directive valid in the nginx the stack runs. Skipped without
    /// nginx unless SPOKE_TEST_REQUIRE_PROTOC is set (`cargo xtask test`
    /// installs it).
    #[test]
    fn nginx_accepts_the_deploy_config() {
        let Some(nginx) = cmd::find_tool("nginx") else {
            assert!(
                std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
                "nginx is not installed (apt-get install nginx)"
            );
            eprintln!("skipped: nginx is not installed");
            return;
        };
        let prefix = cmd::TempDir::new("xtask-stack-nginx").unwrap();
        let conf = prefix.path().join("nginx.conf");
        let text = render_nginx(
            &read_deploy_file("nginx/nginx.conf").unwrap(),
            Ports { base: 20000 },
            prefix.path(),
        )
        .unwrap();
        std::fs::write(&conf, text).unwrap();
        nginx::check(
            &nginx,
            prefix.path(),
            &conf,
            &prefix.path().join("error.log"),
        )
        .unwrap();
    }

    /// Stops the stack in `dir` when the test ends, passed or not.
    struct StackGuard(PathBuf);

    impl Drop for StackGuard {
        fn drop(&mut self) {
            let _ = down(&self.0);
        }
    }

    const PUSH: &str = r#"{"version":"v1.0.0","files":[{"path":"acme/v1/a.proto","content":"syntax = \"proto3\";\npackage acme.v1;\nmessage A { string id = 1; }\n"}],"dependencies":[]}"#;

    /// Issue 8's acceptance with the stack up: pushes and reads through
    /// nginx while one server instance is SIGKILLed and then the Redis
    /// master is: nginx retries, Sentinel fails over, no request fails.
    /// Builds the debug server and starts everything (half a minute; root
    /// or the postgres user for PostgreSQL), so it runs where the suite's
    /// tools are required to be present (`cargo xtask test` sets
    /// `SPOKE_TEST_REQUIRE_PROTOC`) and skips with a note elsewhere.
    #[test]
    fn stack_rides_out_a_dead_instance_and_a_redis_failover() {
        if std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none() {
            eprintln!("skipped: starts the whole stack; runs under `cargo xtask test`");
            return;
        }
        let dir = cmd::target_dir().unwrap().join("spoke-stack-test");
        let ports = Ports { base: 23080 };
        let _guard = StackGuard(dir.clone());
        // Access control is on: writes go with the bootstrap token.
        let admin = "stack-test-bootstrap-0123456789abcdef";
        up(&dir, false, ports, Some(admin)).unwrap();
        let nginx = ports.nginx_http();
        let create = r#"{"name":"acme","description":"stack test"}"#;
        assert_eq!(http_status(nginx, "POST", "/modules", create), Some(401));
        let as_admin = |method, path, body| http_status_as(nginx, method, path, body, Some(admin));
        assert_eq!(as_admin("POST", "/modules", create), Some(201));
        assert_eq!(as_admin("POST", "/modules/acme/versions", PUSH), Some(201));

        let pid_of = |name: &str| {
            read_state(&dir)
                .unwrap()
                .into_iter()
                .find_map(|entry| match entry {
                    Entry::Process { name: n, pid, .. } if n == name => Some(pid),
                    _ => None,
                })
                .unwrap()
        };
        let load = std::thread::spawn(move || {
            let mut failures = Vec::new();
            for round in 0..600 {
                // Idempotent re-pushes (retried by nginx even once sent) and reads.
                let (method, path, body) = if round % 3 == 0 {
                    ("POST", "/modules/acme/versions", PUSH)
                } else {
                    (
                        "GET",
                        "/modules/acme/versions/v1.0.0/files/acme/v1/a.proto",
                        "",
                    )
                };
                match http_status_as(nginx, method, path, body, Some(admin)) {
                    Some(200 | 201) => {}
                    other => failures.push(format!("{method} {path}: {other:?}")),
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            failures
        });
        std::thread::sleep(Duration::from_secs(1));
        kill_9(pid_of("spoke-2"));
        std::thread::sleep(Duration::from_secs(2));
        kill_9(pid_of("redis-master"));
        let failures = load.join().unwrap();
        assert!(
            failures.is_empty(),
            "{} failed: {failures:?}",
            failures.len()
        );

        // Sentinel promoted the replica, and the servers use it again.
        let cli = cmd::find_tool("redis-cli").unwrap();
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let master = redis_cli(
                &cli,
                ports.sentinel(0),
                &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", REDIS_MASTER_NAME],
            );
            if master.as_deref() == Some(&*format!("127.0.0.1\n{}", ports.redis_replica())) {
                break;
            }
            assert!(Instant::now() < deadline, "no failover: {master:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn kill_9(pid: u32) {
        let status = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        assert!(status.unwrap().success());
    }
}
