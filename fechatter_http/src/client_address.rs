//! Who a request comes from, for per-address limits: the same answer in every service.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use http::HeaderMap;

/// The client address: the peer, or with `trusted_proxy_hops` reverse proxies in front that each
/// append to `X-Forwarded-For`, the address the outermost trusted proxy saw (that many entries
/// from the right). With 0 the header is ignored: a client can write anything into it.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted_proxy_hops: usize) -> IpAddr {
    let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if trusted_proxy_hops == 0 {
        return peer;
    }
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .collect();
    forwarded
        .len()
        .checked_sub(trusted_proxy_hops)
        .and_then(|index| forwarded[index].parse().ok())
        .unwrap_or(peer)
}

/// The key of an address in per-address limits: an IPv4 address itself, an IPv6 address its /64
/// network. One subscriber usually holds a whole /64 and can pick any address in it, so
/// per-address buckets would give them 2^64 of them.
pub fn address_group(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !((1u128 << 64) - 1))),
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(value));
        }
        headers
    }

    const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(PEER)
    }

    #[test]
    fn forwarded_for_is_ignored_unless_proxies_are_trusted() {
        let headers = forwarded(&["203.0.113.7"]);
        assert_eq!(client_ip(Some(PEER), &headers, 0), PEER);
        assert_eq!(client_ip(Some(PEER), &headers, 1), ip("203.0.113.7"));
    }

    #[test]
    fn with_trusted_proxies_the_client_is_counted_from_the_right() {
        // The client forged the first entry; two trusted proxies appended the rest.
        let headers = forwarded(&["1.2.3.4, 198.51.100.9", "10.0.0.2"]);
        assert_eq!(client_ip(Some(PEER), &headers, 2), ip("198.51.100.9"));
        // Fewer entries than trusted hops, or garbage: the peer.
        assert_eq!(client_ip(Some(PEER), &forwarded(&["10.0.0.2"]), 2), PEER);
        assert_eq!(client_ip(Some(PEER), &forwarded(&["not-an-ip"]), 1), PEER);
    }

    #[test]
    fn an_ipv6_address_is_grouped_by_its_64_and_an_ipv4_one_stands_alone() {
        assert_eq!(
            address_group(ip("2001:db8:1:2:abcd::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            address_group(ip("2001:db8:1:2::1")),
            address_group(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            address_group(ip("2001:db8:1:2::1")),
            address_group(ip("2001:db8:1:3::1"))
        );
        assert_eq!(address_group(ip("198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(address_group(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
    }
}
