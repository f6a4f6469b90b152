//! The proxy's connections: HTTP/1.1 from Chromium (hyper), `CONNECT` tunnels and plain-HTTP
//! forwarding, each upstream connection made to an address the guard checked.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Policy, Shared};
use crate::guard::GuardError;

type Body = BoxBody<Bytes, hyper::Error>;

/// How long one upstream connect may take before the next checked address is tried.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Headers that belong to one hop (RFC 9110 §7.6.1) and are never passed on, plus the proxy's
/// own credentials header, which must not leak to the site.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Accepts Chromium's connections until `stop` fires.
pub(super) async fn serve(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken) {
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors, say: wait a little rather than spin.
                tracing::warn!(error = %e, "browser proxy could not accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Bound to 127.0.0.1, so this holds; a belt for the braces.
        if !peer.ip().is_loopback() {
            continue;
        }
        let shared = Arc::clone(&shared);
        let stop = stop.clone();
        tokio::spawn(async move {
            let conn_stop = stop.clone();
            let service = service_fn(move |req| {
                let shared = Arc::clone(&shared);
                let stop = conn_stop.clone();
                async move { Ok::<_, Infallible>(handle(req, shared, stop).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades();
            tokio::select! {
                _ = stop.cancelled() => {}
                result = conn => {
                    if let Err(e) = result {
                        tracing::debug!(error = %e, "browser proxy connection ended with an error");
                    }
                }
            }
        });
    }
}

async fn handle(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Response<Body> {
    if req.method() == Method::CONNECT {
        tunnel(req, shared, stop).await
    } else {
        forward(req, shared, stop).await
    }
}

/// Why the proxy did not connect.
enum Failure {
    Refused(GuardError),
    RefusedAll,
    BadRequest(&'static str),
    Unreachable(std::io::Error),
}

impl Failure {
    fn response(self, shared: &Shared, host: &str, port: u16) -> Response<Body> {
        match self {
            Failure::Refused(error) => {
                let error = shared.refuse(host, port, error);
                text(
                    StatusCode::FORBIDDEN,
                    format!("GrandmaScraper's network guard refused this request: {error}\n"),
                )
            }
            Failure::RefusedAll => {
                shared.refuse_outside_run(host, port);
                text(
                    StatusCode::FORBIDDEN,
                    "GrandmaScraper's browser reaches the network only from a run\n".to_owned(),
                )
            }
            Failure::BadRequest(why) => text(StatusCode::BAD_REQUEST, format!("{why}\n")),
            Failure::Unreachable(e) => {
                shared.unreachable(host, port, &e);
                text(
                    StatusCode::BAD_GATEWAY,
                    format!("could not connect to {host}: {e}\n"),
                )
            }
        }
    }
}

/// Checks `url`'s host the way a job's URL is checked, resolves it once through the guard and
/// connects to the first checked address that answers.
async fn connect_checked(shared: &Shared, url: &Url, port: u16) -> Result<TcpStream, Failure> {
    let guard = match &shared.policy {
        Policy::Guard(guard) => guard,
        Policy::RefuseAll => return Err(Failure::RefusedAll),
    };
    guard.check_url(url).map_err(Failure::Refused)?;
    let host = url
        .host_str()
        .ok_or(Failure::BadRequest("the request names no host"))?;
    let addrs: Vec<SocketAddr> = guard.resolve(host, port).await.map_err(Failure::Refused)?;
    let mut last_error = None;
    for addr in addrs {
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => {
                stream.set_nodelay(true).ok();
                shared.stats.connected.fetch_add(1, Ordering::Relaxed);
                return Ok(stream);
            }
            Ok(Err(e)) => last_error = Some(e),
            Err(_) => {
                last_error = Some(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the connection timed out",
                ));
            }
        }
    }
    Err(Failure::Unreachable(last_error.unwrap_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::NotFound, "no address to connect to")
    })))
}

/// `CONNECT host:port`: connect first (so a refusal is the tunnel's failure, which the browser
/// reports as such), answer 200, then copy bytes both ways until either side closes.
async fn tunnel(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Response<Body> {
    let Some(authority) = req.uri().authority().cloned() else {
        return text(
            StatusCode::BAD_REQUEST,
            "CONNECT needs host:port\n".to_owned(),
        );
    };
    let host = authority.host().to_owned();
    let Some(port) = authority.port_u16().filter(|p| *p != 0) else {
        return text(StatusCode::BAD_REQUEST, "CONNECT needs a port\n".to_owned());
    };
    // The scheme only selects how the URL is read; the guard decides on the host.
    let url = match Url::parse(&format!("https://{authority}/")) {
        Ok(url) if url.username().is_empty() && url.password().is_none() => url,
        _ => {
            return text(
                StatusCode::BAD_REQUEST,
                "malformed CONNECT target\n".to_owned(),
            );
        }
    };
    let upstream = match connect_checked(&shared, &url, port).await {
        Ok(stream) => stream,
        Err(failure) => return failure.response(&shared, &host, port),
    };
    tokio::spawn(async move {
        let upgraded = match hyper::upgrade::on(req).await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!(error = %e, "browser proxy: the tunnel was not upgraded");
                return;
            }
        };
        let mut client = TokioIo::new(upgraded);
        let mut upstream = upstream;
        tokio::select! {
            _ = stop.cancelled() => {}
            copied = tokio::io::copy_bidirectional(&mut client, &mut upstream) => {
                if let Ok((_, down)) = copied {
                    shared.stats.bytes_in.fetch_add(down, Ordering::Relaxed);
                }
            }
        }
    });
    Response::new(empty())
}

/// An absolute-form `GET http://host/path`: one upstream connection per request, to a checked
/// address, with the request line made origin-form and hop-by-hop headers removed.
async fn forward(
    req: Request<Incoming>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) -> Response<Body> {
    let uri = req.uri();
    let (Some("http"), Some(authority)) = (uri.scheme_str(), uri.authority().cloned()) else {
        return text(
            StatusCode::BAD_REQUEST,
            "this proxy forwards absolute http:// URLs and CONNECT only\n".to_owned(),
        );
    };
    let url = match Url::parse(&uri.to_string()) {
        Ok(url) => url,
        Err(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "malformed request URL\n".to_owned(),
            );
        }
    };
    let host = authority.host().to_owned();
    let port = url.port_or_known_default().unwrap_or(80);
    let stream = match connect_checked(&shared, &url, port).await {
        Ok(stream) => stream,
        Err(failure) => return failure.response(&shared, &host, port),
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => {
            return text(
                StatusCode::BAD_GATEWAY,
                format!("could not talk to {host}: {e}\n"),
            );
        }
    };
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = conn => {}
        }
    });

    let (mut parts, body) = req.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    parts.uri = match path.parse() {
        Ok(uri) => uri,
        Err(_) => {
            return text(
                StatusCode::BAD_REQUEST,
                "malformed request path\n".to_owned(),
            );
        }
    };
    strip_hop_by_hop(&mut parts.headers);
    if let Ok(value) = HeaderValue::from_str(authority.as_str()) {
        parts.headers.insert(header::HOST, value);
    }
    let response = match sender.send_request(Request::from_parts(parts, body)).await {
        Ok(response) => response,
        Err(e) => {
            return text(
                StatusCode::BAD_GATEWAY,
                format!("{host} did not answer: {e}\n"),
            );
        }
    };
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    let counter = Arc::clone(&shared);
    let body = body
        .map_frame(move |frame: Frame<Bytes>| {
            if let Some(data) = frame.data_ref() {
                counter
                    .stats
                    .bytes_in
                    .fetch_add(data.len() as u64, Ordering::Relaxed);
            }
            frame
        })
        .boxed();
    Response::from_parts(parts, body)
}

/// Removes the hop-by-hop headers, including those the `Connection` header names.
fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let named: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in named {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(name);
    }
}

fn empty() -> Body {
    Full::new(Bytes::new())
        .map_err(|never| match never {})
        .boxed()
}

fn text(status: StatusCode, body: String) -> Response<Body> {
    let mut response = Response::new(
        Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed(),
    );
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
