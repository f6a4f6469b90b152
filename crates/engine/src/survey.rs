//! Looking at one page outside a job, for detection: fetch it with the fetcher a person asked
//! for, find its lists, and under `auto` render the page in the browser when plain HTTP found
//! nothing on a page built by scripts (the same rule a run follows). The CLI's `detect` and the
//! API's `/detect` both come here, so they answer alike.

use url::Url;

use crate::detect::{self, DetectOptions, Detection};
use crate::fetch::browser::shell::app_shell_sign;
use crate::fetch::{Escalation, FetchError, Fetcher};

/// Why a page could not be looked at. Messages are for a person.
#[derive(Debug, thiserror::Error)]
pub enum SurveyError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url} is not an HTML page (its content type is {content_type})")]
    NotHtml { url: Url, content_type: String },
    /// Detection itself failed (a bug): said rather than unwound into the caller.
    #[error("detection failed on this page: {0}")]
    Detection(String),
}

/// Fetches `url` with `fetcher` and detects its lists; the page is parsed on a blocking
/// thread. A page rendered after plain HTTP found nothing says so in the warnings.
pub async fn fetch_and_detect(
    fetcher: &dyn Fetcher,
    url: &Url,
    options: DetectOptions,
) -> Result<Detection, SurveyError> {
    let (found, sign) = fetch_once(fetcher, url, options).await?;
    let Some(sign) = sign.filter(|_| !fetcher.renders_javascript()) else {
        return Ok(found);
    };
    match fetcher.render_from_now() {
        Escalation::Switched | Escalation::AlreadyRendering => {
            let (mut found, _) = fetch_once(fetcher, url, options).await?;
            found.warnings.push(format!(
                "plain HTTP found no list and the page looks built by scripts ({sign}); it was \
                 rendered in the browser"
            ));
            Ok(found)
        }
        Escalation::Unavailable(why) => {
            let mut found = found;
            found.warnings.push(format!(
                "no list found, and the page looks built by scripts ({sign}); {why}"
            ));
            Ok(found)
        }
    }
}

/// One fetch and detection, and the sign that the page is an app shell when it has no list.
async fn fetch_once(
    fetcher: &dyn Fetcher,
    url: &Url,
    options: DetectOptions,
) -> Result<(Detection, Option<String>), SurveyError> {
    let page = fetcher.fetch(url).await?;
    if let Some(content_type) = &page.content_type {
        let lower = content_type.to_ascii_lowercase();
        if !lower.contains("html") && !lower.contains("xml") {
            return Err(SurveyError::NotHtml {
                url: page.final_url,
                content_type: content_type.clone(),
            });
        }
    }
    let detected = tokio::task::spawn_blocking(move || {
        let found = detect::detect_html(&page.body, &page.final_url, &options);
        let sign = found
            .candidates
            .is_empty()
            .then(|| app_shell_sign(&page.body).map(|s| s.to_string()))
            .flatten();
        (found, sign)
    })
    .await;
    detected.map_err(|e| SurveyError::Detection(e.to_string()))
}
