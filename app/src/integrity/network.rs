//! A network, the unit of every per-client limit (which address makes which network is
//! `crate::http::client`'s to say).

/// The network a request comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    /// e.g. `203.0.113.7` or `2001:db8:1:2::/64` (`unknown` without an address).
    pub key: String,
    /// The IPv4 /24 around an IPv4 address, e.g. `203.0.113.0/24`.
    pub ipv4_block: Option<String>,
}

impl Network {
    /// Signups from this network.
    pub fn signup_key(&self) -> String {
        format!("signup:{}", self.key)
    }

    /// Signups from this IPv4 address's /24.
    pub fn ipv4_block_key(&self) -> Option<String> {
        self.ipv4_block
            .as_ref()
            .map(|block| format!("signup24:{block}"))
    }
}

impl std::fmt::Display for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.key)
    }
}
