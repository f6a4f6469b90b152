//! Cron expressions of schedules: five fields read in an IANA time zone.
//!
//! Parsing and the search for the next occurrence are croner's; it works on the zone's wall
//! clock, so daylight-saving changes behave as people expect: a time that falls in the
//! spring-forward gap runs at the first instant after the gap, and a wall-clock time repeated
//! by the fall-back overlap runs once, at its first occurrence (also for hourly expressions:
//! `0 * * * *` runs at 02:00 summer time, not again at 02:00 winter time). Only expressions
//! with a wildcard minute run in both copies of the repeated hour.

use std::str::FromStr;

use chrono::{DateTime, Timelike, Utc};
use chrono_tz::Tz;
use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};

/// Why an expression or zone was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronSpecError {
    #[error("a cron expression has 5 fields (minute hour day-of-month month day-of-week), not {0}")]
    FieldCount(usize),
    #[error("invalid cron expression: {0}")]
    Expression(String),
    #[error("unknown time zone {0:?} (use an IANA name such as Europe/Berlin)")]
    TimeZone(String),
    #[error("the expression never matches")]
    Never,
}

/// A validated expression in a zone.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    cron: Cron,
    tz: Tz,
}

impl CronSchedule {
    pub fn parse(expression: &str, timezone: &str) -> Result<Self, CronSpecError> {
        let fields = expression.split_whitespace().count();
        if fields != 5 {
            return Err(CronSpecError::FieldCount(fields));
        }
        let cron = CronParser::builder()
            .seconds(Seconds::Disallowed)
            .year(Year::Disallowed)
            .build()
            .parse(expression)
            .map_err(|e| CronSpecError::Expression(e.to_string()))?;
        let tz = Tz::from_str(timezone).map_err(|_| CronSpecError::TimeZone(timezone.into()))?;
        let schedule = CronSchedule { cron, tz };
        // `0 0 31 2 *` parses but never fires; say so now rather than never.
        if schedule.next_after(Utc::now()).is_none() {
            return Err(CronSpecError::Never);
        }
        Ok(schedule)
    }

    /// The first occurrence strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // croner keeps the start's fraction of a second; occurrences are whole minutes.
        let after = after.with_nanosecond(0).unwrap_or(after);
        let local = after.with_timezone(&self.tz);
        let next = self.cron.find_next_occurrence(&local, false).ok()?;
        let next = next.with_timezone(&Utc);
        Some(next.with_nanosecond(0).unwrap_or(next))
    }

    /// The next `n` occurrences after `after`.
    pub fn upcoming(&self, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
        let mut out = Vec::with_capacity(n);
        let mut at = after;
        while out.len() < n {
            match self.next_after(at) {
                Some(next) => {
                    out.push(next);
                    at = next;
                }
                None => break,
            }
        }
        out
    }
}

/// A short English description of common expressions; croner's own description otherwise.
pub fn describe(expression: &str) -> String {
    let f: Vec<&str> = expression.split_whitespace().collect();
    if let [min, hour, dom, mon, dow] = f[..]
        && let Some(text) = describe_common(min, hour, dom, mon, dow)
    {
        return text;
    }
    match Cron::from_str(expression) {
        Ok(cron) => cron.describe(),
        Err(_) => expression.to_owned(),
    }
}

fn describe_common(min: &str, hour: &str, dom: &str, mon: &str, dow: &str) -> Option<String> {
    let num = |s: &str, max: u32| s.parse::<u32>().ok().filter(|v| *v <= max);
    let step = |s: &str| s.strip_prefix("*/").and_then(|v| v.parse::<u32>().ok());
    let plural = |n: u32, unit: &str| {
        if n == 1 {
            format!("every {unit}")
        } else {
            format!("every {n} {unit}s")
        }
    };
    if mon != "*" {
        return None;
    }
    let day_part = match (dom, dow) {
        ("*", "*") => Some(String::new()),
        ("*", "1-5") | ("*", "MON-FRI") | ("*", "mon-fri") => Some(" on weekdays".into()),
        ("*", "0,6") | ("*", "6,0") | ("*", "SAT,SUN") => Some(" on weekends".into()),
        ("*", d) => day_name(d).map(|n| format!(" on {n}s")),
        (d, "*") => num(d, 31)
            .filter(|d| *d >= 1)
            .map(|d| format!(" on day {d} of the month")),
        _ => None,
    }?;
    let when = match (min, hour) {
        ("*", "*") => "every minute".to_owned(),
        (m, "*") if step(m).is_some() => plural(step(m)?, "minute"),
        (m, "*") => format!("at minute {} of every hour", num(m, 59)?),
        (m, h) if step(h).is_some() => {
            format!("at minute {} {}", num(m, 59)?, plural(step(h)?, "hour"))
        }
        (m, h) => format!("at {:02}:{:02}", num(h, 23)?, num(m, 59)?),
    };
    let when = if day_part.is_empty()
        && matches!((min, hour), (m, h) if num(m, 59).is_some() && num(h, 23).is_some())
    {
        format!("{when} every day")
    } else {
        when
    };
    let mut text = format!("{when}{day_part}");
    if let Some(first) = text.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    Some(text)
}

fn day_name(d: &str) -> Option<&'static str> {
    Some(match d.to_ascii_uppercase().as_str() {
        "0" | "7" | "SUN" => "Sunday",
        "1" | "MON" => "Monday",
        "2" | "TUE" => "Tuesday",
        "3" | "WED" => "Wednesday",
        "4" | "THU" => "Thursday",
        "5" | "FRI" => "Friday",
        "6" | "SAT" => "Saturday",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_forms_are_described() {
        assert_eq!(describe("* * * * *"), "Every minute");
        assert_eq!(describe("*/15 * * * *"), "Every 15 minutes");
        assert_eq!(describe("0 * * * *"), "At minute 0 of every hour");
        assert_eq!(describe("30 2 * * *"), "At 02:30 every day");
        assert_eq!(describe("0 9 * * 1-5"), "At 09:00 on weekdays");
        assert_eq!(describe("0 9 * * MON"), "At 09:00 on Mondays");
        assert_eq!(describe("0 0 1 * *"), "At 00:00 on day 1 of the month");
        assert_eq!(describe("0 */6 * * *"), "At minute 0 every 6 hours");
        assert!(!describe("0 0 1 1 *").is_empty());
    }

    #[test]
    fn bad_expressions_are_refused() {
        assert!(matches!(
            CronSchedule::parse("* * * *", "UTC"),
            Err(CronSpecError::FieldCount(4))
        ));
        assert!(matches!(
            CronSchedule::parse("0 0 * * * *", "UTC"),
            Err(CronSpecError::FieldCount(6))
        ));
        assert!(matches!(
            CronSchedule::parse("61 * * * *", "UTC"),
            Err(CronSpecError::Expression(_))
        ));
        assert!(matches!(
            CronSchedule::parse("* * * * *", "Mars/Olympus"),
            Err(CronSpecError::TimeZone(_))
        ));
    }
}
