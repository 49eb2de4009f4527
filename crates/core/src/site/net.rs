//! Network identities: MAC normalisation, CIDR blocks, host names and DICOM AE titles.

use std::fmt;
use std::net::IpAddr;

/// An IPv4 or IPv6 address block, e.g. `10.20.0.0/16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `address/prefix`; refuses host bits set after the prefix, so that a typo
    /// such as `10.20.1.0/16` is caught.
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}` has no `/prefix`; write e.g. `10.20.0.0/16`"))?;
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("`{addr}` in `{text}` is not an IP address"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix: u8 = prefix
            .trim()
            .parse()
            .ok()
            .filter(|p| *p <= max)
            .ok_or_else(|| format!("`{prefix}` in `{text}` is not a prefix length 0-{max}"))?;

        let cidr = Cidr { addr, prefix };
        if cidr.network() != addr {
            return Err(format!(
                "`{text}` has host bits set; write `{}/{prefix}`",
                cidr.network()
            ));
        }
        Ok(cidr)
    }

    /// The prefix length in bits.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// The first address of the block.
    pub fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(v4) => IpAddr::V4((u32::from(v4) & mask32(self.prefix)).into()),
            IpAddr::V6(v6) => IpAddr::V6((u128::from(v6) & mask128(self.prefix)).into()),
        }
    }

    /// True when `ip` lies in the block (same address family only).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                u32::from(ip) & mask32(self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                u128::from(ip) & mask128(self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// Normalises a MAC to lowercase colon form, `aa:bb:cc:dd:ee:ff`; accepts dashes and capitals.
pub fn normalize_mac(text: &str) -> Result<String, String> {
    let parts: Vec<&str> = text.trim().split([':', '-']).collect();
    let valid = parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
    if !valid {
        return Err(format!(
            "`{text}` is not a MAC address; write six hex pairs, e.g. `00:1a:2b:3c:4d:5e`"
        ));
    }
    Ok(parts.join(":").to_ascii_lowercase())
}

/// The lookup key of a host name: lowercase, without domain.
pub fn hostname_key(name: &str) -> String {
    let short = name.trim().split('.').next().unwrap_or_default();
    short.to_ascii_lowercase()
}

/// Checks a host name: one DNS label of letters, digits and hyphens, at most 63 characters.
pub fn check_hostname(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && !name.starts_with('-')
        && !name.ends_with('-')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not a host name; use letters, digits and inner hyphens, at most 63 \
             characters, without the domain"
        ))
    }
}

/// Checks a DICOM AE title: 1-16 printable ASCII characters, no backslash, not all spaces.
pub fn check_ae_title(title: &str) -> Result<(), String> {
    let ok = !title.trim().is_empty()
        && title.len() <= 16
        && title
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'\\');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "`{title}` is not a DICOM AE title; use 1-16 printable ASCII characters without `\\`"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_contains_and_refuses_host_bits() {
        let net = Cidr::parse("10.20.0.0/16").unwrap();
        assert!(net.contains("10.20.4.21".parse().unwrap()));
        assert!(!net.contains("10.21.0.1".parse().unwrap()));
        assert!(
            Cidr::parse("10.20.1.0/16")
                .unwrap_err()
                .contains("10.20.0.0/16")
        );
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("192.0.2.1".parse().unwrap())
        );
        assert!(
            Cidr::parse("fd00::/8")
                .unwrap()
                .contains("fd12::1".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_err());
    }

    #[test]
    fn macs_are_normalised() {
        assert_eq!(
            normalize_mac("00-1A-2B-3C-4D-5E").unwrap(),
            "00:1a:2b:3c:4d:5e"
        );
        assert!(normalize_mac("00:1a:2b:3c:4d").is_err());
        assert!(normalize_mac("00:1a:2b:3c:4d:zz").is_err());
    }

    #[test]
    fn hostnames_and_ae_titles() {
        assert_eq!(hostname_key("PACS-SRV.hospital.local"), "pacs-srv");
        assert!(check_hostname("pacs-srv").is_ok());
        assert!(check_hostname("pacs_srv").is_err());
        assert!(check_ae_title("CT01").is_ok());
        assert!(check_ae_title("A_TITLE_THAT_IS_TOO_LONG").is_err());
    }
}
