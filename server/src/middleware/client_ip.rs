//! The client's address: the TCP peer, or, when the peer is a trusted reverse proxy, the right-most
//! address in `X-Forwarded-For` (or `Forwarded`) that is not itself a trusted proxy. Throttles, the activity
//! log, "last used from" and IP allowlists all read the [`ClientIp`] recorded here.

use app::api::server_context::ClientIp;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::http::header::FORWARDED;
use axum::middleware::Next;
use axum::response::Response;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// The proxies whose forwarded-for headers are believed (`LATCHKEY_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<[IpNet]>);

impl TrustedProxies {
    /// Proxies in these networks.
    pub fn new(networks: &[IpNet]) -> Self {
        Self(networks.into())
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client behind a request that arrived from `peer` with `headers`.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = peer.to_canonical();
        if !self.trusts(peer) {
            return peer;
        }
        let hops = forwarded_for(headers);
        // Right to left: each trusted proxy vouches for the hop before it, up to the first that is not a
        // proxy of ours. An entry that does not parse ends the walk at the proxy that wrote it.
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop {
                Some(ip) if self.trusts(*ip) => client = *ip,
                Some(ip) => return *ip,
                None => return client,
            }
        }
        client
    }
}

/// The addresses a request's proxies reported, oldest first: `X-Forwarded-For` when present, else the
/// `for=` of `Forwarded` (RFC 7239). `None` for an entry that is not an address (`unknown`, an obfuscated
/// name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let xff: Vec<&str> = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok()).collect();
    if !xff.is_empty() {
        return xff.iter().flat_map(|value| value.split(',')).map(|entry| parse_node(entry.trim())).collect();
    }
    headers
        .get_all(FORWARDED)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|element| {
            let node = element.split(';').find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                name.trim().eq_ignore_ascii_case("for").then(|| value.trim().trim_matches('"'))
            });
            node.and_then(parse_node)
        })
        .collect()
}

/// An address as proxies write it: `203.0.113.7`, `203.0.113.7:4711`, `2001:db8::1` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(addr) = node.parse::<SocketAddr>() {
        return Some(addr.ip().to_canonical());
    }
    node.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')).and_then(|ip| ip.parse::<IpAddr>().ok())
}

/// Puts the client's address into the request's extensions as [`ClientIp`].
pub async fn record_client_ip(State(proxies): State<TrustedProxies>, mut request: Request, next: Next) -> Response {
    let peer = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
    let ip = peer.map(|peer| proxies.client(peer, request.headers()));
    request.extensions_mut().insert(ClientIp(ip));
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn proxies(list: &[&str]) -> TrustedProxies {
        let networks: Vec<IpNet> = list
            .iter()
            .map(|net| net.parse().or_else(|_| net.parse::<IpAddr>().map(IpNet::from)).expect("net"))
            .collect();
        TrustedProxies::new(&networks)
    }

    #[test]
    fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
        let spoofed = headers(&[("x-forwarded-for", "198.51.100.1"), ("forwarded", "for=198.51.100.2")]);
        assert_eq!(proxies(&[]).client(ip("203.0.113.7"), &spoofed), ip("203.0.113.7"));
        assert_eq!(proxies(&["10.0.0.0/8"]).client(ip("203.0.113.7"), &spoofed), ip("203.0.113.7"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_hop() {
        let trusted = proxies(&["10.0.0.0/8", "192.0.2.10"]);
        // The client put a fake address in front; the proxies appended what they saw.
        let chain = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.7, 192.0.2.10")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &chain), ip("203.0.113.7"));
        // Several header lines count as one list, in order.
        let split = headers(&[("x-forwarded-for", "1.1.1.1"), ("x-forwarded-for", "203.0.113.8:5555")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &split), ip("203.0.113.8"));
        // RFC 7239, with IPv6 in brackets and a port.
        let forwarded = headers(&[("forwarded", "for=1.1.1.1, for=\"[2001:db8::7]:4711\";proto=https, for=10.1.1.1")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &forwarded), ip("2001:db8::7"));
        // IPv4-mapped peers are their IPv4 address.
        assert_eq!(trusted.client(ip("::ffff:10.0.0.2"), &chain), ip("203.0.113.7"));
    }

    #[test]
    fn a_trusted_proxy_without_headers_or_with_garbage_is_the_client() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        let garbage = headers(&[("x-forwarded-for", "203.0.113.7, not-an-ip, 10.0.0.3")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &garbage), ip("10.0.0.3"));
        let unknown = headers(&[("forwarded", "for=unknown")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &unknown), ip("10.0.0.2"));
        // Every hop trusted: the first is as far as anyone can tell.
        let internal = headers(&[("x-forwarded-for", "10.9.9.9, 10.0.0.3")]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &internal), ip("10.9.9.9"));
    }
}
