//! The browser dies under a run: a killed browser process, a crashed renderer. The run goes
//! on (a new browser, a new tab, the live page replayed) and loses nothing. Each test has a
//! browser of its own, since killing it is the point.

mod browser_support;

use std::time::Duration;

use browser_support::*;
use grandma_engine::crawl::{Event, RunStatus};
use grandma_engine::fetch::{BrowserOptions, BrowserPool};

fn own_pool() -> BrowserPool {
    BrowserPool::new(BrowserOptions {
        tabs: 2,
        ..BrowserOptions::default()
    })
    .expect("these tests need Chromium")
}

fn kill(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill {pid}");
}

/// The parent of a process, from /proc.
fn parent(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command may contain spaces and parentheses; the fields after the last ')' do not.
    let rest = &stat[stat.rfind(')')? + 2..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The renderer processes started by the browser `browser`.
fn renderers_of(browser: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if !String::from_utf8_lossy(&cmdline).contains("--type=renderer") {
            continue;
        }
        let mut ancestor = parent(pid);
        for _ in 0..8 {
            match ancestor {
                Some(p) if p == browser => {
                    found.push(pid);
                    break;
                }
                Some(p) if p > 1 => ancestor = parent(p),
                _ => break,
            }
        }
    }
    found
}

/// What to kill.
#[derive(Clone, Copy)]
enum Victim {
    Browser,
    Renderers,
}

/// Kills `victim` of `pool`'s browser `after` the run reports page `at` (send the page numbers
/// of the events chosen by the test). The task answers how many processes it killed.
fn killer(
    pool: &BrowserPool,
    at: u32,
    after: Duration,
    victim: Victim,
) -> (
    tokio::sync::mpsc::UnboundedSender<u32>,
    tokio::task::JoinHandle<usize>,
) {
    let pool = pool.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        while let Some(page) = rx.recv().await {
            if page != at {
                continue;
            }
            tokio::time::sleep(after).await;
            let browser = pool.browser_pid().await.expect("a running browser");
            let pids = match victim {
                Victim::Browser => vec![browser],
                Victim::Renderers => renderers_of(browser),
            };
            for pid in &pids {
                kill(*pid);
            }
            return pids.len();
        }
        0
    });
    (tx, task)
}

#[test]
fn a_run_goes_on_when_the_browser_process_is_killed() {
    run(async {
        let site = serve().await;
        let pool = own_pool();
        let spec = job(
            &site.url("/list?page=1"),
            ".product",
            "fetcher_type: browser\npagination: {type: url_pattern, url_pattern: \"/list?page={page}\"}\nmax_pages: 6\nmin_delay_ms: 200\nmax_delay_ms: 200",
        );
        let (tx, killed) = killer(&pool, 3, Duration::ZERO, Victim::Browser);
        let run = run_with(
            spec,
            guard_for(site.addr),
            Some(&pool),
            Collect::default(),
            None,
            |e| {
                if let Event::Extracted { page, .. } = e {
                    let _ = tx.send(*page);
                }
            },
        )
        .await;
        assert_eq!(killed.await.unwrap(), 1, "the browser was killed mid-run");
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(run.sink.rows(), expected_rows(1..=30));
        assert_eq!(pool.status().await.launches, 2, "a new browser took over");
    })
}

#[test]
fn a_page_whose_renderer_crashes_is_loaded_again() {
    run(async {
        let site = serve().await;
        let pool = own_pool();
        // Page 3 answers after 2 s: its renderer is killed while it waits.
        let spec = job(
            &site.url("/list?page=1&slow=3&delay_ms=2000"),
            ".product",
            "fetcher_type: browser\npagination: {type: url_pattern, url_pattern: \"/list?page={page}&slow=3&delay_ms=2000\"}\nmax_pages: 5",
        );
        let (tx, killed) = killer(&pool, 3, Duration::from_millis(700), Victim::Renderers);
        let run = run_with(
            spec,
            guard_for(site.addr),
            Some(&pool),
            Collect::default(),
            None,
            |e| {
                if let Event::Fetching { page, .. } = e {
                    let _ = tx.send(*page);
                }
            },
        )
        .await;
        assert!(killed.await.unwrap() > 0, "a renderer was killed mid-page");
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(run.sink.rows(), expected_rows(1..=25));
        assert!(
            site.log.count("/list?page=3") >= 2,
            "page 3 was loaded again"
        );
        assert_eq!(
            pool.status().await.launches,
            1,
            "the browser itself survived"
        );
    })
}

#[test]
fn an_infinite_list_whose_renderer_crashes_is_scrolled_back_to_where_it_was() {
    run(async {
        let site = serve().await;
        let pool = own_pool();
        let spec = job(
            &site.url("/scroll"),
            "li.row",
            "fetcher_type: browser\npagination: {type: infinite_scroll, max_scrolls: 20, scroll_wait_ms: 400}",
        );
        let (tx, killed) = killer(&pool, 2, Duration::ZERO, Victim::Renderers);
        let run = run_with(
            spec,
            guard_for(site.addr),
            Some(&pool),
            Collect::default(),
            None,
            |e| {
                if let Event::Extracted { page, .. } = e {
                    let _ = tx.send(*page);
                }
            },
        )
        .await;
        assert!(killed.await.unwrap() > 0, "a renderer was killed mid-run");
        assert_eq!(
            run.outcome.status,
            RunStatus::Completed,
            "{:?}",
            run.outcome
        );
        assert_eq!(
            run.sink.rows(),
            expected_rows(1..=SCROLL_TOTAL),
            "every item once, in order"
        );
        assert!(
            run.warnings().contains("opening the page again"),
            "{}",
            run.warnings()
        );
    })
}
