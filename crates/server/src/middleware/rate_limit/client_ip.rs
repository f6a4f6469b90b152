//! Which address a request comes from: the peer, or behind trusted proxies the right-most
//! `X-Forwarded-For` entry that is not a proxy itself.

use std::net::IpAddr;

use axum::http::HeaderMap;
use ipnet::IpNet;

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// See [`RateLimiter::client_ip`]; an unknown peer counts as `0.0.0.0`.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    let Some(peer) = peer else { return unspecified };
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(ip, proxies) {
                    break;
                }
            }
            // An unparsable entry ends what can be believed.
            Err(_) => break,
        }
    }
    client
}
#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.7"),
        );
        let peer = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(
            client_ip(Some(peer), &h, &proxies),
            IpAddr::from([1, 2, 3, 4])
        );
        let stranger = IpAddr::from([8, 8, 8, 8]);
        assert_eq!(client_ip(Some(stranger), &h, &proxies), stranger);
        assert_eq!(client_ip(Some(peer), &h, &[]), peer);
    }
}
