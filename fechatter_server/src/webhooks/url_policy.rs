//! Which outgoing webhook URLs the server calls. A chat admin chooses the URL, so without limits the
//! server would make requests into its own network for them (SSRF): only `http`/`https` URLs of at
//! most [`MAX_URL_CHARS`] without credentials, and, unless private addresses are allowed, only
//! hosts whose every address is public. The check runs when a webhook is created and again at each
//! delivery, which connects to the very addresses it checked (a name that later resolves elsewhere
//! gains nothing), and never follows redirects.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use url::{Host, Url};

pub const MAX_URL_CHARS: usize = 2048;
/// A name that does not resolve within this time counts as unresolved (a request that creates a
/// webhook waits for it).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("the URL is not an absolute http or https URL of at most 2048 characters")]
    Malformed,
    #[error("the URL may not carry a user name or password")]
    Credentials,
    #[error("the URL's host does not resolve")]
    Unresolved,
    #[error("the URL's host is a private, loopback or otherwise non-public address")]
    PrivateAddress,
}

/// The URL if its form is acceptable (scheme, length, host, no credentials); addresses unchecked.
pub fn parse(text: &str) -> Result<Url, UrlRefused> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(UrlRefused::Malformed);
    }
    let url = Url::parse(text).map_err(|_| UrlRefused::Malformed)?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(UrlRefused::Malformed);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(UrlRefused::Credentials);
    }
    Ok(url)
}

/// The addresses to connect to for `url`: its literal address or every address its name resolves
/// to, each allowed by the policy.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, UrlRefused> {
    let port = url.port_or_known_default().ok_or(UrlRefused::Malformed)?;
    let addresses: Vec<SocketAddr> = match url.host() {
        Some(Host::Ipv4(ip)) => vec![SocketAddr::new(IpAddr::V4(ip), port)],
        Some(Host::Ipv6(ip)) => vec![SocketAddr::new(IpAddr::V6(ip), port)],
        Some(Host::Domain(name)) => {
            tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((name, port)))
                .await
                .map_err(|_| UrlRefused::Unresolved)?
                .map_err(|_| UrlRefused::Unresolved)?
                .collect()
        }
        None => return Err(UrlRefused::Malformed),
    };
    if addresses.is_empty() {
        return Err(UrlRefused::Unresolved);
    }
    if !allow_private && addresses.iter().any(|address| !is_public(address.ip())) {
        return Err(UrlRefused::PrivateAddress);
    }
    Ok(addresses)
}

/// Whether `ip` is a globally routable unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => is_public_v4(ip),
        IpAddr::V6(ip) => match ip.to_ipv4_mapped() {
            Some(mapped) => is_public_v4(mapped),
            None => is_public_v6(ip),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || a == 0
        // Shared address space (carrier-grade NAT), 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // Benchmarking 198.18.0.0/15 and the reserved 240.0.0.0/4.
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local fc00::/7 and link-local fe80::/10.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        // Documentation 2001:db8::/32.
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 64:ff9b::/96 can reach IPv4 private space.
        || (first == 0x0064 && ip.segments()[1] == 0xff9b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_urls_without_credentials_and_of_bounded_length_are_accepted() {
        assert!(parse("https://hooks.example.com/in?x=1").is_ok());
        assert!(parse("http://203.0.113.9:8080/").is_ok());
        for bad in [
            "ftp://example.com/",
            "file:///etc/passwd",
            "example.com/hook",
            "http://",
        ] {
            assert_eq!(parse(bad), Err(UrlRefused::Malformed), "{bad}");
        }
        assert_eq!(
            parse("https://user:pw@example.com/"),
            Err(UrlRefused::Credentials)
        );
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(parse(&long), Err(UrlRefused::Malformed));
    }

    #[test]
    fn private_loopback_and_link_local_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = private
                .parse()
                .unwrap_or_else(|err| panic!("{private}: {err}"));
            assert!(!is_public(ip), "{private}");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"] {
            let ip: IpAddr = public
                .parse()
                .unwrap_or_else(|err| panic!("{public}: {err}"));
            assert!(is_public(ip), "{public}");
        }
    }

    #[tokio::test]
    async fn a_name_or_literal_resolving_to_loopback_is_refused_unless_allowed() {
        for text in [
            "http://127.0.0.1:9/hook",
            "http://localhost:9/hook",
            "http://[::1]:9/",
        ] {
            let url = parse(text).unwrap_or_else(|err| panic!("{text}: {err}"));
            assert_eq!(
                resolve(&url, false).await,
                Err(UrlRefused::PrivateAddress),
                "{text}"
            );
            assert!(resolve(&url, true).await.is_ok(), "{text}");
        }
    }
}
