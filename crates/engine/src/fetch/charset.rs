//! Turning a body's bytes into text.
//!
//! The encoding comes from, in order (a simplified WHATWG "encoding sniffing"): a byte-order
//! mark, the `charset` of `Content-Type`, a `<meta charset>` or `<meta http-equiv>` in the first
//! 1024 bytes of an HTML body. Without any of them the body is taken as UTF-8 when it is valid
//! UTF-8 and as windows-1252 (the web's legacy default) when it is not.
//!
//! The common case, UTF-8 bytes that are valid, reuses the buffer: no copy of the page.

use std::borrow::Cow;

use encoding_rs::{Encoding, UTF_8, WINDOWS_1252};

/// How far into the body a `<meta>` declaration is looked for (the HTML standard's prescan).
const META_PRESCAN_BYTES: usize = 1024;

/// Decodes `body` to a `String`, using `content_type` (the header's value) when it names a
/// charset. Undecodable sequences become U+FFFD.
pub fn decode(body: Vec<u8>, content_type: Option<&str>) -> String {
    let (encoding, declared, bom_len) = detect(&body, content_type);
    if encoding == UTF_8 {
        let mut bytes = body;
        if bom_len > 0 {
            bytes.drain(..bom_len);
        }
        return match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) if declared => String::from_utf8_lossy(e.as_bytes()).into_owned(),
            Err(e) => {
                let (text, _, _) = WINDOWS_1252.decode(e.as_bytes());
                text.into_owned()
            }
        };
    }
    let input = body.get(bom_len..).unwrap_or_default();
    let (text, _had_errors) = encoding.decode_without_bom_handling(input);
    match text {
        Cow::Owned(text) => text,
        // Borrowed means the bytes were already valid UTF-8 (pure ASCII in an ASCII-compatible
        // charset): keep the buffer instead of copying it.
        Cow::Borrowed(_) => {
            let mut bytes = body;
            bytes.drain(..bom_len);
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
        }
    }
}

/// The encoding to use, whether it was declared, and the length of a BOM to skip.
fn detect(body: &[u8], content_type: Option<&str>) -> (&'static Encoding, bool, usize) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(body) {
        return (encoding, true, bom_len);
    }
    if let Some(encoding) = content_type.and_then(charset_from_content_type) {
        return (encoding, true, 0);
    }
    let html_or_unknown =
        content_type.is_none_or(|ct| contains_ignore_case(ct.as_bytes(), b"html"));
    if html_or_unknown {
        let head = body.get(..META_PRESCAN_BYTES).unwrap_or(body);
        if let Some(encoding) = charset_from_meta(head) {
            return (encoding, true, 0);
        }
    }
    (UTF_8, false, 0)
}

/// The encoding named by a `Content-Type` value's `charset` parameter, if known.
pub fn charset_from_content_type(content_type: &str) -> Option<&'static Encoding> {
    let bytes = content_type.as_bytes();
    let at = find_ignore_case(bytes, b"charset")?;
    label_after_equals(bytes.get(at + b"charset".len()..)?)
}

/// The encoding declared by a `<meta>` tag in `head`, if any. A page cannot declare itself
/// UTF-16 in ASCII-readable markup, so such a declaration means UTF-8 (as the HTML standard
/// says).
pub fn charset_from_meta(head: &[u8]) -> Option<&'static Encoding> {
    let mut rest = head;
    while let Some(start) = find_ignore_case(rest, b"<meta") {
        let after = rest.get(start + b"<meta".len()..)?;
        let end = after.iter().position(|&b| b == b'>').unwrap_or(after.len());
        let tag = after.get(..end)?;
        // Both forms contain `charset=`: `<meta charset="x">` and
        // `<meta http-equiv="Content-Type" content="text/html; charset=x">`.
        let mut attrs = tag;
        while let Some(at) = find_ignore_case(attrs, b"charset") {
            let value = attrs.get(at + b"charset".len()..)?;
            if let Some(encoding) = label_after_equals(value) {
                return Some(encoding.output_encoding());
            }
            attrs = value;
        }
        rest = after.get(end..)?;
    }
    None
}

/// Parses `= "label"` (spaces and quotes optional) and looks the label up.
fn label_after_equals(bytes: &[u8]) -> Option<&'static Encoding> {
    let bytes = trim_start(bytes);
    let bytes = trim_start(bytes.strip_prefix(b"=")?);
    let (bytes, quote) = match bytes.first() {
        Some(&q @ (b'"' | b'\'')) => (bytes.get(1..)?, Some(q)),
        _ => (bytes, None),
    };
    let end = bytes
        .iter()
        .position(|&b| match quote {
            Some(q) => b == q,
            None => b.is_ascii_whitespace() || matches!(b, b';' | b'"' | b'\'' | b'>' | b'/'),
        })
        .unwrap_or(bytes.len());
    Encoding::for_label(bytes.get(..end)?)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let skip = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.get(skip..).unwrap_or_default()
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    find_ignore_case(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_is_kept_in_place() {
        let body = "héllo".as_bytes().to_vec();
        let ptr = body.as_ptr();
        let text = decode(body, Some("text/html; charset=utf-8"));
        assert_eq!(text, "héllo");
        assert_eq!(text.as_ptr(), ptr, "no copy for valid UTF-8");
    }

    #[test]
    fn header_charset_wins_over_meta() {
        let body = b"<meta charset=\"utf-8\"><p>\xe9</p>".to_vec();
        assert_eq!(
            decode(body, Some("text/html; Charset=\"ISO-8859-1\"")),
            "<meta charset=\"utf-8\"><p>é</p>"
        );
    }

    #[test]
    fn meta_forms() {
        assert_eq!(
            charset_from_meta(b"<html><head><META CHARSET=windows-1251>"),
            Some(encoding_rs::WINDOWS_1251)
        );
        assert_eq!(
            charset_from_meta(
                b"<meta http-equiv='Content-Type' content='text/html; charset=koi8-r'>"
            ),
            Some(encoding_rs::KOI8_R)
        );
        assert_eq!(
            charset_from_meta(b"<meta charset=\"utf-16le\">"),
            Some(UTF_8)
        );
        assert_eq!(charset_from_meta(b"<meta name=viewport content=x>"), None);
        assert_eq!(charset_from_meta(b"<meta charset=bogus>"), None);
    }

    #[test]
    fn bom_wins_and_is_stripped() {
        let mut body = vec![0xEF, 0xBB, 0xBF];
        body.extend_from_slice("ok".as_bytes());
        assert_eq!(decode(body, Some("text/html; charset=iso-8859-1")), "ok");
        let utf16 = vec![0xFF, 0xFE, b'h', 0, b'i', 0];
        assert_eq!(decode(utf16, None), "hi");
    }

    #[test]
    fn undeclared_invalid_utf8_falls_back_to_windows_1252() {
        assert_eq!(decode(b"caf\xe9".to_vec(), None), "café");
        // Declared UTF-8 keeps its word: replacement characters.
        assert_eq!(
            decode(b"caf\xe9".to_vec(), Some("text/html; charset=utf-8")),
            "caf\u{FFFD}"
        );
    }

    #[test]
    fn ascii_in_legacy_charset_reuses_buffer() {
        let body = b"plain".to_vec();
        let ptr = body.as_ptr();
        let text = decode(body, Some("text/html; charset=windows-1251"));
        assert_eq!(text, "plain");
        assert_eq!(text.as_ptr(), ptr);
    }
}
