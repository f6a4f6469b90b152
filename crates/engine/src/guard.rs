//! The network guard: the one place that decides whether an address may be fetched.
//!
//! Every URL the engine touches goes through it: the start URL, each page, each redirect hop and
//! robots.txt. Two checks cover the two ways a request reaches an address:
//!
//! - [`NetworkGuard::check_url`] before a request is sent: scheme, host, and hosts that are IP
//!   literals. reqwest connects to an IP literal directly without asking a resolver, so this is
//!   the only check such hosts get.
//! - [`NetworkGuard::resolve`] (also plugged into reqwest as its DNS resolver through the
//!   [`reqwest::dns::Resolve`] impl) for names: DNS is asked once and the connection goes to the
//!   very addresses that were checked, so a name cannot answer "public" to the check and
//!   "private" to the connect (DNS rebinding).
//!
//! The strict guard (server default) refuses every address that is not plainly public. The
//! permissive guard (CLI default, on the user's own machine) allows private networks but still
//! refuses what is never a fetchable target and the cloud metadata endpoints. An explicit
//! allow-list of networks wins over both.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;
use url::{Host, Url};

/// Why an address is not a plain public unicast address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlockReason {
    /// 0.0.0.0/8 and `::`: "this host"; connecting to 0.0.0.0 reaches localhost on Linux.
    Unspecified,
    Loopback,
    /// RFC 1918 and the deprecated IPv6 site-local range.
    Private,
    /// 100.64.0.0/10, carrier-grade NAT (RFC 6598).
    SharedAddressSpace,
    LinkLocal,
    /// Instance metadata services (169.254.169.254 and friends): the classic SSRF prize.
    CloudMetadata,
    Multicast,
    Broadcast,
    Reserved,
    Documentation,
    Benchmarking,
    /// 192.0.0.0/24 and 2001::/23 (includes Teredo).
    ProtocolAssignment,
    Ipv4Mapped,
    Ipv4Compatible,
    Nat64,
    SixToFour,
    UniqueLocal,
}

impl BlockReason {
    const ALL: [BlockReason; 17] = [
        Self::Unspecified,
        Self::Loopback,
        Self::Private,
        Self::SharedAddressSpace,
        Self::LinkLocal,
        Self::CloudMetadata,
        Self::Multicast,
        Self::Broadcast,
        Self::Reserved,
        Self::Documentation,
        Self::Benchmarking,
        Self::ProtocolAssignment,
        Self::Ipv4Mapped,
        Self::Ipv4Compatible,
        Self::Nat64,
        Self::SixToFour,
        Self::UniqueLocal,
    ];

    /// Refused even by the permissive guard: no server listens there (unspecified, multicast,
    /// broadcast), or reaching it from a scraper is never what the user meant (metadata).
    fn refused_by_permissive(self) -> bool {
        matches!(
            self,
            Self::Unspecified | Self::Multicast | Self::Broadcast | Self::CloudMetadata
        )
    }

    fn bit(self) -> u32 {
        1 << (self as u32)
    }

    fn describe(self) -> &'static str {
        match self {
            Self::Unspecified => "unspecified address",
            Self::Loopback => "loopback",
            Self::Private => "private network",
            Self::SharedAddressSpace => "carrier-grade NAT range 100.64.0.0/10",
            Self::LinkLocal => "link-local",
            Self::CloudMetadata => "cloud metadata endpoint",
            Self::Multicast => "multicast",
            Self::Broadcast => "broadcast",
            Self::Reserved => "reserved range",
            Self::Documentation => "documentation range",
            Self::Benchmarking => "benchmarking range",
            Self::ProtocolAssignment => "IETF protocol assignment range",
            Self::Ipv4Mapped => "IPv4-mapped IPv6",
            Self::Ipv4Compatible => "IPv4-compatible IPv6",
            Self::Nat64 => "NAT64",
            Self::SixToFour => "6to4",
            Self::UniqueLocal => "unique-local IPv6",
        }
    }
}

impl fmt::Display for BlockReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a URL or address was refused. Messages are meant for the person who wrote the job.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum GuardError {
    #[error("only http and https URLs can be fetched, not {scheme}:")]
    Scheme { scheme: String },
    #[error("the URL {url} has no host to fetch from")]
    NoHost { url: String },
    /// We refuse `user:password@host` URLs: the credentials would be copied into logs, results
    /// and progress events, and no part of the product needs them.
    #[error(
        "the URL for {host} contains a user name or password; URLs with credentials are not fetched"
    )]
    Credentials { host: String },
    #[error("{}", blocked_message(host, ip, *reason))]
    Blocked {
        host: String,
        ip: IpAddr,
        reason: BlockReason,
    },
    #[error("could not resolve {host}: {message}")]
    Dns { host: String, message: String },
}

fn blocked_message(host: &str, ip: &IpAddr, reason: BlockReason) -> String {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if bare.parse::<IpAddr>().is_ok_and(|h| h == *ip) {
        format!("{ip} is not allowed by the network guard ({reason})")
    } else {
        format!("{host} resolves to {ip}, which is not allowed by the network guard ({reason})")
    }
}

/// Decides which addresses may be fetched. Cheap to clone (shared allow-list).
#[derive(Debug, Clone)]
pub struct NetworkGuard {
    /// Bit set of [`BlockReason`]s refused by this guard.
    blocked: u32,
    /// Networks the operator opened explicitly; they win over `blocked`.
    allowed: Arc<[IpNet]>,
}

impl NetworkGuard {
    /// The server default: every address that is not plainly public is refused.
    pub fn strict() -> Self {
        Self {
            blocked: BlockReason::ALL.iter().fold(0, |acc, r| acc | r.bit()),
            allowed: Arc::from([]),
        }
    }

    /// The CLI default: private networks are the user's own and allowed; unspecified,
    /// multicast, broadcast and cloud metadata addresses are still refused.
    pub fn permissive() -> Self {
        Self {
            blocked: BlockReason::ALL
                .iter()
                .filter(|r| r.refused_by_permissive())
                .fold(0, |acc, r| acc | r.bit()),
            allowed: Arc::from([]),
        }
    }

    /// Opens the given networks whatever their kind (tests open 127.0.0.1/32 this way).
    pub fn allow_networks(self, nets: impl IntoIterator<Item = IpNet>) -> Self {
        let allowed: Vec<IpNet> = self.allowed.iter().copied().chain(nets).collect();
        Self {
            blocked: self.blocked,
            allowed: allowed.into(),
        }
    }

    /// The networks opened with [`allow_networks`](Self::allow_networks).
    pub fn allowed_networks(&self) -> &[IpNet] {
        &self.allowed
    }

    /// Whether this guard refuses addresses of the given kind (when not allow-listed).
    pub fn blocks(&self, reason: BlockReason) -> bool {
        self.blocked & reason.bit() != 0
    }

    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardError> {
        self.check_ip_for(&ip.to_string(), ip)
    }

    fn check_ip_for(&self, host: &str, ip: IpAddr) -> Result<(), GuardError> {
        if self.is_allow_listed(ip) {
            return Ok(());
        }
        match classify(ip) {
            Some(reason) if self.blocks(reason) => Err(GuardError::Blocked {
                host: host.to_owned(),
                ip,
                reason,
            }),
            _ => Ok(()),
        }
    }

    fn is_allow_listed(&self, ip: IpAddr) -> bool {
        if self.allowed.is_empty() {
            return false;
        }
        // The kernel treats ::ffff:a.b.c.d as a.b.c.d, so an allowed IPv4 network covers it.
        let mapped = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4),
            IpAddr::V4(_) => None,
        };
        self.allowed
            .iter()
            .any(|net| net.contains(&ip) || mapped.is_some_and(|m| net.contains(&m)))
    }

    /// Checks what can be checked without DNS: scheme, credentials, host present, and hosts that
    /// are IP literals. The `url` crate has already normalised odd IPv4 spellings
    /// (`2130706433`, `0x7f.1`, `127.1`) into [`Host::Ipv4`], so they are caught here too.
    pub fn check_url(&self, url: &Url) -> Result<(), GuardError> {
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(GuardError::Scheme {
                    scheme: other.to_owned(),
                });
            }
        }
        let host = url.host().ok_or_else(|| GuardError::NoHost {
            url: url.to_string(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::Credentials {
                host: host.to_string(),
            });
        }
        match host {
            Host::Ipv4(v4) => self.check_ip_for(&host.to_string(), IpAddr::V4(v4)),
            Host::Ipv6(v6) => self.check_ip_for(&host.to_string(), IpAddr::V6(v6)),
            // RFC 6761: these names always mean this machine, whatever DNS says; refusing them
            // here gives the job author an early, clear error instead of one at fetch time.
            Host::Domain(name) if is_localhost_name(name) => {
                self.check_ip_for(name, IpAddr::V4(Ipv4Addr::LOCALHOST))
            }
            Host::Domain("") => Err(GuardError::NoHost {
                url: url.to_string(),
            }),
            Host::Domain(_) => Ok(()),
        }
    }

    /// Resolves `host` once and keeps only the addresses this guard allows, in resolver order.
    /// IP literals (bare or in brackets) are checked without DNS. Errors when nothing is left;
    /// the error names the first refused address.
    pub async fn resolve(&self, host: &str, port: u16) -> Result<Vec<SocketAddr>, GuardError> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<IpAddr>() {
            self.check_ip_for(host, ip)?;
            return Ok(vec![SocketAddr::new(ip, port)]);
        }
        let found = tokio::net::lookup_host((bare, port))
            .await
            .map_err(|e| GuardError::Dns {
                host: host.to_owned(),
                message: e.to_string(),
            })?;
        let mut allowed: Vec<SocketAddr> = Vec::new();
        let mut first_refusal = None;
        for addr in found {
            match self.check_ip_for(host, addr.ip()) {
                Ok(()) if !allowed.contains(&addr) => allowed.push(addr),
                Ok(()) => {}
                Err(e) => {
                    first_refusal.get_or_insert(e);
                }
            }
        }
        if allowed.is_empty() {
            return Err(first_refusal.unwrap_or_else(|| GuardError::Dns {
                host: host.to_owned(),
                message: "no addresses found".to_owned(),
            }));
        }
        Ok(allowed)
    }
}

/// reqwest asks this for every new connection to a named host, so it only ever connects to
/// addresses the guard allowed. The port is left 0: reqwest fills in the URL's port.
impl reqwest::dns::Resolve for NetworkGuard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.clone();
        Box::pin(async move {
            let addrs = guard
                .resolve(name.as_str(), 0)
                .await
                .map_err(|e| Box::new(e) as Box<dyn std::error::Error + Send + Sync>)?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

fn is_localhost_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    name.eq_ignore_ascii_case("localhost")
        || name
            .len()
            .checked_sub(".localhost".len())
            .and_then(|i| name.get(i..))
            .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
}

/// The kind of special address `ip` is, or `None` for a plain public unicast address.
pub fn classify(ip: IpAddr) -> Option<BlockReason> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

const fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
    Ipv4Addr::new(a, b, c, d).to_bits()
}

/// Most specific entries first: the first match names the reason.
const V4_RANGES: &[(u32, u32, BlockReason)] = &[
    (v4(169, 254, 169, 254), 32, BlockReason::CloudMetadata), // AWS, GCP, Azure, OpenStack...
    (v4(100, 100, 100, 200), 32, BlockReason::CloudMetadata), // Alibaba Cloud
    (v4(168, 63, 129, 16), 32, BlockReason::CloudMetadata),   // Azure WireServer (public space)
    (v4(192, 0, 0, 192), 32, BlockReason::CloudMetadata),     // Oracle Cloud
    (v4(255, 255, 255, 255), 32, BlockReason::Broadcast),
    (v4(0, 0, 0, 0), 8, BlockReason::Unspecified),
    (v4(10, 0, 0, 0), 8, BlockReason::Private),
    (v4(172, 16, 0, 0), 12, BlockReason::Private),
    (v4(192, 168, 0, 0), 16, BlockReason::Private),
    (v4(100, 64, 0, 0), 10, BlockReason::SharedAddressSpace),
    (v4(127, 0, 0, 0), 8, BlockReason::Loopback),
    (v4(169, 254, 0, 0), 16, BlockReason::LinkLocal),
    (v4(192, 0, 0, 0), 24, BlockReason::ProtocolAssignment),
    (v4(192, 0, 2, 0), 24, BlockReason::Documentation),
    (v4(198, 51, 100, 0), 24, BlockReason::Documentation),
    (v4(203, 0, 113, 0), 24, BlockReason::Documentation),
    (v4(198, 18, 0, 0), 15, BlockReason::Benchmarking),
    (v4(192, 88, 99, 0), 24, BlockReason::Reserved), // deprecated 6to4 relay anycast
    (v4(224, 0, 0, 0), 4, BlockReason::Multicast),
    (v4(240, 0, 0, 0), 4, BlockReason::Reserved),
];

fn classify_v4(ip: Ipv4Addr) -> Option<BlockReason> {
    let bits = ip.to_bits();
    V4_RANGES
        .iter()
        .find(|&&(net, len, _)| {
            bits.checked_shr(32 - len).unwrap_or(0) == net.checked_shr(32 - len).unwrap_or(0)
        })
        .map(|&(_, _, reason)| reason)
}

const fn v6(segments: [u16; 8]) -> u128 {
    let [a, b, c, d, e, f, g, h] = segments;
    Ipv6Addr::new(a, b, c, d, e, f, g, h).to_bits()
}

/// Ranges without an embedded IPv4 address; most specific first.
const V6_RANGES: &[(u128, u32, BlockReason)] = &[
    (
        v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254]),
        128,
        BlockReason::CloudMetadata,
    ), // AWS IMDS
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48, BlockReason::Nat64), // local-use NAT64
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0]), 64, BlockReason::Reserved),  // discard-only
    (
        v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0]),
        32,
        BlockReason::Documentation,
    ),
    (
        v6([0x3fff, 0, 0, 0, 0, 0, 0, 0]),
        20,
        BlockReason::Documentation,
    ),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0]),
        23,
        BlockReason::ProtocolAssignment,
    ),
    (v6([0x5f00, 0, 0, 0, 0, 0, 0, 0]), 16, BlockReason::Reserved), // SRv6 SIDs
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0]),
        7,
        BlockReason::UniqueLocal,
    ),
    (
        v6([0xfe80, 0, 0, 0, 0, 0, 0, 0]),
        10,
        BlockReason::LinkLocal,
    ),
    (v6([0xfec0, 0, 0, 0, 0, 0, 0, 0]), 10, BlockReason::Private), // deprecated site-local
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0]), 8, BlockReason::Multicast),
];

fn prefix_matches_v6(bits: u128, net: u128, len: u32) -> bool {
    bits.checked_shr(128 - len).unwrap_or(0) == net.checked_shr(128 - len).unwrap_or(0)
}

fn classify_v6(ip: Ipv6Addr) -> Option<BlockReason> {
    let bits = ip.to_bits();
    match bits {
        0 => return Some(BlockReason::Unspecified),
        1 => return Some(BlockReason::Loopback),
        _ => {}
    }
    // Ranges that carry an IPv4 address: classify that address too, so that the permissive
    // guard does not let ::ffff:169.254.169.254 through as "just a mapped address".
    let low32 = Ipv4Addr::from_bits(bits as u32);
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(embedded(mapped, BlockReason::Ipv4Mapped));
    }
    if prefix_matches_v6(bits, 0, 96) {
        return Some(embedded(low32, BlockReason::Ipv4Compatible));
    }
    if prefix_matches_v6(bits, v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0]), 96) {
        return Some(embedded(low32, BlockReason::Nat64));
    }
    // Local-use NAT64 (RFC 8215): where the IPv4 address sits depends on the operator's prefix
    // length, so only the one address worth escaping for, cloud metadata in the usual low 32
    // bits, outranks "NAT64" (which the permissive guard allows).
    if prefix_matches_v6(bits, v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0]), 48) {
        return Some(match classify_v4(low32) {
            Some(BlockReason::CloudMetadata) => BlockReason::CloudMetadata,
            _ => BlockReason::Nat64,
        });
    }
    if prefix_matches_v6(bits, v6([0x2002, 0, 0, 0, 0, 0, 0, 0]), 16) {
        return Some(embedded(
            Ipv4Addr::from_bits((bits >> 80) as u32),
            BlockReason::SixToFour,
        ));
    }
    if let Some(&(_, _, reason)) = V6_RANGES
        .iter()
        .find(|&&(net, len, _)| prefix_matches_v6(bits, net, len))
    {
        return Some(reason);
    }
    // Only 2000::/3 is allocated as global unicast; everything else is reserved space.
    if !prefix_matches_v6(bits, v6([0x2000, 0, 0, 0, 0, 0, 0, 0]), 3) {
        return Some(BlockReason::Reserved);
    }
    None
}

/// The reason for an IPv6 address carrying `inner`: the inner address's own reason when that one
/// is refused even by the permissive guard, else the wrapper's.
fn embedded(inner: Ipv4Addr, wrapper: BlockReason) -> BlockReason {
    match classify_v4(inner) {
        Some(r) if r.refused_by_permissive() => r,
        _ => wrapper,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    #[test]
    fn classifies_representative_addresses() {
        let cases = [
            ("127.0.0.1", BlockReason::Loopback),
            ("10.1.2.3", BlockReason::Private),
            ("172.31.255.255", BlockReason::Private),
            ("192.168.1.1", BlockReason::Private),
            ("100.64.0.1", BlockReason::SharedAddressSpace),
            ("169.254.169.254", BlockReason::CloudMetadata),
            ("169.254.1.1", BlockReason::LinkLocal),
            ("0.0.0.0", BlockReason::Unspecified),
            ("255.255.255.255", BlockReason::Broadcast),
            ("::ffff:127.0.0.1", BlockReason::Ipv4Mapped),
            ("::ffff:169.254.169.254", BlockReason::CloudMetadata),
            ("64:ff9b::a9fe:a9fe", BlockReason::CloudMetadata),
            ("64:ff9b:1::a9fe:a9fe", BlockReason::CloudMetadata),
            ("64:ff9b::808:808", BlockReason::Nat64),
            ("::127.0.0.1", BlockReason::Ipv4Compatible),
            ("2002:7f00:1::", BlockReason::SixToFour),
            ("fd00:ec2::254", BlockReason::CloudMetadata),
        ];
        for (addr, reason) in cases {
            assert_eq!(classify(ip(addr)), Some(reason), "{addr}");
        }
        assert_eq!(classify(ip("8.8.8.8")), None);
        assert_eq!(classify(ip("172.32.0.1")), None);
        assert_eq!(classify(ip("2606:4700::1111")), None);
    }

    #[test]
    fn localhost_names() {
        assert!(is_localhost_name("localhost"));
        assert!(is_localhost_name("LocalHost."));
        assert!(is_localhost_name("app.localhost"));
        assert!(!is_localhost_name("notlocalhost"));
        assert!(!is_localhost_name("localhost.example.com"));
    }

    #[test]
    fn blocked_message_names_the_reason_without_settings() {
        let err = NetworkGuard::strict()
            .check_ip(ip("127.0.0.1"))
            .expect_err("loopback is blocked");
        assert_eq!(
            err.to_string(),
            "127.0.0.1 is not allowed by the network guard (loopback)"
        );
    }
}
