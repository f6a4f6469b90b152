//! Helpers shared by the `fetch_*` integration tests: fixture servers on 127.0.0.1:0, a guard
//! that opens only loopback, hit counters, and hand-made compressed bodies.

#![allow(dead_code)] // each test binary uses a different subset

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use grandma_engine::fetch::{FetchOptions, HttpFetcher};
use grandma_engine::guard::NetworkGuard;
use url::Url;

/// Serves `router` on a fresh loopback port until the test's runtime ends.
pub async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        axum::serve(listener, router).await.expect("fixture server");
    });
    addr
}

pub fn url(addr: SocketAddr, path: &str) -> Url {
    Url::parse(&format!("http://{addr}{path}")).expect("fixture URL")
}

/// The server guard with only 127.0.0.1 opened, as an operator would for a local fixture.
pub fn loopback_guard() -> NetworkGuard {
    NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().expect("net")])
}

pub fn options() -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(5),
        retry_count: 3,
        ..FetchOptions::default()
    }
}

/// A fetcher for the fixtures with millisecond retry waits, so the suite stays fast.
pub fn fetcher(options: FetchOptions) -> HttpFetcher {
    HttpFetcher::new(loopback_guard(), options)
        .expect("fetcher")
        .with_retry_base(Duration::from_millis(5))
}

/// A shared request counter for handlers.
#[derive(Debug, Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    /// Counts one hit and returns how many there were before it.
    pub fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst)
    }

    pub fn get(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A gzip member holding `data` in stored (uncompressed) deflate blocks: valid gzip that any
/// decoder must accept, built without a compression library.
pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let len = chunk.len() as u16;
        out.push(last);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// A brotli stream holding `data` in uncompressed meta-blocks (RFC 7932 §9.2), each at most
/// 65 536 bytes, followed by an empty last meta-block.
pub fn brotli(data: &[u8]) -> Vec<u8> {
    // Bit 0 of the first byte is WBITS (0 → 16); each meta-block header then packs ISLAST=0,
    // MNIBBLES=4 (code 0), MLEN-1 in 16 bits and ISUNCOMPRESSED=1, then pads to a byte. The
    // WBITS bit shifts the first header by one, later headers start byte-aligned.
    let mut out = Vec::new();
    let mut first = true;
    for chunk in data.chunks(65_536) {
        let mlen_minus_1 = (chunk.len() - 1) as u32;
        let shift = u32::from(first);
        let header = ((mlen_minus_1 << 3) | (1 << 19)) << shift;
        let bytes = header.to_le_bytes();
        out.extend_from_slice(&bytes[..3]);
        out.extend_from_slice(chunk);
        first = false;
    }
    // ISLAST=1, ISLASTEMPTY=1 (after the WBITS bit when nothing came before).
    out.push(if first { 0b110 } else { 0b11 });
    out
}
