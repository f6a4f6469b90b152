//! Runs of jobs whose pages need a browser, with real Chromium: lists built by scripts,
//! infinite scroll, next buttons that are scripts, `auto`, and runs that share nothing.

mod browser_support;

use browser_support::*;
use grandma_engine::crawl::RunStatus;

#[test]
fn a_list_built_from_inline_json_gives_its_rows_in_the_browser_and_in_auto() {
    run(async {
        let site = serve().await;
        for fetcher in ["browser", "auto"] {
            let spec = job(
                &site.url("/list?page=1"),
                ".product",
                &format!("fetcher_type: {fetcher}"),
            );
            let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
            assert_eq!(
                run.outcome.status,
                RunStatus::Completed,
                "{fetcher}: {:?}",
                run.outcome
            );
            assert_eq!(run.sink.rows(), expected_rows(1..=5), "{fetcher}");
            if fetcher == "auto" {
                let warnings = run.warnings();
                assert!(
                    warnings.contains("looks built by scripts")
                        && warnings.contains("rendered in the browser"),
                    "auto says in words that it switched: {warnings}"
                );
            }
        }
    })
}

#[test]
fn requests_gives_no_rows_and_says_why() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/list?page=1"),
            ".product",
            "fetcher_type: requests",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(run.outcome.status, RunStatus::Completed);
        assert!(run.sink.rows().is_empty());
        let warnings = run.warnings();
        assert!(
            warnings.contains("matched nothing")
                && warnings.contains("<noscript> says JavaScript is needed")
                && warnings.contains("`requests`"),
            "{warnings}"
        );
    })
}

#[test]
fn auto_without_a_browser_says_it_could_not_switch() {
    run(async {
        let site = serve().await;
        let spec = job(&site.url("/list?page=1"), ".product", "fetcher_type: auto");
        let run = run_job(spec, guard_for(site.addr), false, Collect::default(), None).await;
        assert!(run.sink.rows().is_empty());
        assert!(
            run.warnings().contains("no browser is available"),
            "{}",
            run.warnings()
        );
    })
}

#[test]
fn auto_stays_on_plain_http_for_pages_that_need_no_browser() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/server-list?page=1"),
            ".product",
            "fetcher_type: auto\npagination: {type: url_pattern, url_pattern: \"/server-list?page={page}\"}\nmax_pages: 3",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(run.sink.rows(), expected_rows(1..=15));
        assert!(!run.warnings().contains("browser"), "{}", run.warnings());
    })
}

#[test]
fn infinite_scroll_gives_every_item_once_in_page_order() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/scroll"),
            "li.row",
            "fetcher_type: browser\npagination: {type: infinite_scroll, max_scrolls: 20, scroll_wait_ms: 300}",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(run.sink.rows(), expected_rows(1..=SCROLL_TOTAL));
        // It stopped when the list stopped growing, long before max_scrolls.
        assert!(run.sink.pages.len() <= SCROLL_TOTAL.div_ceil(SCROLL_BATCH) + 1);
    })
}

#[test]
fn infinite_scroll_stops_at_max_scrolls() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/scroll"),
            "li.row",
            "fetcher_type: auto\npagination: {type: infinite_scroll, max_scrolls: 1, scroll_wait_ms: 300}",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        let rows = run.sink.rows();
        assert_eq!(rows, expected_rows(1..=rows.len()));
        assert!(rows.len() < SCROLL_TOTAL, "{}", rows.len());
    })
}

#[test]
fn a_next_button_that_is_a_script_is_clicked_through() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/clicks"),
            ".card",
            "fetcher_type: browser\npagination: {type: next_button, next_button_selector: a.next}",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(run.sink.rows(), expected_rows(1..=CLICK_PAGES * 3));
        assert_eq!(run.sink.pages.len(), CLICK_PAGES);
    })
}

#[test]
fn auto_switches_on_a_shell_and_clicks_its_script_next_button() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/clicks"),
            ".card",
            "fetcher_type: auto\npagination: {type: next_button, next_button_selector: a.next}",
        );
        let run = run_job(spec, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(run.sink.rows(), expected_rows(1..=CLICK_PAGES * 3));
        assert!(
            run.warnings().contains("rendered in the browser"),
            "{}",
            run.warnings()
        );
    })
}

#[test]
fn a_clicked_run_resumes_from_its_checkpoint_without_repeating_items() {
    run(async {
        let site = serve().await;
        for fetcher in ["browser", "auto"] {
            let spec = job(
                &site.url("/clicks"),
                ".card",
                &format!(
                    "fetcher_type: {fetcher}\npagination: {{type: next_button, next_button_selector: a.next}}"
                ),
            );
            let first = Collect {
                stop_after: Some(2),
                ..Collect::default()
            };
            let run = run_job(spec.clone(), guard_for(site.addr), true, first, None).await;
            assert_eq!(run.outcome.status, RunStatus::Cancelled, "{fetcher}");
            let checkpoint = run.sink.last_checkpoint();
            assert_eq!(checkpoint.next_page, 3, "{fetcher}");
            assert!(checkpoint.live.is_some(), "{fetcher}: {checkpoint:?}");
            let rest = run_job(
                spec,
                guard_for(site.addr),
                true,
                Collect::default(),
                Some(checkpoint),
            )
            .await;
            assert_eq!(
                rest.outcome.status,
                RunStatus::Completed,
                "{fetcher}: {:?}",
                rest.outcome
            );
            let mut rows = run.sink.rows();
            rows.extend(rest.sink.rows());
            assert_eq!(rows, expected_rows(1..=CLICK_PAGES * 3), "{fetcher}");
        }
    })
}

#[test]
fn a_scrolled_run_resumes_without_repeating_items() {
    run(async {
        let site = serve().await;
        let spec = job(
            &site.url("/scroll"),
            "li.row",
            "fetcher_type: browser\npagination: {type: infinite_scroll, max_scrolls: 20, scroll_wait_ms: 300}",
        );
        let first = Collect {
            stop_after: Some(2),
            ..Collect::default()
        };
        let run = run_job(spec.clone(), guard_for(site.addr), true, first, None).await;
        let checkpoint = run.sink.last_checkpoint();
        let rest = run_job(
            spec,
            guard_for(site.addr),
            true,
            Collect::default(),
            Some(checkpoint),
        )
        .await;
        let mut rows = run.sink.rows();
        rows.extend(rest.sink.rows());
        assert_eq!(rows, expected_rows(1..=SCROLL_TOTAL));
    })
}

#[test]
fn two_runs_at_once_share_no_cookies_or_storage() {
    run(async {
        let site = serve().await;
        let make = |id: &str| {
            job(
                &site.url(&format!("/remember?id={id}")),
                "p.row",
                "fetcher_type: browser\npagination: {type: url_pattern, url_pattern: \"/recall?n={page}\"}\nmax_pages: 2",
            )
        };
        // url_pattern page 1 is the start URL (remember), page 2 is /recall.
        let (a, b) = tokio::join!(
            run_job(
                make("alice"),
                guard_for(site.addr),
                true,
                Collect::default(),
                None
            ),
            run_job(
                make("bob"),
                guard_for(site.addr),
                true,
                Collect::default(),
                None
            ),
        );
        assert_eq!(a.sink.rows(), vec!["set=alice", "alice=who=alice"]);
        assert_eq!(b.sink.rows(), vec!["set=bob", "bob=who=bob"]);
        // And a later run starts from nothing.
        let later = job(&site.url("/recall?n=1"), "p.row", "fetcher_type: browser");
        let run = run_job(later, guard_for(site.addr), true, Collect::default(), None).await;
        assert_eq!(run.sink.rows(), vec!["none=Null"]);
    })
}
