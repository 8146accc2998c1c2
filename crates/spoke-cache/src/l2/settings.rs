//! Typed L2 settings; the server maps `SPOKE_REDIS_*` onto them.

use std::fmt;
use std::time::Duration;

use fred::types::config::{ClusterDiscoveryPolicy, Config, ReconnectPolicy, Server, ServerConfig};

/// One `host:port`. An IPv6 host may keep its brackets (`[::1]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub host: String,
    pub port: u16,
}

impl Node {
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
        }
    }

    fn server(&self) -> Server {
        let host = self.host.trim_start_matches('[').trim_end_matches(']');
        Server::new(host, self.port)
    }
}

/// The three deployment forms of docs/cache.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    Standalone {
        node: Node,
    },
    /// The master named `master`, found through any of `sentinels`. The
    /// password applies to the sentinels as well as to the data nodes.
    Sentinel {
        master: String,
        sentinels: Vec<Node>,
    },
    /// Seed nodes; the rest of the cluster is discovered. Database 0 only.
    Cluster {
        nodes: Vec<Node>,
    },
}

/// How to reach Redis and how hard to try.
#[derive(Clone, PartialEq, Eq)]
pub struct L2Settings {
    pub topology: Topology,
    /// A Redis 6 ACL user.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `SELECT`ed database (0–255; 0 for Cluster).
    pub db: u32,
    /// Connections used for commands (pub/sub has its own).
    pub pool_size: u32,
    /// Re-sends of a command whose connection dropped while it was in flight
    /// (still within `command_timeout`).
    pub max_retries: u32,
    /// Budget of one cache call, after which it reads as a miss / is dropped.
    pub command_timeout: Duration,
    /// Consecutive failures that open the breaker.
    pub breaker_threshold: u32,
    /// How long an open breaker refuses commands before one probe.
    pub breaker_cooldown: Duration,
}

impl L2Settings {
    /// Defaults of docs/configuration.md (`SPOKE_REDIS_POOL_SIZE` 10, `_MAX_RETRIES` 3,
    /// db 0), a 50 ms command timeout and a breaker that opens after 5
    /// failures for 5 s.
    pub fn new(topology: Topology) -> Self {
        Self {
            topology,
            username: None,
            password: None,
            db: 0,
            pool_size: 10,
            max_retries: 3,
            command_timeout: Duration::from_millis(50),
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(5),
        }
    }

    /// The pub/sub channel for invalidations. Channels are global to a Redis
    /// server, not per database, so the database is part of the name.
    pub(crate) fn invalidation_channel(&self) -> String {
        format!("spoke:cache:invalidate:{}", self.db)
    }

    pub(crate) fn fred_config(&self) -> Result<Config, L2Error> {
        let database = match (&self.topology, self.db) {
            (_, 0) => None,
            (Topology::Cluster { .. }, _) => return Err(L2Error::ClusterDatabase),
            (_, db) => Some(u8::try_from(db).map_err(|_| L2Error::Database(db))?),
        };
        let server = match &self.topology {
            Topology::Standalone { node } => ServerConfig::Centralized {
                server: node.server(),
            },
            Topology::Sentinel { master, sentinels } => ServerConfig::Sentinel {
                hosts: nonempty(sentinels)?.iter().map(Node::server).collect(),
                service_name: master.clone(),
            },
            Topology::Cluster { nodes } => ServerConfig::Clustered {
                hosts: nonempty(nodes)?.iter().map(Node::server).collect(),
                policy: ClusterDiscoveryPolicy::default(),
            },
        };
        Ok(Config {
            // Keep trying in the background when Redis is down at start.
            fail_fast: false,
            username: self.username.clone(),
            password: self.password.clone(),
            server,
            database,
            ..Config::default()
        })
    }

    /// Reconnect forever, quickly at first: the breaker, not the client,
    /// decides when the cache gives up on Redis.
    pub(crate) fn reconnect_policy() -> ReconnectPolicy {
        ReconnectPolicy::new_exponential(0, 50, 2_000, 2)
    }
}

fn nonempty(nodes: &[Node]) -> Result<&[Node], L2Error> {
    if nodes.is_empty() {
        Err(L2Error::NoNodes)
    } else {
        Ok(nodes)
    }
}

impl fmt::Debug for L2Settings {
    // By hand so that the password never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("L2Settings")
            .field("topology", &self.topology)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("db", &self.db)
            .field("pool_size", &self.pool_size)
            .field("max_retries", &self.max_retries)
            .field("command_timeout", &self.command_timeout)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .finish()
    }
}

/// Settings the L2 cannot work with. Redis being unreachable is not one of
/// them: the cache then starts degraded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum L2Error {
    ClusterDatabase,
    Database(u32),
    NoNodes,
    PoolSize,
    /// `L2Cache::connect` was called outside a Tokio runtime.
    NoRuntime,
    /// The Redis client refused its configuration.
    Client(String),
}

impl fmt::Display for L2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            L2Error::ClusterDatabase => f.write_str("Redis Cluster has only database 0"),
            L2Error::Database(db) => write!(f, "database {db} is out of range 0–255"),
            L2Error::NoNodes => f.write_str("no Redis nodes given"),
            L2Error::PoolSize => f.write_str("the Redis pool size must be at least 1"),
            L2Error::NoRuntime => f.write_str("the Redis cache needs a Tokio runtime"),
            L2Error::Client(message) => write!(f, "Redis client: {message}"),
        }
    }
}

impl std::error::Error for L2Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_impossible_settings() {
        let cluster = L2Settings {
            db: 1,
            ..L2Settings::new(Topology::Cluster {
                nodes: vec![Node::new("a", 7000)],
            })
        };
        assert_eq!(cluster.fred_config().err(), Some(L2Error::ClusterDatabase));
        let standalone = L2Settings {
            db: 300,
            ..L2Settings::new(Topology::Standalone {
                node: Node::new("[::1]", 6379),
            })
        };
        assert_eq!(standalone.fred_config().err(), Some(L2Error::Database(300)));
        let sentinel = L2Settings::new(Topology::Sentinel {
            master: "m".into(),
            sentinels: vec![],
        });
        assert_eq!(sentinel.fred_config().err(), Some(L2Error::NoNodes));
    }

    #[test]
    fn strips_ipv6_brackets_and_redacts() {
        assert_eq!(&*Node::new("[::1]", 1).server().host, "::1");
        let settings = L2Settings {
            password: Some("hunter2".into()),
            ..L2Settings::new(Topology::Standalone {
                node: Node::new("h", 1),
            })
        };
        assert!(!format!("{settings:?}").contains("hunter2"));
    }
}
