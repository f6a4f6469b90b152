//! The guarded forward proxy on its own, spoken to over raw TCP as Chromium would (and as a
//! hostile client might): tunnels and plain-HTTP forwarding to allowed addresses only, a 403
//! that says why for the rest, and malformed or oversized requests refused without harm.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use grandma_engine::fetch::browser::proxy::{FailureKind, GuardedProxy, Policy};
use grandma_engine::guard::{BlockReason, GuardError, NetworkGuard};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A server that records the first request it gets and answers a fixed response.
struct Upstream {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    seen: Arc<tokio::sync::Mutex<String>>,
}

async fn upstream(ip: &str) -> Upstream {
    let listener = TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(tokio::sync::Mutex::new(String::new()));
    let (count, record) = (Arc::clone(&accepted), Arc::clone(&seen));
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let record = Arc::clone(&record);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let n = stream.read(&mut buf).await.unwrap_or(0);
                *record.lock().await = String::from_utf8_lossy(&buf[..n]).into_owned();
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
                    )
                    .await;
            });
        }
    });
    Upstream {
        addr,
        accepted,
        seen,
    }
}

fn only(ip: &str) -> Policy {
    Policy::Guard(NetworkGuard::strict().allow_networks([format!("{ip}/32").parse().unwrap()]))
}

/// Sends `request` to the proxy and reads until the proxy closes or 2 s pass.
async fn ask(proxy: &GuardedProxy, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn a_tunnel_to_an_allowed_address_carries_bytes_both_ways() {
    let site = upstream("127.0.0.1").await;
    let proxy = GuardedProxy::start(only("127.0.0.1")).unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let connect = format!("CONNECT {0} HTTP/1.1\r\nHost: {0}\r\n\r\n", site.addr);
    stream.write_all(connect.as_bytes()).await.unwrap();
    let mut head = [0u8; 128];
    let n = stream.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    stream
        .write_all(b"GET /through HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.ends_with("hello"), "{answer}");
    assert!(site.seen.lock().await.starts_with("GET /through "));
}

#[tokio::test]
async fn a_tunnel_to_a_refused_address_is_a_403_that_says_why_and_connects_nothing() {
    let other = upstream("127.0.0.2").await;
    let proxy = GuardedProxy::start(only("127.0.0.5")).unwrap();
    let mark = proxy.failure_mark();
    for target in [
        other.addr.to_string(),
        format!("localhost:{}", other.addr.port()),
        format!("127.0.0.1:{}", other.addr.port()),
        format!("[::1]:{}", other.addr.port()),
        format!("[::ffff:127.0.0.2]:{}", other.addr.port()),
    ] {
        let answer = ask(
            &proxy,
            format!("CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n").as_bytes(),
        )
        .await;
        assert!(answer.starts_with("HTTP/1.1 403"), "{target}: {answer}");
        assert!(
            answer.contains("not allowed by the network guard"),
            "{target}: {answer}"
        );
    }
    let failure = proxy
        .failure_since(mark, Some("127.0.0.2"))
        .expect("logged");
    assert!(matches!(
        failure.kind,
        FailureKind::Refused(GuardError::Blocked {
            reason: BlockReason::Loopback,
            ..
        })
    ));
    assert_eq!(other.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn plain_http_is_forwarded_origin_form_without_the_proxy_headers() {
    let site = upstream("127.0.0.1").await;
    let proxy = GuardedProxy::start(only("127.0.0.1")).unwrap();
    let request = format!(
        "GET http://{0}/page?q=1 HTTP/1.1\r\nHost: evil.example\r\nProxy-Connection: keep-alive\r\n\
         Proxy-Authorization: Basic c2VjcmV0\r\nConnection: close\r\n\r\n",
        site.addr
    );
    let answer = ask(&proxy, request.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
        "{answer}"
    );
    let seen = site.seen.lock().await.to_ascii_lowercase();
    assert!(seen.starts_with("get /page?q=1 http/1.1"), "{seen}");
    assert!(seen.contains(&format!("host: {}", site.addr)), "{seen}");
    assert!(!seen.contains("proxy-"), "{seen}");
}

#[tokio::test]
async fn malformed_and_oversized_requests_are_refused_without_reaching_anyone() {
    let site = upstream("127.0.0.1").await;
    let proxy = GuardedProxy::start(only("127.0.0.1")).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (
            b"CONNECT 127.0.0.1 HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            b"CONNECT 127.0.0.1:0 HTTP/1.1\r\n\r\n".to_vec(),
            "HTTP/1.1 400",
        ),
        (
            format!("GET /relative HTTP/1.1\r\nHost: {}\r\n\r\n", site.addr).into_bytes(),
            "HTTP/1.1 400",
        ),
        (
            format!("GET https://{}/ HTTP/1.1\r\n\r\n", site.addr).into_bytes(),
            "HTTP/1.1 400",
        ),
        (
            format!("GET ftp://{}/ HTTP/1.1\r\n\r\n", site.addr).into_bytes(),
            "HTTP/1.1 400",
        ),
        (
            format!("GET http://user:pw@{}/ HTTP/1.1\r\n\r\n", site.addr).into_bytes(),
            "HTTP/1.1 403",
        ),
        (b"NONSENSE\r\n\r\n".to_vec(), "HTTP/1.1 400"),
    ];
    for (request, want) in cases {
        let answer = ask(&proxy, &request).await;
        let request = String::from_utf8_lossy(&request);
        assert!(answer.starts_with(want), "{request:?}: {answer}");
        assert_eq!(
            site.accepted.load(Ordering::SeqCst),
            0,
            "{request:?} reached the site"
        );
    }
    // 1 MiB of headers: refused by the HTTP parser, the proxy keeps serving.
    let mut huge = format!("GET http://{}/ HTTP/1.1\r\nX: ", site.addr).into_bytes();
    huge.extend(std::iter::repeat_n(b'a', 1 << 20));
    huge.extend_from_slice(b"\r\n\r\n");
    let answer = ask(&proxy, &huge).await;
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer}"
    );
    assert_eq!(
        site.accepted.load(Ordering::SeqCst),
        0,
        "nothing reached the site"
    );
    let answer = ask(
        &proxy,
        format!(
            "GET http://{}/ok HTTP/1.1\r\nConnection: close\r\n\r\n",
            site.addr
        )
        .as_bytes(),
    )
    .await;
    assert!(answer.ends_with("hello"), "still serving: {answer}");
}

#[tokio::test]
async fn the_browser_wide_proxy_refuses_everything() {
    let site = upstream("127.0.0.1").await;
    let proxy = GuardedProxy::start(Policy::RefuseAll).unwrap();
    let answer = ask(
        &proxy,
        format!("CONNECT {0} HTTP/1.1\r\n\r\n", site.addr).as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    let answer = ask(
        &proxy,
        format!("GET http://{}/ HTTP/1.1\r\n\r\n", site.addr).as_bytes(),
    )
    .await;
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert_eq!(site.accepted.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn dropping_the_proxy_closes_its_tunnels() {
    let site = upstream("127.0.0.1").await;
    let proxy = GuardedProxy::start(only("127.0.0.1")).unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream
        .write_all(format!("CONNECT {0} HTTP/1.1\r\n\r\n", site.addr).as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).await.unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 200"));
    drop(proxy);
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(2), stream.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the tunnel closed with the proxy");
}
