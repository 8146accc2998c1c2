//! An own redis-server process for cache tests, killed on drop. (Also used
//! by spoke-server's tests through `#[path]`.)

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use spoke_cache::{L2Settings, Node, Topology};

/// One redis-server on a free port, without persistence.
pub struct Redis {
    binary: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Starts one, or returns `None` (with a note) when redis-server is not
    /// installed and the test tools are not required.
    pub fn start() -> Option<Redis> {
        let binary = std::env::var_os("PATH").and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("redis-server"))
                .find(|path| path.is_file())
        });
        let Some(binary) = binary else {
            assert!(
                std::env::var_os("SPOKE_TEST_REQUIRE_PROTOC").is_none(),
                "redis-server is not installed, and SPOKE_TEST_REQUIRE_PROTOC says test tools must be there"
            );
            eprintln!("note: skipping, redis-server is not installed");
            return None;
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut redis = Redis {
            binary,
            port,
            child: None,
        };
        redis.spawn();
        Some(redis)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.child = Some(child);
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "redis-server did not start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
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

    pub fn settings(&self) -> L2Settings {
        L2Settings::new(Topology::Standalone {
            node: Node::new("127.0.0.1", self.port),
        })
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Polls `done` every 20 ms until it holds; panics after `limit`.
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
