//! A cookie jar for one fetcher, and so for one run: a site that sets a session cookie on one
//! page gets it back on the next. Each run builds its own fetcher, so cookies are never shared
//! between runs or users; nothing is written to disk.
//!
//! The rules are RFC 6265's, kept to what scraping needs: `Domain` (a host and its subdomains,
//! never a bare top-level name), `Path`, `Secure`, `Max-Age` and `Expires`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, SET_COOKIE};
use url::Url;

/// Cookies kept at most; the oldest go first.
const MAX_COOKIES: usize = 300;
/// Longest `name=value` kept, in bytes.
const MAX_COOKIE_BYTES: usize = 4096;

#[derive(Debug, Clone)]
struct Cookie {
    name: String,
    value: String,
    domain: String,
    host_only: bool,
    path: String,
    secure: bool,
    expires: Option<SystemTime>,
}

impl Cookie {
    fn matches(&self, url: &Url, now: SystemTime) -> bool {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        let domain_ok = if self.host_only {
            host == self.domain
        } else {
            host == self.domain || host.ends_with(&format!(".{}", self.domain))
        };
        let path = url.path();
        let path_ok = path == self.path
            || (path.starts_with(&self.path)
                && (self.path.ends_with('/') || path[self.path.len()..].starts_with('/')));
        domain_ok
            && path_ok
            && (!self.secure || url.scheme() == "https")
            && self.expires.is_none_or(|at| at > now)
    }
}

/// The cookies of one run.
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: Mutex<Vec<Cookie>>,
}

impl CookieJar {
    /// Keeps the cookies a response from `url` sets (and forgets those it expires).
    pub fn store(&self, url: &Url, headers: &HeaderMap) {
        let now = SystemTime::now();
        let mut cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        for value in headers.get_all(SET_COOKIE) {
            let Some(cookie) = value.to_str().ok().and_then(|v| parse(v, url, now)) else {
                continue;
            };
            cookies.retain(|c| {
                !(c.name == cookie.name && c.domain == cookie.domain && c.path == cookie.path)
            });
            if cookie.expires.is_none_or(|at| at > now) {
                cookies.push(cookie);
            }
        }
        let over = cookies.len().saturating_sub(MAX_COOKIES);
        cookies.drain(..over);
    }

    /// The `Cookie` header for a request to `url`, if any cookie applies.
    pub fn header(&self, url: &Url) -> Option<HeaderValue> {
        let now = SystemTime::now();
        let cookies = self.cookies.lock().unwrap_or_else(|e| e.into_inner());
        let mut applying: Vec<&Cookie> = cookies.iter().filter(|c| c.matches(url, now)).collect();
        if applying.is_empty() {
            return None;
        }
        // Longer paths first, as browsers send them.
        applying.sort_by_key(|c| std::cmp::Reverse(c.path.len()));
        let text = applying
            .iter()
            .map(|c| format!("{}={}", c.name, c.value))
            .collect::<Vec<_>>()
            .join("; ");
        HeaderValue::from_str(&text).ok()
    }
}

/// One `Set-Cookie` header from a response to `url`; `None` when it is to be ignored.
fn parse(text: &str, url: &Url, now: SystemTime) -> Option<Cookie> {
    let mut parts = text.split(';');
    let (name, value) = parts.next()?.split_once('=')?;
    let (name, value) = (name.trim(), value.trim());
    if name.is_empty() || name.len() + value.len() > MAX_COOKIE_BYTES {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let mut cookie = Cookie {
        name: name.to_owned(),
        value: value.to_owned(),
        domain: host.clone(),
        host_only: true,
        path: default_path(url),
        secure: false,
        expires: None,
    };
    let mut max_age = None;
    for attribute in parts {
        let (key, val) = attribute.split_once('=').unwrap_or((attribute, ""));
        let val = val.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "domain" => {
                let domain = val.trim_start_matches('.').to_ascii_lowercase();
                if domain.is_empty() {
                    continue;
                }
                // A cookie for another site, or for a whole top-level domain, is refused.
                if !(host == domain || host.ends_with(&format!(".{domain}")))
                    || !domain.contains('.')
                {
                    return None;
                }
                cookie.domain = domain;
                cookie.host_only = false;
            }
            "path" if val.starts_with('/') => cookie.path = val.to_owned(),
            "secure" => cookie.secure = true,
            "max-age" => {
                max_age = val.parse::<i64>().ok().map(|s| {
                    u64::try_from(s)
                        .ok()
                        .filter(|s| *s > 0)
                        .and_then(|s| now.checked_add(Duration::from_secs(s)))
                        .unwrap_or(SystemTime::UNIX_EPOCH)
                });
            }
            "expires" => {
                if let Ok(at) = httpdate::parse_http_date(val) {
                    cookie.expires = Some(at);
                }
            }
            _ => {}
        }
    }
    // Max-Age wins over Expires.
    if max_age.is_some() {
        cookie.expires = max_age;
    }
    Some(cookie)
}

/// The directory of the request path: where a cookie without `Path` applies.
fn default_path(url: &Url) -> String {
    let path = url.path();
    match path.rfind('/') {
        Some(0) | None => "/".to_owned(),
        Some(i) => path[..i].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar_with(url: &str, set: &[&str]) -> CookieJar {
        let jar = CookieJar::default();
        let mut headers = HeaderMap::new();
        for s in set {
            headers.append(SET_COOKIE, HeaderValue::from_str(s).unwrap());
        }
        jar.store(&Url::parse(url).unwrap(), &headers);
        jar
    }

    fn sent(jar: &CookieJar, url: &str) -> String {
        jar.header(&Url::parse(url).unwrap())
            .map(|h| h.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }

    #[test]
    fn host_domain_path_and_secure() {
        let jar = jar_with(
            "http://shop.example.com/account/login",
            &[
                "sid=1; Path=/; HttpOnly",
                "here=2",
                "wide=3; Domain=.example.com; Path=/",
                "tls=4; Secure; Path=/",
                "evil=5; Domain=other.com",
                "tld=6; Domain=com",
            ],
        );
        assert_eq!(
            sent(&jar, "http://shop.example.com/account/x"),
            "here=2; sid=1; wide=3"
        );
        assert_eq!(sent(&jar, "http://shop.example.com/list"), "sid=1; wide=3");
        assert_eq!(
            sent(&jar, "https://shop.example.com/"),
            "sid=1; wide=3; tls=4"
        );
        assert_eq!(sent(&jar, "http://img.example.com/"), "wide=3");
        assert_eq!(sent(&jar, "http://other.com/"), "");
        assert_eq!(
            sent(&jar, "http://shop.example.com/accountant"),
            "sid=1; wide=3"
        );
    }

    #[test]
    fn expiry_replaces_and_deletes() {
        let jar = jar_with(
            "http://a.example/",
            &[
                "s=1",
                "gone=1; Max-Age=0",
                "old=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT",
            ],
        );
        assert_eq!(sent(&jar, "http://a.example/"), "s=1");
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("s=2"));
        jar.store(&Url::parse("http://a.example/").unwrap(), &headers);
        assert_eq!(sent(&jar, "http://a.example/"), "s=2");
        let mut headers = HeaderMap::new();
        headers.append(SET_COOKIE, HeaderValue::from_static("s=; Max-Age=0"));
        jar.store(&Url::parse("http://a.example/").unwrap(), &headers);
        assert_eq!(sent(&jar, "http://a.example/"), "");
    }
}
