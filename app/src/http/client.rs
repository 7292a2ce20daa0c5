//! Who a client is, for every per-client limit: the network its address stands for. An IPv6
//! address counts by its /64 (one subscriber's whole allocation: anyone with an ordinary /64 has
//! 2^64 addresses to rotate through), an IPv4 address by itself.

use std::net::IpAddr;

use poem::Request;

use crate::state::AppState;

/// The client's network key, e.g. `203.0.113.7` or `2001:db8:1:2::/64`.
pub fn client_network(request: &Request, state: &AppState) -> String {
    client_address(request, state).map_or_else(|| "unknown".to_owned(), network_key)
}

/// The client's address: a trusted proxy's header (`CLIENT_ADDRESS_HEADER`, e.g. CloudFront's
/// `CloudFront-Viewer-Address`, "ip:port"), else the load balancer's last `X-Forwarded-For` entry
/// (with `TRUST_FORWARDED_FOR`), else the TCP peer.
fn client_address(request: &Request, state: &AppState) -> Option<IpAddr> {
    let from_proxy = state
        .client_address_header
        .as_deref()
        .and_then(|name| request.header(name))
        .and_then(|value| {
            let (address, _port) = value.trim().rsplit_once(':')?;
            address.trim_matches(['[', ']']).parse::<IpAddr>().ok()
        });
    if from_proxy.is_some() {
        return from_proxy;
    }
    if state.trust_forwarded_for {
        let forwarded = request
            .header("x-forwarded-for")
            .and_then(|list| list.rsplit(',').next())
            .and_then(|last| last.trim().parse::<IpAddr>().ok());
        if forwarded.is_some() {
            return forwarded;
        }
    }
    request
        .remote_addr()
        .as_socket_addr()
        .map(|address| address.ip())
}

/// The network an address stands for: an IPv6 address's /64, an IPv4 address (also when it comes
/// IPv4-mapped in IPv6) itself.
fn network_key(address: IpAddr) -> String {
    match address {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let [a, b, c, d, ..] = v6.segments();
                format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::network_key;

    fn key(text: &str) -> String {
        network_key(text.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_count_by_their_64() {
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::1")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn ipv4_addresses_count_by_themselves_however_written() {
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.8"), key("203.0.113.7"));
    }
}
