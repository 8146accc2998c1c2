//! Who sent a request: the [`ClientKey`] that per-client accounting (rate
//! limits) uses. An authentication layer in front sets the principal; for
//! requests without one, [`ClientKeyLayer`] sets the client's address: the
//! peer's, or, when the peer is a trusted proxy, the one `X-Forwarded-For`
//! names. And whether the client reached the server over TLS
//! ([`MarkOverTls`]), which the URLs the server hands out and the web UI's
//! cookies follow.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request};
use axum::response::Response;
use ipnet::IpNet;
use tower::{Layer, Service};

use crate::api::Hook;

/// The client a request is accounted to, as a request extension.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An authenticated principal, set by an authentication layer that runs
    /// before [`ClientKeyLayer`].
    Principal(String),
    /// The client's address, for requests without a principal.
    Address(IpAddr),
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientKey::Principal(name) => write!(f, "principal {name}"),
            ClientKey::Address(ip) => write!(f, "address {ip}"),
        }
    }
}

/// Sets [`ClientKey::Address`] on requests that have no [`ClientKey`] yet.
#[derive(Clone)]
pub(crate) struct ClientKeyLayer {
    trusted_proxies: Arc<[IpNet]>,
}

impl ClientKeyLayer {
    pub(crate) fn new(trusted_proxies: &[IpNet]) -> ClientKeyLayer {
        ClientKeyLayer {
            trusted_proxies: trusted_proxies.into(),
        }
    }
}

impl<S> Layer<S> for ClientKeyLayer {
    type Service = ClientKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientKeyService {
            inner,
            trusted_proxies: Arc::clone(&self.trusted_proxies),
        }
    }
}

#[derive(Clone)]
pub(crate) struct ClientKeyService<S> {
    inner: S,
    trusted_proxies: Arc<[IpNet]>,
}

impl<S, B> Service<Request<B>> for ClientKeyService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if request.extensions().get::<ClientKey>().is_none() {
            let peer = request
                .extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|ConnectInfo(addr)| addr.ip());
            if let Some(peer) = peer {
                let client = client_address(peer, request.headers(), &self.trusted_proxies);
                request.extensions_mut().insert(ClientKey::Address(client));
            }
        }
        self.inner.call(request)
    }
}

/// The client's address, as nginx's `real_ip_recursive on` finds it: the
/// peer, unless it is a trusted proxy; then `X-Forwarded-For` from the
/// right, skipping trusted proxies, up to the first address that is not one.
/// An entry that is not an address ends the walk at the last proxy before
/// it; a chain of trusted proxies only ends at its leftmost entry.
fn client_address(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| is_trusted(ip, trusted_proxies);
    // A dual-stack listener sees IPv4 peers as `::ffff:a.b.c.d`.
    let mut client = peer.to_canonical();
    if !trusted(&client) {
        return client;
    }
    // Several headers are one list, in order (RFC 9110 §5.3).
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|value| {
            let text = value.to_str().unwrap_or("");
            text.rsplit(',').map(str::trim)
        })
        .filter(|hop| !hop.is_empty());
    for hop in hops {
        let Some(hop) = parse_hop(hop) else { break };
        client = hop;
        if !trusted(&client) {
            break;
        }
    }
    client
}

fn is_trusted(ip: &IpAddr, trusted_proxies: &[IpNet]) -> bool {
    trusted_proxies.iter().any(|net| net.contains(ip))
}

/// Whether the client reached the server over TLS. A trusted proxy's
/// `X-Forwarded-Proto` decides when its rightmost entry (what the nearest
/// proxy reports) is `https` or `http`: that is how the proxy's client came,
/// whatever the hop from the proxy is. Otherwise the connection's own: TLS
/// when the server terminates it. From any other peer the header is
/// ignored, as `X-Forwarded-For` is.
fn over_tls(
    server_tls: bool,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpNet],
) -> bool {
    peer.map(|ip| ip.to_canonical())
        .filter(|peer| is_trusted(peer, trusted_proxies))
        .and_then(|_| forwarded_https(headers))
        .unwrap_or(server_tls)
}

/// The last `X-Forwarded-Proto` entry: `Some(true)` for `https`,
/// `Some(false)` for `http`, `None` for anything else or none.
fn forwarded_https(headers: &HeaderMap) -> Option<bool> {
    let value = headers.get_all("x-forwarded-proto").iter().next_back()?;
    let scheme = value.to_str().ok()?.rsplit(',').next()?.trim();
    if scheme.eq_ignore_ascii_case("https") {
        Some(true)
    } else if scheme.eq_ignore_ascii_case("http") {
        Some(false)
    } else {
        None
    }
}

/// Marks every request whose client reached the server over TLS with
/// [`spoke_rest::OverTls`] (see [`over_tls`]): the one place REST, its Cargo
/// registry and the web UI learn the client's scheme.
#[derive(Clone)]
pub(crate) struct MarkOverTls {
    server_tls: bool,
    trusted_proxies: Arc<[IpNet]>,
}

impl MarkOverTls {
    pub(crate) fn new(server_tls: bool, trusted_proxies: &[IpNet]) -> MarkOverTls {
        MarkOverTls {
            server_tls,
            trusted_proxies: trusted_proxies.into(),
        }
    }
}

impl Hook for MarkOverTls {
    type Memo = ();

    fn before(&self, request: &mut Request<Body>) {
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        if over_tls(
            self.server_tls,
            peer,
            request.headers(),
            &self.trusted_proxies,
        ) {
            request.extensions_mut().insert(spoke_rest::OverTls);
        }
    }

    fn after(&self, (): (), response: Response) -> Response {
        response
    }
}

/// An `X-Forwarded-For` entry: an address, or (as some load balancers
/// write it) an address with a port.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|addr| addr.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn resolve(peer: &str, forwarded_for: &[&str], trusted: &[&str]) -> IpAddr {
        let mut headers = HeaderMap::new();
        for value in forwarded_for {
            headers.append("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        }
        let trusted: Vec<IpNet> = trusted.iter().map(|net| net.parse().unwrap()).collect();
        client_address(ip(peer), &headers, &trusted)
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(
            resolve("203.0.113.7", &["198.51.100.1"], &[]),
            ip("203.0.113.7")
        );
        assert_eq!(
            resolve("203.0.113.7", &["198.51.100.1"], &["10.0.0.0/8"]),
            ip("203.0.113.7")
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_address_is_the_client() {
        let trusted = ["10.0.0.0/8", "192.168.0.1/32"];
        // The client's own claim (the leftmost entry) is not believed.
        assert_eq!(
            resolve(
                "10.0.0.2",
                &["6.6.6.6, 198.51.100.1, 192.168.0.1"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Several headers are one list.
        assert_eq!(
            resolve(
                "10.0.0.2",
                &["6.6.6.6", "198.51.100.1", "10.1.1.1"],
                &trusted
            ),
            ip("198.51.100.1")
        );
        // Only trusted proxies: the leftmost is as far as the chain goes.
        assert_eq!(
            resolve("10.0.0.2", &["10.0.0.9, 10.0.0.8"], &trusted),
            ip("10.0.0.9")
        );
        // No header: the proxy itself.
        assert_eq!(resolve("10.0.0.2", &[], &trusted), ip("10.0.0.2"));
    }

    #[test]
    fn a_trusted_proxys_word_or_the_servers_own_tls_is_over_tls() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let proto = |values: &[&str]| {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append("x-forwarded-proto", HeaderValue::from_str(value).unwrap());
            }
            headers
        };
        let proxy = Some(ip("10.0.0.2"));
        let outsider = Some(ip("203.0.113.7"));
        assert!(over_tls(true, outsider, &proto(&[]), &trusted));
        assert!(over_tls(false, proxy, &proto(&["https"]), &trusted));
        assert!(over_tls(false, proxy, &proto(&["HTTPS"]), &trusted));
        // A dual-stack listener's view of the same proxy.
        assert!(over_tls(
            false,
            Some(ip("::ffff:10.0.0.2")),
            &proto(&["https"]),
            &trusted
        ));
        // The nearest proxy's entry counts.
        assert!(!over_tls(false, proxy, &proto(&["https, http"]), &trusted));
        assert!(over_tls(false, proxy, &proto(&["http", "https"]), &trusted));
        assert!(!over_tls(false, proxy, &proto(&["http"]), &trusted));
        assert!(!over_tls(false, proxy, &proto(&[]), &trusted));
        // A proxy whose client came over plain HTTP, in front of the
        // server's own TLS: its word wins; a word it does not know does not.
        assert!(!over_tls(true, proxy, &proto(&["http"]), &trusted));
        assert!(over_tls(true, proxy, &proto(&["gopher"]), &trusted));
        assert!(over_tls(true, outsider, &proto(&["http"]), &trusted));
        // Anyone else's claim is not believed.
        assert!(!over_tls(false, outsider, &proto(&["https"]), &trusted));
        assert!(!over_tls(false, None, &proto(&["https"]), &trusted));
    }

    #[test]
    fn forwarded_entries_with_ports_or_garbage() {
        let trusted = ["10.0.0.0/8"];
        assert_eq!(
            resolve("10.0.0.2", &["198.51.100.1:4711"], &trusted),
            ip("198.51.100.1")
        );
        assert_eq!(
            resolve("10.0.0.2", &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        // A garbage entry ends the walk at the last proxy before it.
        assert_eq!(
            resolve("10.0.0.2", &["198.51.100.1, unknown, 10.0.0.3"], &trusted),
            ip("10.0.0.3")
        );
        assert_eq!(
            resolve("10.0.0.2", &["not-an-ip"], &trusted),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_blocks() {
        assert_eq!(
            resolve("::ffff:10.0.0.2", &["198.51.100.1"], &["10.0.0.0/8"]),
            ip("198.51.100.1")
        );
        assert_eq!(resolve("::ffff:203.0.113.7", &[], &[]), ip("203.0.113.7"));
    }
}
