//! The network guard's decisions: every blocked range, public addresses, the permissive mode,
//! the allow-list, URL checks and DNS resolution.

use std::net::IpAddr;

use grandma_engine::guard::{BlockReason, GuardError, NetworkGuard, classify};
use ipnet::IpNet;
use url::Url;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn net(s: &str) -> IpNet {
    s.parse().expect("test network")
}

fn reason(guard: &NetworkGuard, addr: &str) -> Option<BlockReason> {
    match guard.check_ip(ip(addr)) {
        Ok(()) => None,
        Err(GuardError::Blocked { reason, .. }) => Some(reason),
        Err(other) => panic!("{addr}: unexpected {other:?}"),
    }
}

/// One representative address per range, with the reason the strict guard gives.
const BLOCKED: &[(&str, BlockReason)] = &[
    ("0.0.0.0", BlockReason::Unspecified),
    ("0.1.2.3", BlockReason::Unspecified),
    ("10.0.0.1", BlockReason::Private),
    ("172.16.0.1", BlockReason::Private),
    ("192.168.0.1", BlockReason::Private),
    ("100.64.0.1", BlockReason::SharedAddressSpace),
    ("100.127.255.254", BlockReason::SharedAddressSpace),
    ("127.0.0.1", BlockReason::Loopback),
    ("127.255.255.254", BlockReason::Loopback),
    ("169.254.0.1", BlockReason::LinkLocal),
    ("169.254.169.254", BlockReason::CloudMetadata),
    ("100.100.100.200", BlockReason::CloudMetadata),
    ("168.63.129.16", BlockReason::CloudMetadata),
    ("192.0.0.1", BlockReason::ProtocolAssignment),
    ("192.0.2.1", BlockReason::Documentation),
    ("198.51.100.1", BlockReason::Documentation),
    ("203.0.113.1", BlockReason::Documentation),
    ("198.18.0.1", BlockReason::Benchmarking),
    ("198.19.255.1", BlockReason::Benchmarking),
    ("192.88.99.1", BlockReason::Reserved),
    ("224.0.0.1", BlockReason::Multicast),
    ("239.255.255.250", BlockReason::Multicast),
    ("240.0.0.1", BlockReason::Reserved),
    ("255.255.255.255", BlockReason::Broadcast),
    ("::", BlockReason::Unspecified),
    ("::1", BlockReason::Loopback),
    ("::ffff:127.0.0.1", BlockReason::Ipv4Mapped),
    ("::ffff:8.8.8.8", BlockReason::Ipv4Mapped),
    ("::ffff:169.254.169.254", BlockReason::CloudMetadata),
    ("::127.0.0.1", BlockReason::Ipv4Compatible),
    ("64:ff9b::a9fe:a9fe", BlockReason::CloudMetadata),
    ("64:ff9b::a00:1", BlockReason::Nat64),
    ("64:ff9b:1::1", BlockReason::Nat64),
    ("2002:a00:1::1", BlockReason::SixToFour),
    ("2001::1", BlockReason::ProtocolAssignment), // Teredo
    ("2001:db8::1", BlockReason::Documentation),
    ("3fff::1", BlockReason::Documentation),
    ("100::1", BlockReason::Reserved),
    ("fc00::1", BlockReason::UniqueLocal),
    ("fd12:3456::1", BlockReason::UniqueLocal),
    ("fd00:ec2::254", BlockReason::CloudMetadata),
    ("fe80::1", BlockReason::LinkLocal),
    ("febf::1", BlockReason::LinkLocal),
    ("fec0::1", BlockReason::Private),
    ("ff02::1", BlockReason::Multicast),
    ("4000::1", BlockReason::Reserved),
];

const PUBLIC: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "93.184.215.14",
    "172.15.255.255",
    "172.32.0.1",
    "100.63.255.255",
    "100.128.0.1",
    "169.253.255.255",
    "198.17.255.255",
    "198.20.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2a00:1450:4001::200e",
    "2001:4860:4860::8888",
];

#[test]
fn strict_blocks_every_special_range() {
    let strict = NetworkGuard::strict();
    for &(addr, expected) in BLOCKED {
        assert_eq!(reason(&strict, addr), Some(expected), "{addr}");
        assert_eq!(classify(ip(addr)), Some(expected), "{addr}");
    }
}

#[test]
fn public_addresses_are_allowed() {
    let strict = NetworkGuard::strict();
    for &addr in PUBLIC {
        assert_eq!(reason(&strict, addr), None, "{addr}");
        assert_eq!(classify(ip(addr)), None, "{addr}");
    }
}

#[test]
fn permissive_allows_private_networks_but_not_unfetchable_targets() {
    let permissive = NetworkGuard::permissive();
    for addr in [
        "127.0.0.1",
        "10.0.0.1",
        "192.168.1.10",
        "100.64.0.1",
        "169.254.1.1",
        "::1",
        "fd00::1",
        "fe80::1",
        "::ffff:192.168.1.1",
    ] {
        assert_eq!(reason(&permissive, addr), None, "{addr}");
    }
    for (addr, expected) in [
        ("0.0.0.0", BlockReason::Unspecified),
        ("::", BlockReason::Unspecified),
        ("224.0.0.1", BlockReason::Multicast),
        ("ff02::1", BlockReason::Multicast),
        ("255.255.255.255", BlockReason::Broadcast),
        ("169.254.169.254", BlockReason::CloudMetadata),
        ("::ffff:0.0.0.0", BlockReason::Unspecified),
        ("::ffff:169.254.169.254", BlockReason::CloudMetadata),
        ("64:ff9b::a9fe:a9fe", BlockReason::CloudMetadata),
    ] {
        assert_eq!(reason(&permissive, addr), Some(expected), "{addr}");
    }
    for &addr in PUBLIC {
        assert_eq!(reason(&permissive, addr), None, "{addr}");
    }
}

#[test]
fn allow_list_opens_exactly_its_networks() {
    let guard = NetworkGuard::strict().allow_networks([net("127.0.0.1/32"), net("10.1.0.0/16")]);
    assert_eq!(reason(&guard, "127.0.0.1"), None);
    assert_eq!(
        reason(&guard, "::ffff:127.0.0.1"),
        None,
        "mapped form of an allowed address"
    );
    assert_eq!(reason(&guard, "10.1.200.3"), None);
    assert_eq!(reason(&guard, "127.0.0.2"), Some(BlockReason::Loopback));
    assert_eq!(reason(&guard, "10.2.0.1"), Some(BlockReason::Private));
    assert_eq!(reason(&guard, "::1"), Some(BlockReason::Loopback));
    // The allow-list also wins over the permissive guard's refusals, when asked for.
    let metadata = NetworkGuard::permissive().allow_networks([net("169.254.169.254/32")]);
    assert_eq!(reason(&metadata, "169.254.169.254"), None);
    // Adding more networks keeps the earlier ones.
    let more = guard.allow_networks([net("192.168.0.0/24")]);
    assert_eq!(more.allowed_networks().len(), 3);
    assert_eq!(reason(&more, "127.0.0.1"), None);
}

fn check(guard: &NetworkGuard, url: &str) -> Result<(), GuardError> {
    guard.check_url(&Url::parse(url).expect(url))
}

#[test]
fn url_scheme_host_and_credentials() {
    let strict = NetworkGuard::strict();
    assert_eq!(check(&strict, "https://example.com/a?b=c"), Ok(()));
    assert_eq!(check(&strict, "http://example.com:8080/"), Ok(()));
    assert_eq!(check(&strict, "http://93.184.215.14/"), Ok(()));
    assert_eq!(check(&strict, "http://[2606:4700:4700::1111]/"), Ok(()));
    for (url, scheme) in [
        ("ftp://example.com/file", "ftp"),
        ("file:///etc/passwd", "file"),
        ("gopher://example.com/", "gopher"),
        ("data:text/html,hi", "data"),
        ("javascript:alert(1)", "javascript"),
    ] {
        assert_eq!(
            check(&strict, url),
            Err(GuardError::Scheme {
                scheme: scheme.into()
            }),
            "{url}"
        );
    }
    // Decided: URLs with credentials are refused (they would leak into logs and results).
    for url in [
        "http://user:pw@example.com/",
        "http://user@example.com/",
        "http://:pw@example.com/",
    ] {
        assert!(
            matches!(check(&strict, url), Err(GuardError::Credentials { .. })),
            "{url}"
        );
    }
    // The classic confusion: the host is the part after the last '@'. Refused either way.
    assert!(check(&strict, "http://example.com@127.0.0.1/").is_err());
}

#[test]
fn ip_literal_spellings_are_normalised_and_caught() {
    let strict = NetworkGuard::strict();
    for url in [
        "http://127.0.0.1/",
        "http://2130706433/",
        "http://0x7f.1/",
        "http://0x7f000001/",
        "http://0177.0.0.1/",
        "http://127.1/",
        "http://127.0.0.1./",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:0:0:1]/",
        "http://169.254.169.254/latest/meta-data/",
        "http://0251.0376.0251.0376/",
        "http://[fd00:ec2::254]/",
        "http://0/",
        "http://localhost/",
        "http://LOCALHOST./",
        "http://api.localhost:8080/",
    ] {
        let err = check(&strict, url).expect_err(url);
        assert!(matches!(err, GuardError::Blocked { .. }), "{url}: {err:?}");
    }
    let loopback = NetworkGuard::strict().allow_networks([net("127.0.0.1/32")]);
    assert_eq!(check(&loopback, "http://2130706433:8080/"), Ok(()));
    assert_eq!(check(&loopback, "http://localhost:8080/"), Ok(()));
    assert_eq!(
        check(&NetworkGuard::permissive(), "http://[::1]:3000/"),
        Ok(())
    );
}

#[test]
fn messages_say_what_and_why_without_setting_names() {
    let err =
        check(&NetworkGuard::strict(), "http://[::ffff:169.254.169.254]/").expect_err("blocked");
    assert_eq!(
        err.to_string(),
        "::ffff:169.254.169.254 is not allowed by the network guard (cloud metadata endpoint)"
    );
    let err = check(&NetworkGuard::strict(), "http://localhost/").expect_err("blocked");
    assert_eq!(
        err.to_string(),
        "localhost resolves to 127.0.0.1, which is not allowed by the network guard (loopback)"
    );
    let err = check(&NetworkGuard::strict(), "ftp://example.com/").expect_err("scheme");
    assert_eq!(
        err.to_string(),
        "only http and https URLs can be fetched, not ftp:"
    );
}

#[tokio::test]
async fn resolution_keeps_only_allowed_addresses() {
    let strict = NetworkGuard::strict();
    let err = strict
        .resolve("localhost", 80)
        .await
        .expect_err("loopback only");
    assert!(
        matches!(err, GuardError::Blocked { reason: BlockReason::Loopback, ref host, .. } if host == "localhost"),
        "{err:?}"
    );

    let loopback = NetworkGuard::strict().allow_networks([net("127.0.0.1/32")]);
    let addrs = loopback.resolve("localhost", 8080).await.expect("allowed");
    assert!(!addrs.is_empty());
    assert!(
        addrs
            .iter()
            .all(|a| a.ip() == ip("127.0.0.1") && a.port() == 8080),
        "{addrs:?}"
    );

    let permissive = NetworkGuard::permissive()
        .resolve("localhost", 1)
        .await
        .expect("permissive");
    assert!(permissive.iter().all(|a| a.ip().is_loopback()));

    // IP literals need no DNS, with or without brackets.
    assert_eq!(
        strict.resolve("8.8.8.8", 53).await.expect("public"),
        vec!["8.8.8.8:53".parse().expect("addr")]
    );
    assert!(strict.resolve("[::1]", 80).await.is_err());
    assert_eq!(
        loopback
            .resolve("[::ffff:127.0.0.1]", 80)
            .await
            .expect("mapped allowed")
            .len(),
        1
    );
}

/// The `reqwest::dns::Resolve` impl refuses the same way, so reqwest never connects.
#[tokio::test]
async fn reqwest_resolver_refuses_blocked_names() {
    use reqwest::dns::Resolve;
    let strict = NetworkGuard::strict();
    let name: reqwest::dns::Name = "localhost".parse().expect("name");
    let err = match Resolve::resolve(&strict, name).await {
        Ok(addrs) => panic!("resolved to {:?}", addrs.collect::<Vec<_>>()),
        Err(err) => err,
    };
    let guard_error = err.downcast_ref::<GuardError>().expect("a GuardError");
    assert!(matches!(guard_error, GuardError::Blocked { .. }));

    let open = NetworkGuard::strict().allow_networks([net("127.0.0.1/32")]);
    let name: reqwest::dns::Name = "localhost".parse().expect("name");
    let addrs: Vec<_> = Resolve::resolve(&open, name)
        .await
        .expect("allowed")
        .collect();
    assert!(addrs.iter().all(|a| a.ip() == ip("127.0.0.1")));
}
