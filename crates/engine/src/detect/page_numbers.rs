//! Page numbers as pagination: links "2", "3" … whose addresses differ from the page's only by
//! that number become a `url_pattern`, checked with the engine's own page-URL rules. A number
//! in the query keeps the start URL's other parameters (`?page={page}`); one in the path gives
//! a full URL template.

use url::Url;

use super::classes;
use super::page::PageIndex;
use super::pagination::{PaginationPlan, anchors};
use crate::extract::collapsed_text;
use crate::paginate;

/// Page-number links ("2", "3" …) turned into a `url_pattern`.
pub(crate) fn number_pattern(
    page: &PageIndex<'_>,
    page_url: &Url,
    base: &Url,
    skip: &[(u32, u32)],
) -> Option<PaginationPlan> {
    let numbered: Vec<(u32, Url)> = anchors(page, base, skip)
        .filter_map(|(_, el, url)| {
            let n: u32 = collapsed_text(el).trim().parse().ok()?;
            (2..=10_000).contains(&n).then_some((n, url))
        })
        .collect();
    let (_, two) = numbered.iter().find(|(n, _)| *n == 2)?;
    for pattern in patterns_for(two, 2, page_url) {
        let all_agree = numbered.iter().all(|(n, u)| {
            paginate::page_url(page_url, &pattern, *n).is_ok_and(|p| same_address(&p, u))
        });
        // The page itself must be page 1 of the pattern, or a crawl would start mid-way.
        let starts_here = !(2..=10).any(|m| {
            paginate::pattern_url(page_url, &pattern, m).is_ok_and(|p| same_address(&p, page_url))
        });
        if all_agree && starts_here {
            let next = paginate::page_url(page_url, &pattern, 2).ok()?;
            return Some(PaginationPlan::UrlPattern { pattern, next });
        }
    }
    None
}

/// Same scheme, host, path and query parameters (in any order).
fn same_address(a: &Url, b: &Url) -> bool {
    let pairs = |u: &Url| {
        let mut p: Vec<(String, String)> = u.query_pairs().into_owned().collect();
        p.sort();
        p
    };
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
        && pairs(a) == pairs(b)
}

/// Patterns that turn `n` into `link`: the query parameter holding it (`?page={page}`, which
/// keeps the start URL's other parameters), or the number's place in the path.
fn patterns_for(link: &Url, n: u32, page_url: &Url) -> Vec<String> {
    let number = n.to_string();
    let mut out = Vec::new();
    for (name, value) in link.query_pairs() {
        if value == number && classes::is_plain_identifier(&name.replace('-', "_")) {
            out.push(format!("?{name}={{page}}"));
        }
    }
    if link.path() != page_url.path() || out.is_empty() {
        let path = link.path();
        let mut from = 0;
        while let Some(at) = path[from..].find(&number) {
            let start = from + at;
            let end = start + number.len();
            let bounded = !path[..start].ends_with(|c: char| c.is_ascii_digit())
                && !path[end..].starts_with(|c: char| c.is_ascii_digit());
            if bounded {
                let mut template = link.clone();
                template.set_path(&format!("{}{{page}}{}", &path[..start], &path[end..]));
                // `set_path` percent-encodes the braces; put them back.
                let text = template.as_str().replace("%7Bpage%7D", "{page}");
                out.push(text);
            }
            from = end;
        }
    }
    out
}
