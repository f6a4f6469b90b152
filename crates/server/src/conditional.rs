//! Validators and conditional requests (RFC 9110 §8.8.3, §13): entity tags, `If-None-Match`
//! (answer 304 instead of the body the client already has) and `If-Match` (refuse with 412 a
//! write based on a stale read).
//!
//! A tag is a digest of what the answer depends on, never of the bytes sent, so a tag is known
//! before any item is read: a finished run's export is identified by its id, status, finish
//! time and the request's format and query. Tags name the resource's state, not its
//! encoding: the gzip layer keeps them, and `Vary: Accept-Encoding` keeps caches apart.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// How long a client may reuse a finished run's export or item page without asking. The
/// content never changes, but a deleted run should not live in caches for ever.
pub const IMMUTABLE_MAX_AGE_SECS: u32 = 86_400;

/// An entity tag: opaque hex, strong or weak.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ETag {
    opaque: String,
    weak: bool,
}

impl ETag {
    /// A strong tag: two answers with it are the same bytes. `parts` are length-prefixed in
    /// the digest, so no two different lists give the same input.
    pub fn strong(parts: &[&[u8]]) -> ETag {
        let mut hasher = Sha256::new();
        for part in parts {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        // 128 bits: as unguessable and collision-free as a tag needs, half the header.
        ETag {
            opaque: hex::encode(&hasher.finalize()[..16]),
            weak: false,
        }
    }

    /// The same tag, weak: the answers are equivalent but not byte for byte (an XLSX file
    /// carries its creation time).
    pub fn weakened(self) -> ETag {
        ETag { weak: true, ..self }
    }

    pub fn is_weak(&self) -> bool {
        self.weak
    }

    pub fn header_value(&self) -> HeaderValue {
        let text = if self.weak {
            format!("W/\"{}\"", self.opaque)
        } else {
            format!("\"{}\"", self.opaque)
        };
        HeaderValue::from_str(&text).expect("hex in quotes is a valid header value")
    }
}

/// The tag of an answer computed from a finished run alone (`what`: the kind of answer and
/// its format; `query`: the request's raw query string, which covers every parameter, present
/// or future), or `None` while the run may still change. Known before any item is read.
pub fn finished_run(
    run: &grandma_store::ResultRow,
    what: &str,
    query: Option<&str>,
) -> Option<ETag> {
    let completed_at = run.completed_at?;
    if !run.status.is_terminal() {
        return None;
    }
    Some(ETag::strong(&[
        b"finished-run",
        run.result_id.as_bytes(),
        run.status.as_str().as_bytes(),
        completed_at.to_rfc3339().as_bytes(),
        // Retention may delete a finished run's items later: its answers change once, then.
        if run.items_pruned { b"pruned" } else { b"kept" },
        what.as_bytes(),
        query.unwrap_or("").as_bytes(),
    ]))
}

/// The tag of a JSON answer that may change: a digest of its serialized form, so any visible
/// change gives a new tag.
pub fn of_json(kind: &str, value: &impl serde::Serialize) -> Result<ETag, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok(ETag::strong(&[kind.as_bytes(), &bytes]))
}

/// One member of an `If-Match`/`If-None-Match` list.
#[derive(Debug, PartialEq, Eq)]
enum Listed<'a> {
    Any,
    Tag { opaque: &'a str, weak: bool },
}

/// The members of a list of entity tags (`*`, or `"a", W/"b"` with commas allowed inside the
/// quotes, across repeated headers). `None` when a value does not parse: the caller decides
/// what a malformed condition means.
fn parse_list<'a>(headers: &'a HeaderMap, name: &header::HeaderName) -> Option<Vec<Listed<'a>>> {
    let mut out = Vec::new();
    for value in headers.get_all(name) {
        let mut rest = value.to_str().ok()?.trim();
        if rest == "*" {
            out.push(Listed::Any);
            continue;
        }
        while !rest.is_empty() {
            rest = rest.trim_start_matches([' ', '\t', ',']);
            if rest.is_empty() {
                break;
            }
            let weak = rest.starts_with("W/");
            if weak {
                rest = &rest[2..];
            }
            let inner = rest.strip_prefix('"')?;
            let end = inner.find('"')?;
            out.push(Listed::Tag {
                opaque: &inner[..end],
                weak,
            });
            rest = &inner[end + 1..];
            if !rest.is_empty() && !rest.starts_with([' ', '\t', ',']) {
                return None;
            }
        }
    }
    Some(out)
}

/// Whether `If-None-Match` names `current` (weak comparison: a weak and a strong tag with the
/// same opaque part match). A malformed header matches nothing, so the full answer is sent.
pub fn none_match_hits(headers: &HeaderMap, current: &ETag) -> bool {
    parse_list(headers, &header::IF_NONE_MATCH).is_some_and(|list| {
        list.iter().any(|listed| match listed {
            Listed::Any => true,
            Listed::Tag { opaque, .. } => *opaque == current.opaque,
        })
    })
}

/// Checks `If-Match` against the resource's `current` tag (strong comparison: a weak tag
/// never matches). No header: the write goes ahead as it always did.
pub fn check_if_match(headers: &HeaderMap, current: &ETag, what: &str) -> Result<(), ApiError> {
    if headers.get(header::IF_MATCH).is_none() {
        return Ok(());
    }
    let Some(list) = parse_list(headers, &header::IF_MATCH) else {
        return Err(ApiError::PreconditionFailed(
            "If-Match is not a list of entity tags (\"…\", comma-separated) or *".into(),
        ));
    };
    let hit = list.iter().any(|listed| match listed {
        Listed::Any => true,
        Listed::Tag { opaque, weak } => !weak && !current.weak && *opaque == current.opaque,
    });
    if hit { Ok(()) } else { Err(stale(what)) }
}

/// The stored version a conditional write must still find: with `If-Match`, checked against
/// the resource's `current` tag (computed from the row `version` identifies), `Some(version)`
/// for the store's compare-and-set; without it, `None` and the write is unconditional.
pub fn required_version<V>(
    headers: &HeaderMap,
    current: &ETag,
    what: &str,
    version: V,
) -> Result<Option<V>, ApiError> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    check_if_match(headers, current, what)?;
    Ok(Some(version))
}

/// The answer to a read of a resource that may change: a 304 when `If-None-Match` names
/// `tag`, else `body`; both with the tag, to be asked for again every time.
pub fn changing_read(headers: &HeaderMap, tag: &ETag, body: impl IntoResponse) -> Response {
    if none_match_hits(headers, tag) {
        return not_modified(tag, Some(REVALIDATE));
    }
    tagged(body, tag)
}

/// `body` with the resource's (new) tag, to be asked for again every time.
pub fn tagged(body: impl IntoResponse, tag: &ETag) -> Response {
    let mut response = body.into_response();
    set_validators(response.headers_mut(), tag, Some(REVALIDATE));
    response
}

/// The 412 of a write whose `If-Match` no longer names the resource.
pub fn stale(what: &str) -> ApiError {
    ApiError::PreconditionFailed(format!(
        "the {what} changed since it was read (If-Match does not name its current ETag); \
         read it again and retry"
    ))
}

/// A 304 carrying the validators the full answer would have.
pub fn not_modified(tag: &ETag, cache_control: Option<&'static str>) -> Response {
    let mut response = StatusCode::NOT_MODIFIED.into_response();
    set_validators(response.headers_mut(), tag, cache_control);
    response
}

/// Adds `ETag` and, when given, `Cache-Control` to an answer.
pub fn set_validators(headers: &mut HeaderMap, tag: &ETag, cache_control: Option<&'static str>) {
    headers.insert(header::ETAG, tag.header_value());
    if let Some(cache_control) = cache_control {
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(cache_control),
        );
    }
}

/// `Cache-Control` of answers that never change: only the caller's own cache may keep them.
pub const IMMUTABLE: &str = "private, max-age=86400, immutable";

/// `Cache-Control` of reads that may change: keep, but ask every time (with the tag).
pub const REVALIDATE: &str = "private, no-cache";

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(name: header::HeaderName, values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(name.clone(), HeaderValue::from_str(v).unwrap());
        }
        map
    }

    fn tag() -> ETag {
        ETag::strong(&[b"a", b"b"])
    }

    fn quoted(t: &ETag) -> String {
        t.header_value().to_str().unwrap().to_owned()
    }

    #[test]
    fn tags_depend_on_every_part_and_their_boundaries() {
        assert_eq!(tag(), ETag::strong(&[b"a", b"b"]));
        assert_ne!(tag(), ETag::strong(&[b"ab"]));
        assert_ne!(tag(), ETag::strong(&[b"a", b"c"]));
        assert_eq!(quoted(&tag()).len(), 34);
        assert!(quoted(&tag().weakened()).starts_with("W/\""));
        assert_eq!(
            IMMUTABLE,
            format!("private, max-age={IMMUTABLE_MAX_AGE_SECS}, immutable")
        );
    }

    #[test]
    fn if_none_match_lists_stars_weak_tags_and_repeats() {
        let t = tag();
        let q = quoted(&t);
        for value in [
            q.clone(),
            "*".to_owned(),
            format!("\"x\", {q}"),
            format!("W/{q}"),
            format!("\"a,b\",{q}"),
        ] {
            assert!(
                none_match_hits(&headers(header::IF_NONE_MATCH, &[&value]), &t),
                "{value}"
            );
        }
        assert!(none_match_hits(
            &headers(header::IF_NONE_MATCH, &["\"x\"", &q]),
            &t
        ));
        for value in [
            "\"x\"",
            "",
            &q[1..],
            "W/",
            "\"unterminated",
            &format!("{q}junk"),
        ] {
            assert!(
                !none_match_hits(&headers(header::IF_NONE_MATCH, &[value]), &t),
                "{value}"
            );
        }
        assert!(!none_match_hits(&HeaderMap::new(), &t));
        // A long hostile list is read once, linearly, and matches nothing.
        let long = "\"zz\", ".repeat(2000);
        assert!(!none_match_hits(
            &headers(header::IF_NONE_MATCH, &[&long]),
            &t
        ));
    }

    #[test]
    fn if_match_compares_strongly_and_refuses_clearly() {
        let t = tag();
        let q = quoted(&t);
        assert!(check_if_match(&HeaderMap::new(), &t, "job").is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, &[&q]), &t, "job").is_ok());
        assert!(check_if_match(&headers(header::IF_MATCH, &["*"]), &t, "job").is_ok());
        let weak = check_if_match(&headers(header::IF_MATCH, &[&format!("W/{q}")]), &t, "job");
        assert!(matches!(weak, Err(ApiError::PreconditionFailed(_))));
        match check_if_match(&headers(header::IF_MATCH, &["\"old\""]), &t, "job") {
            Err(ApiError::PreconditionFailed(message)) => {
                assert!(message.contains("the job changed"), "{message}");
            }
            other => panic!("{other:?}"),
        }
        match check_if_match(&headers(header::IF_MATCH, &["no quotes"]), &t, "job") {
            Err(ApiError::PreconditionFailed(message)) => {
                assert!(message.contains("not a list of entity tags"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
