//! The client's address behind a reverse proxy.
//!
//! Behind nginx or Caddy every connection comes from the proxy, so the per-address login throttle,
//! the audit log and the access log would all see one address. With `--trusted-proxy`, a request
//! whose TCP peer is in a trusted range has its client address taken from `X-Forwarded-For` (or,
//! when that header is absent, `Forwarded`): the right-most hop that is not itself a trusted proxy,
//! since everything left of it was written by the untrusted client. A request from any other peer
//! keeps the peer's address, whatever headers it sends.

use std::net::{IpAddr, SocketAddr};

use axum::http::HeaderMap;
use ipnet::IpNet;

/// Parses one `--trusted-proxy` value: a CIDR range (`10.0.0.0/8`, `fd00::/8`) or one address.
pub fn parse_trusted(s: &str) -> Result<IpNet, String> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Ok(net.trunc());
    }
    s.parse::<IpAddr>()
        .map(IpNet::from)
        .map_err(|_| format!("{s:?} is neither an IP address nor a CIDR range such as 10.0.0.0/8"))
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// The client's address for a request whose TCP peer is `peer`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops = forwarded_hops(headers);
    let mut client = peer;
    for hop in hops.iter().rev() {
        // An address we cannot read ends the walk: the last address we trust stands.
        let Some(ip) = parse_node(hop) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip, trusted) {
            return ip;
        }
    }
    client
}

/// The hops a request passed, left (the client's claim) to right (the nearest proxy).
fn forwarded_hops(headers: &HeaderMap) -> Vec<String> {
    let xff: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .flat_map(|v| {
            v.split(',')
                .map(|h| h.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    headers
        .get_all("forwarded")
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .flat_map(|v| {
            v.split(',')
                .map(|element| {
                    element
                        .split(';')
                        .filter_map(|pair| pair.trim().split_once('='))
                        .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                        .map(|(_, v)| v.trim().to_string())
                        // An element without `for=` is a hop we cannot place.
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `::1`, `[::1]`, `[::1]:80`, quoted or not.
fn parse_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(ip.to_canonical());
    }
    if let Ok(sa) = node.parse::<SocketAddr>() {
        return Some(sa.ip().to_canonical());
    }
    node.strip_prefix('[')
        .and_then(|n| n.strip_suffix(']'))
        .and_then(|n| n.parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn trusted() -> Vec<IpNet> {
        vec![
            parse_trusted("127.0.0.1").unwrap(),
            parse_trusted("10.0.0.0/8").unwrap(),
        ]
    }

    #[test]
    fn headers_from_an_untrusted_peer_are_ignored() {
        let h = headers(&[("x-forwarded-for", "1.1.1.1"), ("forwarded", "for=2.2.2.2")]);
        assert_eq!(client_ip(ip("9.9.9.9"), &h, &trusted()), ip("9.9.9.9"));
        assert_eq!(client_ip(ip("9.9.9.9"), &h, &[]), ip("9.9.9.9"));
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        // The client claimed 6.6.6.6; the proxy appended the address it saw, 5.5.5.5.
        let h = headers(&[("x-forwarded-for", "6.6.6.6, 5.5.5.5, 10.1.2.3")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("5.5.5.5"));
        let h = headers(&[
            ("x-forwarded-for", "6.6.6.6"),
            ("x-forwarded-for", "5.5.5.5"),
        ]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("5.5.5.5"));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let h = headers(&[(
            "forwarded",
            "for=6.6.6.6, for=\"[2001:db8::17]:4711\";proto=https",
        )]);
        assert_eq!(
            client_ip(ip("10.0.0.1"), &h, &trusted()),
            ip("2001:db8::17")
        );
        let h = headers(&[("forwarded", "for=5.5.5.5:80;by=10.0.0.1")]);
        assert_eq!(client_ip(ip("10.0.0.1"), &h, &trusted()), ip("5.5.5.5"));
    }

    #[test]
    fn garbage_and_all_trusted_chains_fall_back_safely() {
        let h = headers(&[("x-forwarded-for", "5.5.5.5, nonsense, 10.0.0.7")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("10.0.0.7"));
        let h = headers(&[("x-forwarded-for", "garbage")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("127.0.0.1"));
        let h = headers(&[("x-forwarded-for", "10.0.0.5, 10.0.0.6")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("10.0.0.5"));
        let h = headers(&[("forwarded", "for=_hidden")]);
        assert_eq!(client_ip(ip("127.0.0.1"), &h, &trusted()), ip("127.0.0.1"));
        assert_eq!(
            client_ip(ip("127.0.0.1"), &HeaderMap::new(), &trusted()),
            ip("127.0.0.1")
        );
    }

    #[test]
    fn ipv4_mapped_peers_match_ipv4_ranges() {
        let h = headers(&[("x-forwarded-for", "5.5.5.5")]);
        assert_eq!(
            client_ip(ip("::ffff:127.0.0.1"), &h, &trusted()),
            ip("5.5.5.5")
        );
    }

    #[test]
    fn trusted_proxy_values_parse_or_say_why() {
        assert_eq!(
            parse_trusted("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(parse_trusted("::1").unwrap().to_string(), "::1/128");
        assert!(parse_trusted("10.0.0.0/33").unwrap_err().contains("CIDR"));
        assert!(parse_trusted("proxy.local").is_err());
    }
}
