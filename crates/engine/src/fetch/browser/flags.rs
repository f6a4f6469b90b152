//! Chromium's command line. Two jobs: keep the browser quiet (no background traffic, no
//! updates, no crash reports), and close every path to the network that does not go through
//! the guarded proxy. Each network flag names the path it closes; the SSRF tests prove them.

/// Arguments for one browser process, as `(name, value)` without the leading dashes. `proxy` is
/// the browser-wide proxy (one that refuses everything: runs get their own proxy per browser
/// context). The profile directory and the sandbox switch are given to chromiumoxide's builder,
/// which adds them itself (see `pool.rs`).
pub(super) fn chromium_args(proxy: &str) -> Vec<(String, Option<String>)> {
    let mut args: Vec<(String, Option<String>)> = [
        // No window, no GPU: a server has neither.
        "--headless",
        "--disable-gpu",
        "--hide-scrollbars",
        "--mute-audio",
        // Chromium's own traffic: component and extension updates, sync, metrics, crash
        // reports, translation, safe browsing lookups, first-run promos.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-default-apps",
        "--disable-extensions",
        "--disable-component-extensions-with-background-pages",
        "--disable-breakpad",
        "--disable-domain-reliability",
        "--disable-client-side-phishing-detection",
        "--metrics-recording-only",
        "--no-pings",
        "--password-store=basic",
        "--use-mock-keychain",
        // Tabs that are not in front must still run their timers and render at full speed.
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--disable-hang-monitor",
        "--disable-prompt-on-repost",
        // /dev/shm is small in containers; a full one crashes renderers.
        "--disable-dev-shm-usage",
        // --- the network: everything through the proxy, nothing else ---
        // Loopback names and addresses are not exempt from the proxy (Chromium exempts them by
        // default), so 127.0.0.1 and localhost are checked like any other address.
        "--proxy-bypass-list=<-loopback>",
        // Chromium resolves no name itself: with a proxy the proxy resolves, and anything that
        // would look a name up directly (prefetch, preconnect, WebRTC) finds nothing. The one
        // exception is the address of our proxies, which the rule would otherwise hide too.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        "--dns-prefetch-disable",
        // QUIC is UDP and would not go through an HTTP proxy.
        "--disable-quic",
        // WebRTC may only use UDP through a proxy, which an HTTP proxy cannot carry: no
        // peer-to-peer UDP and no STUN to arbitrary addresses.
        "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--webrtc-ip-handling-policy=disable_non_proxied_udp",
        "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,\
         AutofillServerCommunication,CertificateTransparencyComponentUpdater,\
         InterestFeedContentSuggestions,HttpsUpgrades,NetworkTimeServiceQuerying,\
         PrivacySandboxSettings4,LensOverlay",
        // Pop-ups stay blocked: a page cannot open windows of its own.
        "--block-new-web-contents",
        // The DevTools endpoint on a free loopback port; chromiumoxide reads it from stderr.
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
    ]
    .into_iter()
    .map(|flag| {
        let flag = flag.trim_start_matches('-');
        match flag.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (flag.to_owned(), None),
        }
    })
    .collect();
    args.push(("proxy-server".to_owned(), Some(proxy.to_owned())));
    args
}

/// Whether this process runs as root, where Chromium's sandbox cannot start.
pub(super) fn running_as_root() -> bool {
    #[cfg(target_os = "linux")]
    {
        // The effective UID is the second field of `Uid:` in /proc/self/status.
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
            })
            .unwrap_or(false)
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_path_is_closed_or_proxied() {
        let args = chromium_args("http://127.0.0.1:9");
        let has = |name: &str, value: Option<&str>| {
            args.iter().any(|(n, v)| n == name && v.as_deref() == value)
        };
        assert!(has("proxy-server", Some("http://127.0.0.1:9")));
        assert!(has("proxy-bypass-list", Some("<-loopback>")));
        assert!(has(
            "host-resolver-rules",
            Some("MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
        ));
        assert!(has(
            "force-webrtc-ip-handling-policy",
            Some("disable_non_proxied_udp")
        ));
        for switch in [
            "disable-quic",
            "dns-prefetch-disable",
            "disable-background-networking",
            "headless",
            "disable-gpu",
        ] {
            assert!(has(switch, None), "missing --{switch}");
        }
        // chromiumoxide keys its arguments by name: one name, one entry.
        let mut names: Vec<&str> = args.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), args.len());
    }
}
