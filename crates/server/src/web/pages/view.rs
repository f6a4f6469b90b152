//! What pages show of jobs and runs, in words: shared by the home page and the job pages.

use chrono::{DateTime, Utc};
use grandma_store::{Job, ResultRow, RunStatus};
use uuid::Uuid;

/// A time as the templates show it: `<time datetime="…">` with a UTC fallback text that
/// `app.js` replaces with words in the browser's time zone ("today at 07:00").
#[derive(Debug, Clone)]
pub struct When {
    pub iso: String,
    pub text: String,
}

impl When {
    pub fn of(at: DateTime<Utc>) -> When {
        When {
            iso: at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            text: at.format("%Y-%m-%d %H:%M UTC").to_string(),
        }
    }
}

/// A run in words.
#[derive(Debug, Clone)]
pub struct RunView {
    pub id: Uuid,
    /// `pending`, `running`, …: the CSS class of its badge.
    pub status: &'static str,
    /// "Finished", "Failed", …
    pub status_words: &'static str,
    pub items: i64,
    pub pages: i32,
    pub when: When,
    pub duration: String,
    pub error: String,
    pub warnings: Vec<String>,
    pub finished: bool,
    /// "3 new, 1 changed, 2 gone since the previous run"; empty for a first run or one not
    /// compared.
    pub changes: String,
}

impl RunView {
    pub fn of(run: &ResultRow) -> RunView {
        let (status, status_words) = match run.status {
            RunStatus::Pending => ("pending", "Waiting to start"),
            RunStatus::Running => ("running", "Running"),
            RunStatus::Completed => ("completed", "Finished"),
            RunStatus::Failed => ("failed", "Failed"),
            RunStatus::Cancelled => ("cancelled", "Cancelled"),
        };
        let at = run
            .completed_at
            .or(run.started_at)
            .unwrap_or(run.created_at);
        RunView {
            id: run.result_id,
            status,
            status_words,
            items: run.total_items,
            pages: run.pages_scraped,
            when: When::of(at),
            duration: run.duration_seconds.map(duration_words).unwrap_or_default(),
            error: run.error_message.clone().unwrap_or_default(),
            warnings: run.warnings.clone(),
            finished: matches!(
                run.status,
                RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
            ),
            changes: changes_words(
                run.diff_base_id.is_some(),
                [run.new_items, run.changed_items, run.removed_items],
            ),
        }
    }

    /// "1 item" / "12 items".
    pub fn items_words(&self) -> String {
        plural(self.items, "item", "items")
    }
}

/// What a completed run found compared with the job's previous completed run, in words.
/// `counts`: new, changed and removed items; `compared`: whether there was a run to compare with.
fn changes_words(compared: bool, counts: [Option<i64>; 3]) -> String {
    if !compared {
        return String::new();
    }
    let parts: Vec<String> = counts
        .iter()
        .zip(["new", "changed", "gone"])
        .filter_map(|(n, what)| n.filter(|n| *n > 0).map(|n| format!("{n} {what}")))
        .collect();
    if parts.is_empty() {
        "nothing changed since the previous run".to_owned()
    } else {
        format!("{} since the previous run", parts.join(", "))
    }
}

/// A job's card on the home page.
#[derive(Debug, Clone)]
pub struct JobCard {
    pub id: Uuid,
    pub name: String,
    pub site: String,
    pub last: Option<RunView>,
    pub next_run: Option<When>,
    pub enabled: bool,
    /// The name of the team it belongs to ("Personal" for the viewer's own).
    pub team: String,
}

impl JobCard {
    pub fn new(job: &Job, last: Option<RunView>, next_run: Option<DateTime<Utc>>) -> JobCard {
        JobCard {
            id: job.job_id,
            name: job.name.clone(),
            site: site_of(job),
            last,
            next_run: next_run.map(When::of),
            enabled: job.enabled,
            team: String::new(),
        }
    }
}

/// The host of a job's start URL (`books.example.com`), or the URL as written.
pub fn site_of(job: &Job) -> String {
    let start = job
        .config
        .get("start_url")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    url::Url::parse(start)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| start.to_owned())
}

pub fn plural(n: i64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// "4 seconds", "2 minutes 5 seconds", "1 hour 3 minutes".
pub fn duration_words(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as i64;
    let (h, m, sec) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!(
            "{} {}",
            plural(h, "hour", "hours"),
            plural(m, "minute", "minutes")
        )
    } else if m > 0 {
        format!(
            "{} {}",
            plural(m, "minute", "minutes"),
            plural(sec, "second", "seconds")
        )
    } else {
        plural(sec, "second", "seconds")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(0.4), "0 seconds");
        assert_eq!(duration_words(1.0), "1 second");
        assert_eq!(duration_words(125.0), "2 minutes 5 seconds");
        assert_eq!(duration_words(3720.0), "1 hour 2 minutes");
    }

    #[test]
    fn changes_in_words() {
        assert_eq!(changes_words(false, [Some(3), None, None]), "");
        assert_eq!(
            changes_words(true, [Some(3), Some(1), Some(2)]),
            "3 new, 1 changed, 2 gone since the previous run"
        );
        assert_eq!(
            changes_words(true, [Some(0), Some(4), Some(0)]),
            "4 changed since the previous run"
        );
        assert_eq!(
            changes_words(true, [Some(0), Some(0), Some(0)]),
            "nothing changed since the previous run"
        );
    }
}
