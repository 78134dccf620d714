//! Diagnostics: an input problem with its location, rendered the way compilers do.
//!
//! Each stage has its own error enum with the structured facts (`UnknownDependency { name,
//! suggestion }`); when a stage reports to the user it turns them into [`Diagnostic`]s, and
//! `report::diagnostic` renders those, with a source excerpt and a caret under the spot.

use std::fmt;

use crate::source::Location;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// One message for the user about their input.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    pub location: Option<Location>,
    /// Short text shown under the caret.
    pub label: Option<String>,
    /// Secondary places involved (the other end of a duplicate, each edge of a cycle).
    pub related: Vec<(Location, String)>,
    pub notes: Vec<String>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            location: None,
            label: None,
            related: Vec::new(),
            notes: Vec::new(),
            help: None,
        }
    }

    pub fn warning(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(message)
        }
    }

    /// The same message as a warning.
    pub fn as_warning(mut self) -> Self {
        self.severity = Severity::Warning;
        self
    }

    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }

    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    pub fn related(mut self, location: Location, text: impl Into<String>) -> Self {
        self.related.push((location, text.into()));
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn help_opt(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }
}

/// One line, `path:line:col: message`, for JSON reports and logs.
impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(location) = &self.location {
            write!(f, "{location}: ")?;
        }
        f.write_str(&self.message)
    }
}

/// The closest candidate to `wanted`, if it is close enough to be a plausible typo. A
/// candidate that differs only in case (`PROD` for `prod`) is the closest of all.
pub fn did_you_mean<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let candidates: Vec<&'a str> = candidates.into_iter().collect();
    if let Some(same) = candidates
        .iter()
        .find(|c| **c != wanted && c.to_lowercase() == wanted.to_lowercase())
    {
        return Some(same);
    }
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(wanted, c), c))
        .filter(|&(d, c)| d > 0 && d <= (wanted.len().max(c.len()) / 3).max(1))
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn near_names_are_suggested_and_far_ones_are_not() {
        let names = ["network", "database", "cache"];
        assert_eq!(did_you_mean("netwrk", names), Some("network"));
        assert_eq!(did_you_mean("databse", names), Some("database"));
        assert_eq!(did_you_mean("zzz", names), None);
        assert_eq!(did_you_mean("cache", names), None);
        assert_eq!(did_you_mean("NETWORK", names), Some("network"));
    }
}
