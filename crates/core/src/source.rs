//! Where a request comes from, as the rate limits see it.
//!
//! The HTTP server (`web::server`) puts a [`ClientSource`] on every request: the peer address
//! of the connection, or the address a trusted reverse proxy forwarded. Components read it
//! to count per-source limits (logins, activations, enumeration). It must never be trusted
//! for anything but counting: an address is not an identity.

use std::net::IpAddr;

/// The network source of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientSource {
    ip: Option<IpAddr>,
}

impl ClientSource {
    pub fn new(ip: IpAddr) -> ClientSource {
        ClientSource {
            ip: Some(canonical(ip)),
        }
    }

    /// A request whose source is not known (a router served without `web::server`): every
    /// such request shares one bucket, so the limits stay on the safe side.
    pub fn unknown() -> ClientSource {
        ClientSource { ip: None }
    }

    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// The key a rate limit counts by. An IPv6 client usually holds a whole /64, so the
    /// key is its /64 prefix: counting single IPv6 addresses would give an attacker 2^64
    /// fresh budgets.
    pub fn throttle_key(&self) -> String {
        match self.ip {
            None => "unknown".to_string(),
            Some(IpAddr::V4(v4)) => format!("ip4:{v4}"),
            Some(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        }
    }
}

impl std::fmt::Display for ClientSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.ip {
            Some(ip) => write!(f, "{ip}"),
            None => f.write_str("inconnue"),
        }
    }
}

/// An IPv4 address seen through an IPv6 socket (`::ffff:192.0.2.1`) is the IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ipv6_counts_by_its_64_prefix_and_mapped_v4_is_v4() {
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(
            ClientSource::new(a).throttle_key(),
            ClientSource::new(b).throttle_key()
        );
        assert_ne!(
            ClientSource::new(a).throttle_key(),
            ClientSource::new(c).throttle_key()
        );
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(ClientSource::new(mapped).throttle_key(), "ip4:192.0.2.1");
        assert_eq!(ClientSource::unknown().throttle_key(), "unknown");
    }
}
