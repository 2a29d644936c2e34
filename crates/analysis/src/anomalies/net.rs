//! Addresses: a fast IPv4 parser for the hot loop, CIDR blocks, and AWS's published address
//! ranges (`ip-ranges.json`) as sorted, merged intervals searched by binary search.

use anyhow::{anyhow, Result};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Parses a dotted-quad IPv4 address without allocating (`None` for anything else:
/// hostnames, `AWS Internal`, IPv6).
#[inline]
pub fn ipv4(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 7 || b.len() > 15 {
        return None;
    }
    let mut out: u32 = 0;
    let mut part: u32 = 0;
    let mut digits = 0;
    let mut dots = 0;
    for &c in b {
        if c.is_ascii_digit() {
            part = part * 10 + (c - b'0') as u32;
            digits += 1;
            if digits > 3 || part > 255 {
                return None;
            }
        } else if c == b'.' {
            if digits == 0 || dots == 3 {
                return None;
            }
            out = (out << 8) | part;
            part = 0;
            digits = 0;
            dots += 1;
        } else {
            return None;
        }
    }
    if digits == 0 || dots != 3 {
        return None;
    }
    Some((out << 8) | part)
}

/// What kind of address: public (routable on the Internet), private (RFC 1918, shared
/// 100.64/10, IPv6 ULA: inside someone's network), or other (loopback, link-local,
/// documentation, multicast, reserved, unspecified) which never counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Public,
    Private,
    Other,
}

/// Classifies an IPv4 address given as u32.
#[inline]
pub(crate) fn class_v4(a: u32) -> Class {
    let o = a.to_be_bytes();
    let in_net = |net: u32, len: u32| (a ^ net) >> (32 - len) == 0;
    if o[0] == 10 || in_net(0xac10_0000, 12) || in_net(0xc0a8_0000, 16) || in_net(0x6440_0000, 10) {
        return Class::Private;
    }
    if o[0] == 0
        || o[0] == 127
        || o[0] >= 224
        || in_net(0xa9fe_0000, 16) // link-local
        || in_net(0xc000_0000, 24) // IETF protocol assignments
        || in_net(0xc000_0200, 24) // documentation
        || in_net(0xc633_6400, 24)
        || in_net(0xcb00_7100, 24)
        || in_net(0xc612_0000, 15)
    // benchmarking
    {
        return Class::Other;
    }
    Class::Public
}

/// Classifies any address.
pub fn class(a: &IpAddr) -> Class {
    match a {
        IpAddr::V4(v) => class_v4(u32::from(*v)),
        IpAddr::V6(v) => {
            if let Some(m) = v.to_ipv4_mapped() {
                return class_v4(u32::from(m));
            }
            let seg = v.segments();
            if (seg[0] & 0xfe00) == 0xfc00 {
                Class::Private
            } else if v.is_loopback()
                || v.is_unspecified()
                || (seg[0] & 0xffc0) == 0xfe80
                || (seg[0] & 0xff00) == 0xff00
                || (seg[0] == 0x2001 && seg[1] == 0x0db8)
            {
                Class::Other
            } else {
                Class::Public
            }
        }
    }
}

/// Parses an address as found in `sourceIPAddress`: IPv4 (leading zeros tolerated, as in
/// anonymised data) or IPv6; None for service names and `AWS Internal`.
pub(crate) fn parse_addr(s: &str) -> Option<IpAddr> {
    if let Some(v) = ipv4(s) {
        return Some(IpAddr::V4(Ipv4Addr::from(v)));
    }
    if s.contains(':') {
        return s.parse::<Ipv6Addr>().ok().map(IpAddr::V6);
    }
    None
}

/// An address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    V4 { lo: u32, hi: u32 },
    V6 { lo: u128, hi: u128 },
}

impl Cidr {
    /// "203.0.113.0/24", "203.0.113.7", "2001:db8::/32", "2001:db8::1".
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (addr, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l.parse::<u32>().ok()?)),
            None => (s, None),
        };
        match addr.parse::<IpAddr>().ok()? {
            IpAddr::V4(a) => {
                let len = len.unwrap_or(32);
                if len > 32 {
                    return None;
                }
                let mask: u32 = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                let lo = u32::from(a) & mask;
                Some(Cidr::V4 { lo, hi: lo | !mask })
            }
            IpAddr::V6(a) => {
                let len = len.unwrap_or(128);
                if len > 128 {
                    return None;
                }
                let mask: u128 = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                let lo = u128::from(a) & mask;
                Some(Cidr::V6 { lo, hi: lo | !mask })
            }
        }
    }

    pub fn contains(&self, a: &IpAddr) -> bool {
        match (self, a) {
            (Cidr::V4 { lo, hi }, IpAddr::V4(x)) => (*lo..=*hi).contains(&u32::from(*x)),
            (Cidr::V6 { lo, hi }, IpAddr::V6(x)) => (*lo..=*hi).contains(&u128::from(*x)),
            (Cidr::V4 { lo, hi }, IpAddr::V6(x)) => x
                .to_ipv4_mapped()
                .is_some_and(|v| (*lo..=*hi).contains(&u32::from(v))),
            _ => false,
        }
    }
}

/// "203.0.113.0/24", "2001:db8::/32" (`parse` reads it back).
impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Cidr::V4 { lo, hi } => {
                write!(f, "{}/{}", Ipv4Addr::from(lo), 32 - (lo ^ hi).count_ones())
            }
            Cidr::V6 { lo, hi } => {
                write!(f, "{}/{}", Ipv6Addr::from(lo), 128 - (lo ^ hi).count_ones())
            }
        }
    }
}

/// Does any block contain the address text?
pub(crate) fn any_contains(blocks: &[Cidr], addr: &str) -> bool {
    if blocks.is_empty() {
        return false;
    }
    parse_addr(addr).is_some_and(|a| blocks.iter().any(|b| b.contains(&a)))
}

/// AWS address ranges: merged, sorted intervals.
#[derive(Debug, Default, Clone)]
pub(crate) struct AwsRanges {
    v4: Vec<(u32, u32)>,
    v6: Vec<(u128, u128)>,
}

fn merge<T: Ord + Copy>(mut v: Vec<(T, T)>, next: impl Fn(T) -> Option<T>) -> Vec<(T, T)> {
    v.sort_unstable();
    let mut out: Vec<(T, T)> = Vec::with_capacity(v.len());
    for (lo, hi) in v {
        if let Some(last) = out.last_mut() {
            if next(last.1).is_none_or(|n| lo <= n) {
                if hi > last.1 {
                    last.1 = hi;
                }
                continue;
            }
        }
        out.push((lo, hi));
    }
    out
}

fn find<T: Ord + Copy>(v: &[(T, T)], x: T) -> bool {
    let i = v.partition_point(|(lo, _)| *lo <= x);
    i > 0 && x <= v[i - 1].1
}

impl AwsRanges {
    /// Reads a file in the `ip-ranges.json` format: `prefixes[].ip_prefix` and
    /// `ipv6_prefixes[].ipv6_prefix` (every service and region).
    pub fn load(path: &Path) -> Result<AwsRanges> {
        let text = std::fs::read(path).map_err(|e| {
            anyhow!(
                "{}: cannot read aws_ip_ranges (workload_credential_exfiltration): {e}",
                path.display()
            )
        })?;
        Self::parse(&text).map_err(|e| anyhow!("{}: {e}", path.display()))
    }

    pub fn parse(text: &[u8]) -> Result<AwsRanges> {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            prefixes: Vec<V4>,
            #[serde(default)]
            ipv6_prefixes: Vec<V6>,
        }
        #[derive(serde::Deserialize)]
        struct V4 {
            ip_prefix: String,
        }
        #[derive(serde::Deserialize)]
        struct V6 {
            ipv6_prefix: String,
        }
        let f: File = serde_json::from_slice(text).map_err(|e| {
            anyhow!("not an ip-ranges.json file (expected {{\"prefixes\": [{{\"ip_prefix\": …}}], \"ipv6_prefixes\": […]}}): {e}")
        })?;
        let mut v4 = Vec::with_capacity(f.prefixes.len());
        for p in &f.prefixes {
            match Cidr::parse(&p.ip_prefix) {
                Some(Cidr::V4 { lo, hi }) => v4.push((lo, hi)),
                _ => return Err(anyhow!("bad ip_prefix {:?}", p.ip_prefix)),
            }
        }
        let mut v6 = Vec::with_capacity(f.ipv6_prefixes.len());
        for p in &f.ipv6_prefixes {
            match Cidr::parse(&p.ipv6_prefix) {
                Some(Cidr::V6 { lo, hi }) => v6.push((lo, hi)),
                _ => return Err(anyhow!("bad ipv6_prefix {:?}", p.ipv6_prefix)),
            }
        }
        if v4.is_empty() && v6.is_empty() {
            return Err(anyhow!("no prefixes in the ip-ranges file"));
        }
        Ok(AwsRanges {
            v4: merge(v4, |x: u32| x.checked_add(1)),
            v6: merge(v6, |x: u128| x.checked_add(1)),
        })
    }

    pub fn contains(&self, a: &IpAddr) -> bool {
        match a {
            IpAddr::V4(x) => find(&self.v4, u32::from(*x)),
            IpAddr::V6(x) => match x.to_ipv4_mapped() {
                Some(v) => find(&self.v4, u32::from(v)),
                None => find(&self.v6, u128::from(*x)),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v4() {
        assert_eq!(ipv4("1.2.3.4"), Some(0x01020304));
        assert_eq!(ipv4("255.255.255.255"), Some(u32::MAX));
        assert_eq!(ipv4("256.1.1.1"), None);
        assert_eq!(ipv4("1.2.3"), None);
        assert_eq!(ipv4("1.2.3.4.5"), None);
        assert_eq!(ipv4("AWS Internal"), None);
        assert_eq!(ipv4("ec2.amazonaws.com"), None);
        assert_eq!(ipv4("1..3.4"), None);
        // Stratus anonymisation writes leading zeros: accept them as decimal.
        assert_eq!(ipv4("255.18.064.253"), Some(0xff1240fd));
    }

    #[test]
    fn ranges() {
        let r = AwsRanges::parse(
            br#"{"prefixes":[{"ip_prefix":"3.224.0.0/12"},{"ip_prefix":"3.240.0.0/12"},{"ip_prefix":"52.94.0.0/22"}],
                "ipv6_prefixes":[{"ipv6_prefix":"2600:1f00::/24"}]}"#,
        )
        .unwrap();
        assert_eq!(r.v4.len(), 2, "adjacent blocks merge");
        let has = |s: &str| r.contains(&s.parse().unwrap());
        assert!(has("3.225.16.109") && has("3.255.255.255") && has("52.94.3.1"));
        assert!(!has("3.223.255.255") && !has("52.94.4.0") && !has("1.2.3.4"));
        assert!(has("2600:1f14::1") && !has("2a00::1"));
        assert!(has("::ffff:3.225.16.109"));
        assert!(AwsRanges::parse(b"{}").is_err());
        assert!(AwsRanges::parse(b"[1]").is_err());
    }

    #[test]
    fn classes() {
        let c = |s: &str| class(&parse_addr(s).unwrap());
        assert_eq!(c("18.236.253.47"), Class::Public);
        assert_eq!(c("192.168.10.20"), Class::Private);
        assert_eq!(c("10.1.2.3"), Class::Private);
        assert_eq!(c("172.31.0.1"), Class::Private);
        assert_eq!(c("172.32.0.1"), Class::Public);
        assert_eq!(c("100.64.0.1"), Class::Private);
        assert_eq!(c("127.0.0.1"), Class::Other);
        assert_eq!(c("169.254.169.254"), Class::Other);
        assert_eq!(c("203.0.113.9"), Class::Other);
        assert_eq!(c("255.18.064.253"), Class::Other);
        assert_eq!(c("fd00::1"), Class::Private);
        assert_eq!(c("fe80::1"), Class::Other);
        assert_eq!(c("2600:1f14::1"), Class::Public);
        assert!(parse_addr("AWS Internal").is_none());
        assert!(parse_addr("ec2.amazonaws.com").is_none());
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("203.0.113.0/24").unwrap();
        assert!(c.contains(&"203.0.113.200".parse().unwrap()));
        assert!(!c.contains(&"203.0.114.1".parse().unwrap()));
        let c = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c.contains(&"2001:db8:1::1".parse().unwrap()));
        assert!(Cidr::parse("1.2.3.4/33").is_none());
        assert!(Cidr::parse("nope").is_none());
        assert_eq!(
            Cidr::parse("10.0.0.9"),
            Some(Cidr::V4 {
                lo: 0x0a000009,
                hi: 0x0a000009
            })
        );
    }
}
