//! Who a client is, for every per-client limit: the network its address stands for. An IPv6
//! address counts by its /64 (one subscriber's whole allocation: anyone with an ordinary /64 has
//! 2^64 addresses to rotate through), an IPv4 address by itself, and for signups also by the /24
//! around it (a rented block of addresses shares one ceiling).

use std::net::IpAddr;

use poem::Request;

use crate::integrity::network::Network;
use crate::state::AppState;

/// The client's network.
pub fn client_network(request: &Request, state: &AppState) -> Network {
    match client_address(request, state) {
        Some(address) => network_of(address),
        None => Network {
            key: "unknown".to_owned(),
            ipv4_block: None,
        },
    }
}

fn network_of(address: IpAddr) -> Network {
    let v4 = match address {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    };
    Network {
        key: network_key(address),
        ipv4_block: v4.map(|v4| {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }),
    }
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
    fn ipv4_addresses_share_a_block_with_their_24() {
        let block = |text: &str| super::network_of(text.parse().unwrap()).ipv4_block;
        assert_eq!(block("203.0.113.7").as_deref(), Some("203.0.113.0/24"));
        assert_eq!(block("::ffff:203.0.113.200"), block("203.0.113.7"));
        assert_ne!(block("203.0.114.7"), block("203.0.113.7"));
        assert_eq!(block("2001:db8::1"), None);
    }

    #[test]
    fn ipv4_addresses_count_by_themselves_however_written() {
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.8"), key("203.0.113.7"));
    }
}
