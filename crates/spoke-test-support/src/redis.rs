//! Real redis-server processes for the cache tests, killed on drop: one
//! standalone server ([`Redis`]), or any topology built from
//! [`RedisProcess`]es (a cluster, a sentinel group).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use spoke_cache::{L2Settings, Node, Topology};

/// The `redis-server` binary, or `None` (with a note) when it is not
/// installed and the test tools are not required.
pub fn redis_server() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("redis-server"))
            .find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
            "redis-server is not installed, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
        );
        eprintln!("note: skipping, redis-server is not installed");
    }
    found
}

/// A port nothing listens on (at the time of asking).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Whether a Redis answers PING on `port`.
pub fn answers_ping(port: u16) -> bool {
    let Ok(mut stream) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
    else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0; 5];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG"
}

/// One redis-server child process with its own directory.
pub struct RedisProcess {
    binary: PathBuf,
    pub port: u16,
    extra: Vec<String>,
    /// Lines appended to the generated config file.
    conf: String,
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl RedisProcess {
    /// Starts `redis-server` on a free port with `extra` arguments
    /// (e.g. `["--sentinel"]` or `["--cluster-enabled", "yes"]`).
    pub fn start(binary: &Path, extra: &[&str]) -> Self {
        Self::start_with_conf(binary, "", extra)
    }

    /// Like [`start`](Self::start), with `conf` appended to the config file
    /// (e.g. `sentinel monitor …` lines, which have no command-line form).
    pub fn start_with_conf(binary: &Path, conf: &str, extra: &[&str]) -> Self {
        let mut process = Self {
            binary: binary.to_path_buf(),
            port: free_port(),
            extra: extra.iter().map(ToString::to_string).collect(),
            conf: conf.to_owned(),
            dir: tempfile::tempdir().unwrap(),
            child: None,
        };
        process.spawn();
        process
    }

    fn spawn(&mut self) {
        // A config file, because `--sentinel` needs a writable one.
        let config = self.dir.path().join("redis.conf");
        std::fs::write(
            &config,
            format!(
                "port {}\nbind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\n{}",
                self.port,
                self.dir.path().display(),
                self.conf
            ),
        )
        .unwrap();
        let child = Command::new(&self.binary)
            .arg(&config)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        wait_for(Duration::from_secs(10), || answers_ping(self.port));
    }

    /// Runs `redis-cli` against this server and returns its output.
    pub fn cli(&self, args: &[&str]) -> String {
        let output = Command::new("redis-cli")
            .args(["-p", &self.port.to_string()])
            .args(args)
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `done` every 20 ms until it holds; panics after `limit`.
pub fn wait_for(limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Async `wait_for` whose condition may talk to the cache.
pub async fn eventually<F, Fut>(limit: Duration, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !done().await {
        assert!(
            start.elapsed() < limit,
            "condition not met within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Three cluster-enabled masters joined into one cluster.
pub fn start_cluster(binary: &Path) -> Vec<RedisProcess> {
    let nodes: Vec<RedisProcess> = (0..3)
        .map(|_| RedisProcess::start(binary, &["--cluster-enabled", "yes"]))
        .collect();
    let mut create = vec!["--cluster".to_owned(), "create".to_owned()];
    create.extend(nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)));
    create.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
    let status = Command::new("redis-cli")
        .args(&create)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "redis-cli --cluster create failed");
    wait_for(Duration::from_secs(20), || {
        nodes
            .iter()
            .all(|n| n.cli(&["cluster", "info"]).contains("cluster_state:ok"))
    });
    nodes
}

/// The master name the sentinels of [`start_sentinels`] monitor.
pub const SENTINEL_MASTER: &str = "spoke";

/// A master, its replica and three sentinels watching them (quorum 2).
pub struct SentinelGroup {
    pub master: RedisProcess,
    pub replica: RedisProcess,
    pub sentinels: Vec<RedisProcess>,
}

impl SentinelGroup {
    /// The port sentinel `index` currently names as the master's.
    pub fn master_port_seen_by(&self, index: usize) -> Option<u16> {
        let reply =
            self.sentinels[index].cli(&["sentinel", "get-master-addr-by-name", SENTINEL_MASTER]);
        reply.lines().nth(1)?.trim().parse().ok()
    }
}

/// Starts a master, a replica of it, and three sentinels with short timeouts
/// (SDOWN after 500 ms, failover timeout 2 s); returns once the replica is in
/// sync and every sentinel knows the replica and the two other sentinels, so
/// that a failover can happen right away.
pub fn start_sentinels(binary: &Path) -> SentinelGroup {
    let master = RedisProcess::start(binary, &[]);
    let master_port = master.port.to_string();
    let replica = RedisProcess::start(binary, &["--replicaof", "127.0.0.1", &master_port]);
    wait_for(Duration::from_secs(10), || {
        replica
            .cli(&["info", "replication"])
            .contains("master_link_status:up")
    });
    let conf = format!(
        "sentinel monitor {SENTINEL_MASTER} 127.0.0.1 {master_port} 2\n\
         sentinel down-after-milliseconds {SENTINEL_MASTER} 500\n\
         sentinel failover-timeout {SENTINEL_MASTER} 2000\n\
         sentinel parallel-syncs {SENTINEL_MASTER} 1\n\
         sentinel announce-ip 127.0.0.1\n"
    );
    let sentinels: Vec<RedisProcess> = (0..3)
        .map(|_| RedisProcess::start_with_conf(binary, &conf, &["--sentinel"]))
        .collect();
    wait_for(Duration::from_secs(20), || {
        sentinels.iter().all(|sentinel| {
            let reply = sentinel.cli(&["sentinel", "master", SENTINEL_MASTER]);
            field(&reply, "num-slaves") == Some("1")
                && field(&reply, "num-other-sentinels") == Some("2")
                && field(&reply, "flags") == Some("master")
        })
    });
    SentinelGroup {
        master,
        replica,
        sentinels,
    }
}

/// The value after the line `name` in a redis-cli field/value listing.
fn field<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = reply.lines().map(str::trim);
    lines.by_ref().find(|line| *line == name)?;
    lines.next()
}

/// One standalone redis-server on a free port, without persistence: the
/// L2 cache of the registry's and the server's tests.
pub struct Redis {
    pub port: u16,
    process: RedisProcess,
}

impl Redis {
    /// Starts one, or returns `None` (with a note) when redis-server is not
    /// installed and the test tools are not required.
    pub fn start() -> Option<Redis> {
        let process = RedisProcess::start(&redis_server()?, &[]);
        Some(Redis {
            port: process.port,
            process,
        })
    }

    pub fn kill(&mut self) {
        self.process.kill();
    }

    /// Starts again on the same port, empty.
    pub fn restart(&mut self) {
        self.process.restart();
    }

    /// L2 settings naming this server.
    pub fn settings(&self) -> L2Settings {
        L2Settings::new(Topology::Standalone {
            node: Node::new("127.0.0.1", self.port),
        })
    }
}
