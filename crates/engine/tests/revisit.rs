//! Conditional requests in the engine against a site on 127.0.0.1: validators go to the URL
//! that answered the earlier run (not to the redirect before it), a 304 is a page without a
//! body, and the crawl replays a 304 page from what the earlier run found on it; a page cut by
//! `max_items` is recorded without validators.

use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use grandma_engine::JobSpec;
use grandma_engine::crawl::{Control, Crawl, PageOutput, PageSink, SinkError, fetch_options};
use grandma_engine::fetch::{BoxFuture, FetchError, Fetcher, HopGate, HttpFetcher, Validators};
use grandma_engine::guard::NetworkGuard;
use grandma_engine::revisit::{PreviousPage, PreviousPages, Reused};
use tokio_util::sync::CancellationToken;
use url::Url;

/// Each request: its path and the `If-None-Match` it carried.
type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// `/old` redirects to `/list-1`; `/list-N` (N = 1, 2) has three products, ETag `"vN"`, and a
/// next link on page 1.
async fn serve() -> (String, Seen) {
    async fn list(Path(n): Path<u32>, State(seen): State<Seen>, headers: HeaderMap) -> Response {
        let inm = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen.lock()
            .unwrap()
            .push((format!("/list-{n}"), inm.clone()));
        let etag = format!("\"v{n}\"");
        if inm.as_deref() == Some(etag.as_str()) {
            return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
        }
        let items: String = (1..=3)
            .map(|i| format!("<li><a href=\"/p/{n}-{i}\">P{n}-{i}</a></li>"))
            .collect();
        let next = if n == 1 {
            "<a class=\"next\" href=\"/list-2\">next</a>"
        } else {
            ""
        };
        (
            [
                (header::ETAG, etag),
                (header::CONTENT_TYPE, "text/html".to_owned()),
            ],
            format!("<html><body><ul>{items}</ul>{next}</body></html>"),
        )
            .into_response()
    }
    async fn old(State(seen): State<Seen>, headers: HeaderMap) -> Redirect {
        let inm = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        seen.lock().unwrap().push(("/old".to_owned(), inm));
        Redirect::permanent("/list-1")
    }
    let seen: Seen = Arc::default();
    let app = axum::Router::new()
        .route("/old", axum::routing::get(old))
        .route("/list-{n}", axum::routing::get(list))
        .with_state(Arc::clone(&seen));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

fn guard() -> NetworkGuard {
    NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()])
}

struct Open;

impl HopGate for Open {
    fn admit<'a>(&'a self, _url: &'a Url) -> BoxFuture<'a, Result<(), FetchError>> {
        Box::pin(async { Ok(()) })
    }
}

fn etag(tag: &str) -> Validators {
    Validators {
        etag: Some(tag.to_owned()),
        last_modified: None,
    }
}

#[tokio::test]
async fn validators_go_to_the_url_that_answered_and_a_304_has_no_body() {
    let (base, seen) = serve().await;
    let fetcher = HttpFetcher::new(guard(), Default::default()).unwrap();
    let old: Url = format!("{base}/old").parse().unwrap();
    let at: Url = format!("{base}/list-1").parse().unwrap();

    let page = fetcher
        .fetch_if_modified(&old, &Open, &at, &etag("\"v1\""))
        .await
        .unwrap();
    assert!(page.not_modified());
    assert_eq!(
        (page.final_url.clone(), page.body.as_str()),
        (at.clone(), "")
    );
    assert_eq!(page.validators, etag("\"v1\""));

    let page = fetcher
        .fetch_if_modified(&old, &Open, &at, &etag("\"stale\""))
        .await
        .unwrap();
    assert_eq!(page.status, 200);
    assert!(page.body.contains("P1-1"));
    assert_eq!(page.validators, etag("\"v1\""));
    assert_eq!(
        *seen.lock().unwrap(),
        [
            ("/old".to_owned(), None),
            ("/list-1".to_owned(), Some("\"v1\"".to_owned())),
            ("/old".to_owned(), None),
            ("/list-1".to_owned(), Some("\"stale\"".to_owned())),
        ]
    );

    // Without validators the page comes whole.
    let plain = fetcher.fetch(&at).await.unwrap();
    assert_eq!(plain.status, 200);
    assert_eq!(
        seen.lock().unwrap().last(),
        Some(&("/list-1".to_owned(), None))
    );
}

#[derive(Default)]
struct Collect(Vec<PageOutput>);

impl PageSink for Collect {
    async fn save(&mut self, page: PageOutput) -> Result<Control, SinkError> {
        self.0.push(page);
        Ok(Control::Continue)
    }
}

fn spec(base: &str, extra: &str) -> Arc<JobSpec> {
    let yaml = format!(
        r#"
name: revisit
start_url: "{base}/list-1"
item_selector: li
fields:
  - {{name: name, selector: a}}
pagination: {{type: next_button, next_button_selector: a.next}}
min_delay_ms: 0
max_delay_ms: 0
respect_robots_txt: false
{extra}
"#
    );
    Arc::new(JobSpec::from_yaml_str(&yaml).unwrap())
}

async fn crawl(spec: Arc<JobSpec>, previous: Option<PreviousPages>) -> Collect {
    let fetcher = HttpFetcher::new(guard(), fetch_options(&spec)).unwrap();
    let events = |_: &grandma_engine::crawl::Event| {};
    let mut crawl = Crawl::new(spec, Arc::new(fetcher), &events, CancellationToken::new());
    if let Some(previous) = previous {
        crawl = crawl.with_previous_pages(Arc::new(previous));
    }
    let mut sink = Collect::default();
    crawl.run(&mut sink).await;
    sink
}

#[tokio::test]
async fn a_304_page_is_replayed_and_its_recorded_link_followed() {
    let (base, seen) = serve().await;
    let first = crawl(spec(&base, ""), None).await;
    assert_eq!(first.0.len(), 2);
    let one = &first.0[0];
    assert_eq!(one.record.validators, etag("\"v1\""));
    assert_eq!(one.record.next_url.as_ref().map(Url::path), Some("/list-2"));
    assert_eq!((one.record.matched, one.record.reused), (3, None));

    // Page 1 as the earlier run saw it, but with a next link the page does not have: the
    // replay must follow the recorded link, since the body is never read.
    let url: Url = format!("{base}/list-1").parse().unwrap();
    let recorded = PreviousPage {
        page: 5,
        final_url: url.clone(),
        validators: etag("\"v1\""),
        next_url: Some(format!("{base}/list-2?from=record").parse().unwrap()),
        matched: 3,
        items: 3,
        dropped: 0,
    };
    seen.lock().unwrap().clear();
    let second = crawl(
        spec(&base, ""),
        Some(PreviousPages::new([(url.clone(), recorded.clone())])),
    )
    .await;
    assert_eq!(second.0.len(), 2);
    let replayed = &second.0[0];
    assert!(replayed.items.is_empty());
    assert_eq!(
        replayed.record.reused,
        Some(Reused {
            from_page: 5,
            items: 3
        })
    );
    assert_eq!(replayed.record.validators, etag("\"v1\""));
    assert_eq!(second.0[1].url.query(), Some("from=record"));
    assert_eq!(second.0[1].items.len(), 3);
    assert_eq!(second.0[1].checkpoint.total_items, 6);
    assert_eq!(
        seen.lock().unwrap()[0],
        ("/list-1".to_owned(), Some("\"v1\"".to_owned()))
    );

    // max_items cuts the replayed page: only its first two items are taken, and a page cut
    // short is recorded without validators (a later run would get it short again).
    let cut = crawl(
        spec(&base, "max_items: 2"),
        Some(PreviousPages::new([(url, recorded)])),
    )
    .await;
    assert_eq!(cut.0.len(), 1);
    assert_eq!(
        cut.0[0].record.reused,
        Some(Reused {
            from_page: 5,
            items: 2
        })
    );
    assert_eq!(cut.0[0].record.validators, Validators::default());
    let fresh = crawl(spec(&base, "max_items: 4"), None).await;
    assert_eq!(fresh.0[0].record.validators, etag("\"v1\""));
    assert_eq!(fresh.0[1].items.len(), 1);
    assert_eq!(fresh.0[1].record.validators, Validators::default());
}
