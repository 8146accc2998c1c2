//! The three forms of `SPOKE_REDIS_URL`: standalone, Sentinel and Cluster.

use std::fmt;

pub use spoke_cache::Node as RedisNode;
use spoke_cache::Topology;

use super::Secret;
use super::values::valid_host;

/// What `SPOKE_REDIS_URL` expects, for error messages.
pub(super) const REDIS_URL_FORM: &str = "a Redis URL in one of three forms: \
    redis://host:6379/0 (standalone), \
    redis://name@s1:26379,s2:26379,s3:26379/master/name (Sentinel) or \
    redis://n1:7000,n2:7000,n3:7000 (Cluster); rediss:// for TLS";

/// A parsed `SPOKE_REDIS_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// `rediss://`: connect with TLS.
    pub tls: bool,
    /// A Redis 6 ACL user name from `user:password@` (standalone and Cluster).
    pub username: Option<String>,
    /// A password from `[user]:password@` (standalone and Cluster). When
    /// absent, `SPOKE_REDIS_PASSWORD` applies.
    pub password: Option<Secret>,
    pub topology: RedisTopology,
}

/// Which kind of Redis deployment the URL names: the cache's [`Topology`]
/// plus the database a standalone URL may carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisTopology {
    /// One server: `redis://host[:6379][/db]`.
    Standalone { node: RedisNode, db: Option<u32> },
    /// Sentinels that know the master named `master`:
    /// `redis://[master@]s1[:26379],s2,…/master/master`.
    Sentinel {
        master: String,
        sentinels: Vec<RedisNode>,
    },
    /// Seed nodes of a Redis Cluster: `redis://n1[:6379],n2,…`.
    Cluster { nodes: Vec<RedisNode> },
}

impl RedisTopology {
    /// The topology the cache connects to (the database is set apart).
    pub fn to_l2(&self) -> Topology {
        match self {
            RedisTopology::Standalone { node, .. } => Topology::Standalone { node: node.clone() },
            RedisTopology::Sentinel { master, sentinels } => Topology::Sentinel {
                master: master.clone(),
                sentinels: sentinels.clone(),
            },
            RedisTopology::Cluster { nodes } => Topology::Cluster {
                nodes: nodes.clone(),
            },
        }
    }
}

/// `host:port`, as in the URL.
fn node_text(node: &RedisNode) -> String {
    format!("{}:{}", node.host, node.port)
}

impl fmt::Debug for RedisUrl {
    // By hand so that a password in the URL never reaches a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisUrl")
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("topology", &self.topology)
            .finish()
    }
}

impl RedisUrl {
    /// Parses one of the three forms; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<RedisUrl, String> {
        let (tls, rest) = if let Some(rest) = raw.strip_prefix("redis://") {
            (false, rest)
        } else if let Some(rest) = raw.strip_prefix("rediss://") {
            (true, rest)
        } else {
            return Err("the scheme must be redis:// or rediss://".into());
        };
        if rest.contains(['?', '#']) {
            return Err("query parameters and fragments are not supported".into());
        }
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, ""),
        };
        // The last '@' ends the user part: a password may itself contain '@'.
        let (userinfo, hosts) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        if hosts.is_empty() {
            return Err("no host".into());
        }

        if let Some(master) = path.strip_prefix("/master/") {
            if master.is_empty() || master.contains('/') {
                return Err("the Sentinel form ends in /master/<name>".into());
            }
            if userinfo.is_some_and(|info| info.contains(':')) {
                return Err(
                    "the Sentinel form takes no password in the URL; put it in SPOKE_REDIS_PASSWORD"
                        .into(),
                );
            }
            if let Some(name) = userinfo
                && name != master
            {
                return Err(format!(
                    "in the Sentinel form the name before @ ({name:?}) must be the master name after /master/ ({master:?})"
                ));
            }
            let sentinels = parse_nodes(hosts, 26379)?;
            return Ok(RedisUrl {
                tls,
                username: None,
                password: None,
                topology: RedisTopology::Sentinel {
                    master: master.to_owned(),
                    sentinels,
                },
            });
        }

        let db = match path {
            "" | "/" => None,
            _ => {
                let digits = &path[1..];
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!(
                        "the path {path:?} must be a database number such as /0, or /master/<name> for Sentinel"
                    ));
                }
                Some(
                    digits
                        .parse::<u32>()
                        .map_err(|_| format!("database number {digits} is too large"))?,
                )
            }
        };
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => match info.split_once(':') {
                Some((user, password)) => (
                    (!user.is_empty()).then(|| user.to_owned()),
                    Some(Secret::new(password)),
                ),
                None => ((!info.is_empty()).then(|| info.to_owned()), None),
            },
        };
        let mut nodes = parse_nodes(hosts, 6379)?;
        let topology = if nodes.len() == 1 {
            let node = nodes.remove(0);
            RedisTopology::Standalone { node, db }
        } else {
            if db.is_some_and(|db| db != 0) {
                return Err("Redis Cluster has only database 0".into());
            }
            RedisTopology::Cluster { nodes }
        };
        Ok(RedisUrl {
            tls,
            username,
            password,
            topology,
        })
    }

    /// The database the URL names, for the standalone form.
    pub fn db(&self) -> Option<u32> {
        match &self.topology {
            RedisTopology::Standalone { db, .. } => *db,
            _ => None,
        }
    }

    /// A loggable description without credentials.
    pub fn redacted(&self) -> String {
        let scheme = if self.tls { "rediss" } else { "redis" };
        let join = |nodes: &[RedisNode]| nodes.iter().map(node_text).collect::<Vec<_>>().join(",");
        let user = match (&self.username, &self.password) {
            (None, None) => String::new(),
            (Some(u), None) => format!("{u}@"),
            (Some(u), Some(_)) => format!("{u}:***@"),
            (None, Some(_)) => ":***@".to_owned(),
        };
        match &self.topology {
            RedisTopology::Standalone { node, db } => match db {
                Some(db) => format!("{scheme}://{user}{}/{db}", node_text(node)),
                None => format!("{scheme}://{user}{}", node_text(node)),
            },
            RedisTopology::Sentinel { master, sentinels } => {
                format!("{scheme}://{master}@{}/master/{master}", join(sentinels))
            }
            RedisTopology::Cluster { nodes } => format!("{scheme}://{user}{}", join(nodes)),
        }
    }
}

/// Masks the password of a URL's `user:password@` part for error messages.
pub(super) fn mask_password(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_owned();
    };
    let start = scheme_end + 3;
    let authority_end = raw[start..].find('/').map_or(raw.len(), |i| start + i);
    let authority = &raw[start..authority_end];
    match authority.rfind('@') {
        Some(at) => match authority[..at].find(':') {
            Some(colon) => format!(
                "{}{}:***{}",
                &raw[..start],
                &authority[..colon],
                &raw[start + at..]
            ),
            None => raw.to_owned(),
        },
        None => raw.to_owned(),
    }
}

fn parse_nodes(hosts: &str, default_port: u16) -> Result<Vec<RedisNode>, String> {
    hosts
        .split(',')
        .map(|node| parse_node(node, default_port))
        .collect()
}

fn parse_node(node: &str, default_port: u16) -> Result<RedisNode, String> {
    let bad = || format!("{node:?} is not a host[:port]");
    let (host, port) = if node.starts_with('[') {
        // [v6]:port or [v6]
        let end = node.find(']').ok_or_else(bad)?;
        let (host, rest) = node.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(port) => (host, Some(port)),
            None if rest.is_empty() => (host, None),
            None => return Err(bad()),
        }
    } else {
        match node.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (node, None),
        }
    };
    if !valid_host(host) {
        return Err(bad());
    }
    let port = match port {
        None => default_port,
        Some(p) => super::values::port(p).filter(|p| *p != 0).ok_or_else(bad)?,
    };
    Ok(RedisNode::new(host, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(host: &str, port: u16) -> RedisNode {
        RedisNode {
            host: host.into(),
            port,
        }
    }

    #[test]
    fn masks_passwords() {
        assert_eq!(
            mask_password("redis://u:secret@h:1/0"),
            "redis://u:***@h:1/0"
        );
        assert_eq!(mask_password("redis://:p@ss@h"), "redis://:***@h");
        assert_eq!(mask_password("redis://h:1/0"), "redis://h:1/0");
    }

    #[test]
    fn standalone_with_credentials_and_ipv6() {
        let url = RedisUrl::parse("rediss://app:pw@[::1]:6380/3").unwrap();
        assert!(url.tls);
        assert_eq!(url.username.as_deref(), Some("app"));
        assert_eq!(url.password.as_ref().map(Secret::expose), Some("pw"));
        assert_eq!(
            url.topology,
            RedisTopology::Standalone {
                node: node("[::1]", 6380),
                db: Some(3)
            }
        );
        assert_eq!(url.redacted(), "rediss://app:***@[::1]:6380/3");
        assert!(!format!("{url:?}").contains("pw"));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "http://h:6379",
            "redis://",
            "redis://h:abc",
            "redis://h:6379/x",
            "redis://h:6379/0?timeout=1",
            "redis://a:1,b:2/5",
            "redis://other@s1:26379/master/name",
            "redis://s1:26379/master/",
            "redis://[::1:6379",
            "redis://u:pw@s1:26379/master/name",
        ] {
            assert!(RedisUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
