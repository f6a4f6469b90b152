//! Page URLs for `url_pattern` pagination.
//!
//! A pattern contains `{page}` and is one of three things:
//! - a full URL template: `https://shop.example/list?page={page}`;
//! - a relative reference resolved against the *start* URL: `page-{page}.html`, `/list/{page}/`
//!   (against the start URL, never the current page, so path segments cannot stack up);
//! - a query fragment, `?page={page}` or `&page={page}`, whose parameters are set in the start
//!   URL's query while its other parameters are kept.
//!
//! Page 1 is always the start URL itself.

use url::Url;

/// The URL of page `page` (1-based) of a `url_pattern` job.
pub fn page_url(start: &Url, pattern: &str, page: u32) -> Result<Url, String> {
    if page <= 1 {
        return Ok(start.clone());
    }
    pattern_url(start, pattern, page)
}

/// The pattern with `{page}` = `page`, interpreted as described in the module docs (without
/// the page-1 rule, so validation can check any pattern).
pub fn pattern_url(start: &Url, pattern: &str, page: u32) -> Result<Url, String> {
    // Servers never see the #fragment, so a page number there would fetch one page forever.
    if let Some(hash) = pattern.find('#')
        && pattern[hash..].contains("{page}")
    {
        return Err(format!(
            "`{{page}}` is in the #fragment of {pattern:?}, which is never sent to the server"
        ));
    }
    let filled = pattern.trim().replace("{page}", &page.to_string());
    let url = if let Some(query) = filled
        .strip_prefix('?')
        .or_else(|| filled.strip_prefix('&'))
    {
        set_query_params(start, query.split('#').next().unwrap_or_default())
    } else {
        match Url::parse(&filled) {
            Ok(u) => u,
            Err(url::ParseError::RelativeUrlWithoutBase) => start
                .join(&filled)
                .map_err(|e| format!("cannot resolve {filled:?} against the start URL: {e}"))?,
            Err(e) => return Err(format!("not a valid URL pattern ({e}): {pattern:?}")),
        }
    };
    let mut url = url;
    url.set_fragment(None);
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(format!(
            "the pattern must give http(s) URLs; page {page} would be {url}"
        ));
    }
    Ok(url)
}

/// `start` with each `name=value` of `query` set: an existing parameter of that name is
/// replaced in place (its first occurrence; later duplicates removed), a new one appended.
fn set_query_params(start: &Url, query: &str) -> Url {
    let updates: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let mut pairs: Vec<(String, String)> = start.query_pairs().into_owned().collect();
    for (name, value) in updates {
        let mut seen = false;
        pairs.retain_mut(|(n, v)| {
            if *n != name {
                return true;
            }
            if seen {
                return false;
            }
            seen = true;
            *v = value.clone();
            true
        });
        if !seen {
            pairs.push((name, value));
        }
    }
    let mut url = start.clone();
    url.set_query(None);
    if !pairs.is_empty() {
        url.query_pairs_mut().extend_pairs(pairs);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn page_one_is_the_start_url() {
        let start = u("https://s.example/list?cat=3");
        assert_eq!(page_url(&start, "?page={page}", 1).unwrap(), start);
    }

    #[test]
    fn full_template() {
        let start = u("https://s.example/list");
        let p = "https://s.example/list?page={page}&sort=asc";
        assert_eq!(
            page_url(&start, p, 3).unwrap().as_str(),
            "https://s.example/list?page=3&sort=asc"
        );
    }

    #[test]
    fn relative_reference_resolves_against_start_not_current_page() {
        let start = u("http://127.0.0.1:8088/catalogue/page-1.html");
        assert_eq!(
            page_url(&start, "page-{page}.html", 2).unwrap().as_str(),
            "http://127.0.0.1:8088/catalogue/page-2.html"
        );
        assert_eq!(
            page_url(&start, "page-{page}.html", 30).unwrap().as_str(),
            "http://127.0.0.1:8088/catalogue/page-30.html"
        );
        let start = u("https://s.example/list/1/");
        assert_eq!(
            page_url(&start, "/list/{page}/", 4).unwrap().as_str(),
            "https://s.example/list/4/"
        );
    }

    #[test]
    fn query_fragment_keeps_other_parameters() {
        let start = u("https://s.example/search?q=red+shoes&page=1&sort=price");
        assert_eq!(
            page_url(&start, "?page={page}", 2).unwrap().as_str(),
            "https://s.example/search?q=red+shoes&page=2&sort=price"
        );
        assert_eq!(
            page_url(&start, "&page={page}", 5).unwrap().as_str(),
            "https://s.example/search?q=red+shoes&page=5&sort=price"
        );
        let bare = u("https://s.example/search?q=x");
        assert_eq!(
            page_url(&bare, "&p={page}&size=50", 2).unwrap().as_str(),
            "https://s.example/search?q=x&p=2&size=50"
        );
    }

    #[test]
    fn duplicate_parameters_collapse_to_one() {
        let start = u("https://s.example/?page=1&page=9");
        assert_eq!(
            page_url(&start, "?page={page}", 3).unwrap().as_str(),
            "https://s.example/?page=3"
        );
    }

    #[test]
    fn page_numbers_in_the_fragment_are_refused_and_fragments_dropped() {
        let start = u("https://s.example/list");
        let e = pattern_url(&start, "https://s.example/list#p={page}", 2).unwrap_err();
        assert!(e.contains("#fragment"), "{e}");
        assert_eq!(
            page_url(&start, "?page={page}#top", 2).unwrap().as_str(),
            "https://s.example/list?page=2"
        );
    }

    #[test]
    fn non_http_patterns_are_refused() {
        let start = u("https://s.example/");
        let e = pattern_url(&start, "ftp://s.example/{page}", 2).unwrap_err();
        assert!(e.contains("http(s)"), "{e}");
    }
}
