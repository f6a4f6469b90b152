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

impl XPathError {
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
