//! What is wrong with a deployment's settings, all of it at once, in words an operator can
//! act on: which setting, where its value came from, and what is expected.

use std::fmt;

/// One problem with one setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The setting's key path (`worker.concurrency`); empty for the file as a whole.
    pub key: String,
    /// Where the value came from: an environment variable, the config file, or `default`.
    pub origin: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: &str, origin: &str, message: impl Into<String>) -> Self {
        Problem {
            key: key.to_owned(),
            origin: origin.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.key.is_empty(), self.origin.is_empty()) {
            (true, true) => write!(f, "{}", self.message),
            (true, false) => write!(f, "{}: {}", self.origin, self.message),
            (false, true) => write!(f, "{}: {}", self.key, self.message),
            (false, false) => write!(f, "{} (from {}): {}", self.key, self.origin, self.message),
        }
    }
}

/// Every problem found; an error when there is at least one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn push(&mut self, problem: Problem) {
        self.0.push(problem);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    /// `Ok(value)` when nothing was found.
    pub fn into_result<T>(self, value: T) -> Result<T, Problems> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(
            f,
            "{n} problem{} with the settings:",
            if n == 1 { "" } else { "s" }
        )?;
        for problem in &self.0 {
            write!(f, "\n  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}
