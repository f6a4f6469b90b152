//! The one error type of the crate: compile and evaluation errors alike point at a byte offset
//! in the expression, so a UI can underline the offending part of what the user typed.

/// An XPath compile or evaluation error.
///
/// `position` is a byte offset into the expression source (0 for errors that concern the whole
/// expression, such as the length limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {position}: {message}")]
pub struct XPathError {
    /// Byte offset into the expression source.
    pub position: usize,
    /// Human-readable description of the problem.
    pub message: String,
}

/// The message of an evaluation given up because its stop callback said so.
pub(crate) const STOPPED: &str = "evaluation stopped before the end (time budget or cancellation)";

impl XPathError {
    /// Whether evaluation was given up because the stop callback of
    /// [`XPath::evaluate_until`](crate::XPath::evaluate_until) said so.
    pub fn is_stopped(&self) -> bool {
        self.position == 0 && self.message == STOPPED
    }

    pub(crate) fn new(position: usize, message: impl Into<String>) -> Self {
        XPathError {
            position,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_position() {
        let err = XPathError::new(7, "unknown function 'foo'");
        assert_eq!(err.to_string(), "at position 7: unknown function 'foo'");
    }
}
