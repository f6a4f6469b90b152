//! SSRF through the browser. Raw TCP and UDP canaries listen on 127.0.0.1, ::1 and 127.0.0.2;
//! the fixture is served on 127.0.0.5 and the guard allows exactly that /32. A hostile page
//! tries every way a page can make the browser reach the canaries (fetch, XHR, images,
//! iframes, scripts, styles, WebSockets, EventSource, beacons, prefetch and preconnect links,
//! WebRTC, redirects, `location =` in frames and at the top), under every spelling (localhost,
//! decimal and hex IPv4, IPv4-mapped IPv6, 0.0.0.0, `*.localhost`, and a DNS name that
//! resolves to loopback). The canaries must receive nothing; a last check proves they would
//! have noticed.

mod browser_support;

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use browser_support::*;
use grandma_engine::crawl::RunStatus;

/// A TCP and a UDP socket on one address, counting whatever arrives.
struct Canary {
    addr: SocketAddr,
    hits: Arc<AtomicUsize>,
}

async fn canary(ip: IpAddr, port: u16) -> Option<Canary> {
    let tcp = tokio::net::TcpListener::bind((ip, port)).await.ok()?;
    let addr = tcp.local_addr().ok()?;
    let udp = tokio::net::UdpSocket::bind(addr).await.ok()?;
    let hits = Arc::new(AtomicUsize::new(0));
    let tcp_hits = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((_stream, peer)) = tcp.accept().await {
            eprintln!("canary {addr}: TCP connection from {peer}");
            tcp_hits.fetch_add(1, Ordering::SeqCst);
        }
    });
    let udp_hits = Arc::clone(&hits);
    tokio::spawn(async move {
        let mut buf = [0u8; 2048];
        loop {
            match udp.recv_from(&mut buf).await {
                Ok((_, peer)) => {
                    eprintln!("canary {addr}: UDP datagram from {peer}");
                    udp_hits.fetch_add(1, Ordering::SeqCst);
                }
                // An error report of an earlier datagram's path, not a visit.
                Err(e) => eprintln!("canary {addr}: UDP error {e}"),
            }
        }
    });
    Some(Canary { addr, hits })
}

/// Canaries on 127.0.0.1, [::1] and 127.0.0.2, all on one port number so every spelling of
/// the address names the same port.
async fn canaries() -> Vec<Canary> {
    for _ in 0..50 {
        let Some(first) = canary("127.0.0.1".parse().unwrap(), 0).await else {
            continue;
        };
        let port = first.addr.port();
        let (Some(v6), Some(other)) = (
            canary("::1".parse().unwrap(), port).await,
            canary("127.0.0.2".parse().unwrap(), port).await,
        ) else {
            continue;
        };
        return vec![first, v6, other];
    }
    panic!("could not bind canaries on one port of 127.0.0.1, ::1 and 127.0.0.2");
}

/// Names this machine resolves to a loopback address without them being `localhost`: what a
/// DNS-rebinding attacker's name looks like to the guard.
fn loopback_names() -> Vec<String> {
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    [
        hostname.trim(),
        "ip6-localhost",
        "ip6-loopback",
        "localhost.localdomain",
    ]
    .into_iter()
    .filter(|name| !name.is_empty())
    .filter(|name| {
        (*name, 80)
            .to_socket_addrs()
            .is_ok_and(|mut addrs| addrs.any(|a| a.ip().is_loopback()))
    })
    .map(str::to_owned)
    .collect()
}

/// Every spelling of a canary the page tries, `http://host:port`.
fn targets(port: u16, names: &[String]) -> Vec<String> {
    let mut hosts: Vec<String> = [
        "127.0.0.1",
        "localhost",
        "LocalHost.",
        "canary.localhost",
        "[::1]",
        "127.0.0.2",
        "2130706433",
        "0x7f000001",
        "0x7f.0.0.2",
        "127.1",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "[::ffff:7f00:2]",
        "0.0.0.0",
        "[::]",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    hosts.extend(names.iter().cloned());
    hosts
        .into_iter()
        .map(|h| format!("http://{h}:{port}"))
        .collect()
}

#[derive(Clone)]
struct Hostile {
    targets: Arc<Vec<String>>,
    port: u16,
    reports: Arc<std::sync::Mutex<Vec<String>>>,
}

#[derive(serde::Deserialize)]
struct To {
    to: String,
}

/// The page: every kind of request to every target, then one row saying how many it made.
async fn hostile(State(h): State<Hostile>) -> Html<String> {
    let targets = serde_json::to_string(&*h.targets).unwrap();
    let port = h.port;
    Html(format!(
        r#"<!doctype html><html><head>
<link rel="preconnect" href="http://127.0.0.1:{port}">
<link rel="dns-prefetch" href="//localhost:{port}">
<link rel="prefetch" href="http://127.0.0.1:{port}/prefetch">
<link rel="stylesheet" href="http://127.0.0.1:{port}/style.css">
<style>body {{ background-image: url(http://[::1]:{port}/bg.png); }}
@font-face {{ font-family: x; src: url(http://127.0.0.2:{port}/font.woff); }}
p {{ font-family: x; }}</style>
</head><body><p>hostile <span id="tick"></span></p><div id="out"></div>
<video src="http://127.0.0.1:{port}/video.mp4" autoplay muted></video>
<audio src="http://localhost:{port}/audio.mp3" autoplay></audio>
<object data="http://127.0.0.2:{port}/object"></object>
<embed src="http://127.0.0.2:{port}/embed">
<script src="http://127.0.0.1:{port}/script.js"></script>
<script>
  const targets = {targets};
  const tried = [];
  const quietly = (f) => {{ try {{ const p = f(); if (p && p.catch) p.catch(() => {{}}); }} catch (e) {{}} }};
  for (const t of targets) {{
    const host = t.replace('http://', '');
    quietly(() => fetch(t + '/fetch'));
    quietly(() => fetch(t + '/nocors', {{ mode: 'no-cors' }}));
    quietly(() => {{ const x = new XMLHttpRequest(); x.open('GET', t + '/xhr'); x.send(); }});
    quietly(() => {{ const i = new Image(); i.src = t + '/img.png'; document.body.appendChild(i); }});
    quietly(() => {{ const f = document.createElement('iframe'); f.src = t + '/frame'; document.body.appendChild(f); }});
    quietly(() => {{ const f = document.createElement('iframe'); f.src = '/redirect?to=' + encodeURIComponent(t + '/frame-redirect'); document.body.appendChild(f); }});
    quietly(() => {{ const f = document.createElement('iframe'); f.srcdoc = '<script>location = ' + JSON.stringify(t + '/frame-location') + '</scr' + 'ipt>'; document.body.appendChild(f); }});
    quietly(() => new WebSocket('ws://' + host + '/ws'));
    quietly(() => {{ const e = new EventSource(t + '/events'); setTimeout(() => e.close(), 2000); }});
    quietly(() => navigator.sendBeacon(t + '/beacon', 'x'));
    quietly(() => fetch('/redirect?to=' + encodeURIComponent(t + '/fetch-redirect')));
    quietly(() => window.open(t + '/popup'));
    quietly(() => {{ const s = document.createElement('script'); s.src = t + '/dyn.js'; document.head.appendChild(s); }});
    quietly(() => {{ const l = document.createElement('link'); l.rel = 'stylesheet'; l.href = t + '/dyn.css'; document.head.appendChild(l); }});
    tried.push(host);
  }}
  // WebRTC: STUN over UDP and TURN over TCP to the canaries.
  quietly(async () => {{
    const pc = new RTCPeerConnection({{ iceServers: [
      {{ urls: 'stun:127.0.0.1:{port}' }},
      {{ urls: 'stun:[::1]:{port}' }},
      {{ urls: 'turn:127.0.0.2:{port}?transport=udp', username: 'u', credential: 'p' }},
      {{ urls: 'turn:127.0.0.1:{port}?transport=tcp', username: 'u', credential: 'p' }},
    ] }});
    pc.createDataChannel('x');
    await pc.setLocalDescription(await pc.createOffer());
  }});
  // The same-origin control: this one must work, through the proxy.
  fetch('/report?what=alive').catch(() => {{}});
  // Busy until the row is there, so the browser waits for it (a quiet page counts as ready).
  const tick = setInterval(() => {{ document.getElementById('tick').textContent = Date.now(); }}, 100);
  setTimeout(() => {{
    clearInterval(tick);
    document.getElementById('out').innerHTML =
      '<div class="row"><span class="name">tried</span><span class="price">' + tried.length + '</span></div>';
  }}, 2500);
</script></body></html>"#
    ))
}

async fn redirect(Query(q): Query<To>) -> Response {
    Redirect::temporary(&q.to).into_response()
}

/// A page whose own script navigates the tab to a canary.
async fn go(Query(q): Query<To>) -> Html<String> {
    Html(format!(
        "<!doctype html><p>leaving</p><script>location = {};</script>",
        serde_json::to_string(&q.to).unwrap()
    ))
}

async fn report(State(h): State<Hostile>, Query(q): Query<To2>) -> &'static str {
    h.reports.lock().unwrap().push(q.what);
    "ok"
}

#[derive(serde::Deserialize)]
struct To2 {
    what: String,
}

#[test]
fn nothing_the_page_does_reaches_a_canary() {
    run(async {
        let canaries = canaries().await;
        let port = canaries[0].addr.port();
        let names = loopback_names();
        assert!(
            !names.is_empty(),
            "this test needs a name other than localhost that resolves to loopback (the host name)"
        );
        let hostile_state = Hostile {
            targets: Arc::new(targets(port, &names)),
            port,
            reports: Arc::default(),
        };
        let app = Router::new()
            .route("/hostile", get(hostile))
            .route("/redirect", get(redirect))
            .route("/go", get(go))
            .route("/report", get(report))
            .with_state(hostile_state.clone());
        let listener = tokio::net::TcpListener::bind((FIXTURE_IP, 0))
            .await
            .unwrap();
        let site = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let url = |path: &str| url::Url::parse(&format!("http://{site}{path}")).unwrap();

        // Media, fonts and images load here, so it is the proxy that stops them, not the
        // blocker that keeps them from being requested at all.
        let extra = "fetcher_type: browser\nload_media: true\nrespect_robots_txt: false";
        let spec = job(&url("/hostile"), ".row", extra);
        let run = run_job(spec, guard_for(site), true, Collect::default(), None).await;
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        let tried = hostile_state.targets.len().to_string();
        assert_eq!(
            run.sink.rows(),
            vec![format!("tried={tried}")],
            "the page ran its attacks: {}",
            run.warnings()
        );
        assert_eq!(
            *hostile_state.reports.lock().unwrap(),
            vec!["alive".to_owned()],
            "allowed requests still go through"
        );

        // Top-level navigations: a redirect to each spelling, and a script's `location =`.
        let spec_for = |start: url::Url| {
            job(
                &start,
                ".row",
                "fetcher_type: browser\nretry_count: 0\nrespect_robots_txt: false",
            )
        };
        for target in hostile_state.targets.iter() {
            let to = format!("{target}/top");
            for start in [
                url(&format!("/redirect?to={}", urlencode(&to))),
                url(&format!("/go?to={}", urlencode(&to))),
            ] {
                let run = run_job(
                    spec_for(start.clone()),
                    guard_for(site),
                    true,
                    Collect::default(),
                    None,
                )
                .await;
                assert_eq!(
                    run.outcome.status,
                    RunStatus::Failed,
                    "{start}: {:?}",
                    run.outcome
                );
                let error = run.outcome.error.unwrap_or_default();
                assert!(
                    error.contains("not allowed by the network guard")
                        || error.contains("could not resolve")
                        || error.contains("only http and https"),
                    "{start}: {error}"
                );
            }
        }

        // Give anything still in flight a moment, then: nothing arrived anywhere.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        for c in &canaries {
            assert_eq!(
                c.hits.load(Ordering::SeqCst),
                0,
                "canary {} was reached",
                c.addr
            );
        }

        // The canaries do notice a visit: connect and send to each.
        for c in &canaries {
            let _stream = tokio::net::TcpStream::connect(c.addr).await.unwrap();
            let udp = tokio::net::UdpSocket::bind((c.addr.ip(), 0)).await.unwrap();
            udp.send_to(b"x", c.addr).await.unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            assert_eq!(c.hits.load(Ordering::SeqCst), 2, "canary {} counts", c.addr);
        }
    })
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
