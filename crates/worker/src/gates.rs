//! The data-quality gates of a job (`expect`), checked when its crawl completed. A run that
//! misses one ends `failed` with a sentence per missed gate, written for the person who owns
//! the job; its items stay.

use grandma_engine::spec::Expectations;
use grandma_store::RunQuality;

/// What the crawl reported besides the stored items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CrawlTally {
    pub(crate) pages_scraped: u32,
    pub(crate) pages_failed: u32,
}

/// Every gate `expect` sets that the run missed, as sentences; empty when it passed.
pub(crate) fn missed_gates(
    expect: &Expectations,
    quality: &RunQuality,
    tally: CrawlTally,
) -> Vec<String> {
    let mut missed = Vec::new();
    if let Some(min) = expect.min_items
        && u64::try_from(quality.items).unwrap_or(0) < min
    {
        let items = quality.items;
        let noun = if items == 1 { "item" } else { "items" };
        let mut message = format!("only {items} {noun}, expected at least {min}");
        let empty = empty_pages(quality, tally.pages_scraped);
        if !empty.is_empty() {
            let word = if empty.len() == 1 && !empty[0].contains('–') {
                "page"
            } else {
                "pages"
            };
            message.push_str(&format!(
                ": the list matched nothing on {word} {}",
                join_words(&empty)
            ));
        }
        missed.push(message);
    }
    for (field, share) in &expect.fields_filled {
        let Some(rate) = quality.rate(field) else {
            continue;
        };
        if quality.items > 0 && rate < *share {
            missed.push(format!(
                "{field} was empty on {}% of items, expected it filled on at least {}%",
                percent(1.0 - rate),
                percent(*share)
            ));
        }
    }
    if let Some(share) = expect.max_failed_pages {
        let total = tally.pages_scraped + tally.pages_failed;
        let failed_share = if total == 0 {
            0.0
        } else {
            f64::from(tally.pages_failed) / f64::from(total)
        };
        if failed_share > share {
            missed.push(format!(
                "{} of {total} pages failed ({}%), expected at most {}%",
                tally.pages_failed,
                percent(failed_share),
                percent(share)
            ));
        }
    }
    missed
}

/// A share as a whole percentage for people: 0.6364 → "64", never "0" for a share above 0
/// nor "100" below 1.
fn percent(share: f64) -> String {
    let p = (share * 100.0).round();
    let p = if share > 0.0 && p == 0.0 {
        1.0
    } else if share < 1.0 && p == 100.0 {
        99.0
    } else {
        p
    };
    format!("{p:.0}")
}

/// The pages of 1..=pages that gave no item, as ranges ("2–5", "7").
fn empty_pages(quality: &RunQuality, pages: u32) -> Vec<String> {
    let pages = i32::try_from(pages).unwrap_or(i32::MAX);
    let mut ranges = Vec::new();
    let mut start: Option<i32> = None;
    for page in 1..=pages + 1 {
        let empty = page <= pages && quality.items_on(page) == 0;
        match (empty, start) {
            (true, None) => start = Some(page),
            (false, Some(s)) => {
                let end = page - 1;
                ranges.push(if s == end {
                    s.to_string()
                } else {
                    format!("{s}–{end}")
                });
                start = None;
            }
            _ => {}
        }
    }
    ranges
}

/// "a", "a and b", "a, b and c".
fn join_words(words: &[String]) -> String {
    match words {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use grandma_store::{FieldFill, PageCount};

    fn quality(items_per_page: &[(i32, i64)], price_filled: i64) -> RunQuality {
        let items = items_per_page.iter().map(|(_, n)| n).sum();
        RunQuality {
            items,
            fields: vec![FieldFill {
                field: "price".into(),
                filled: price_filled,
                rate: price_filled as f64 / items.max(1) as f64,
            }],
            pages: items_per_page
                .iter()
                .map(|&(page, items)| PageCount { page, items })
                .collect(),
        }
    }

    #[test]
    fn messages_name_the_empty_pages_and_the_empty_share() {
        let expect = Expectations {
            min_items: Some(20),
            fields_filled: vec![("price".into(), 0.9)],
            max_failed_pages: Some(0.1),
        };
        let tally = CrawlTally {
            pages_scraped: 7,
            pages_failed: 3,
        };
        let missed = missed_gates(&expect, &quality(&[(1, 2), (6, 1)], 1), tally);
        assert_eq!(
            missed,
            vec![
                "only 3 items, expected at least 20: the list matched nothing on pages 2–5 and 7",
                "price was empty on 67% of items, expected it filled on at least 90%",
                "3 of 10 pages failed (30%), expected at most 10%",
            ]
        );
        let one = missed_gates(
            &Expectations {
                min_items: Some(5),
                ..Expectations::default()
            },
            &quality(&[(1, 1)], 1),
            CrawlTally {
                pages_scraped: 2,
                pages_failed: 0,
            },
        );
        assert_eq!(
            one,
            vec!["only 1 item, expected at least 5: the list matched nothing on page 2"]
        );
    }

    #[test]
    fn a_run_that_meets_every_gate_passes() {
        let expect = Expectations {
            min_items: Some(3),
            fields_filled: vec![("price".into(), 0.5)],
            max_failed_pages: Some(0.5),
        };
        let tally = CrawlTally {
            pages_scraped: 2,
            pages_failed: 1,
        };
        assert!(missed_gates(&expect, &quality(&[(1, 2), (2, 2)], 2), tally).is_empty());
        assert_eq!(percent(0.004), "1");
        assert_eq!(percent(0.999), "99");
    }
}
