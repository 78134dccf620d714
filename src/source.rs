//! Source files and positions inside them.
//!
//! Every input ordo reads (manifest files, standard input, handler scripts, values files) is
//! kept as a [`SourceFile`] for the whole run, so any error found later (a cycle, an unknown
//! dependency, a script failure) can point back at `path:line:column` and show the line.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One input file, its text, and the name it is shown under.
#[derive(Debug)]
pub struct SourceFile {
    /// How the file is named in messages: the path as the user gave it, `<stdin>`, or
    /// `bundled:handlers/name.rhai` for files embedded in the binary.
    name: String,
    /// The directory relative paths in this file are resolved against.
    dir: PathBuf,
    /// `dir` made canonical, once (handlers see it as `m.dir` for every manifest).
    absolute_dir: std::sync::OnceLock<String>,
    /// The file's path made canonical, once (recorded in the state).
    canonical_name: std::sync::OnceLock<String>,
    text: String,
}

impl SourceFile {
    pub fn new(
        name: impl Into<String>,
        dir: impl Into<PathBuf>,
        text: impl Into<String>,
    ) -> Arc<Self> {
        Arc::new(SourceFile {
            name: name.into(),
            dir: dir.into(),
            absolute_dir: std::sync::OnceLock::new(),
            canonical_name: std::sync::OnceLock::new(),
            text: text.into(),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// [`Self::dir`] as a canonical path (absolute, symlinks resolved, no `..`), as text:
    /// the same whatever directory ordo was started from.
    pub fn absolute_dir(&self) -> &str {
        self.absolute_dir
            .get_or_init(|| crate::paths::canonical(&self.dir).display().to_string())
    }

    /// The file's canonical path, as text, for what is recorded; the name itself for what
    /// is not a file on disk (`<stdin>`, `bundled:...`).
    pub fn canonical_name(&self) -> &str {
        self.canonical_name.get_or_init(|| {
            Path::new(&self.name)
                .canonicalize()
                .map_or_else(|_| self.name.clone(), |p| p.display().to_string())
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The text of a 1-based line, without its line break. Lines are counted as YAML counts
    /// them, broken at `\n`, `\r\n` or a lone `\r` (issue 9: a file with old Mac line
    /// breaks had the right line numbers in its errors but no excerpt).
    pub fn line(&self, line: u32) -> Option<&str> {
        let index = usize::try_from(line).ok()?.checked_sub(1)?;
        lines(&self.text).nth(index)
    }
}

fn lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let t = rest?;
        let Some(i) = t.find(['\n', '\r']) else {
            rest = None;
            return Some(t);
        };
        let (line, after) = t.split_at(i);
        rest = Some(
            after
                .strip_prefix("\r\n")
                .or_else(|| after.get(1..))
                .unwrap_or_default(),
        );
        Some(line)
    })
}

/// A position in a source file: 1-based line, 1-based column (in characters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mark {
    pub line: u32,
    pub col: u32,
}

impl Mark {
    pub const fn new(line: u32, col: u32) -> Self {
        Mark { line, col }
    }
}

/// A position together with the file it is in; what every input error carries.
#[derive(Clone, Debug)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub mark: Mark,
    /// How many characters the interesting part spans (at least 1), for the caret line.
    pub width: u32,
}

impl Location {
    pub fn new(file: &Arc<SourceFile>, mark: Mark) -> Self {
        Location {
            file: Arc::clone(file),
            mark,
            width: 1,
        }
    }

    pub fn with_width(mut self, width: usize) -> Self {
        self.width = u32::try_from(width.max(1)).unwrap_or(u32::MAX);
        self
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.mark.line == 0 {
            return write!(f, "{}", self.file.name());
        }
        write!(
            f,
            "{}:{}:{}",
            self.file.name(),
            self.mark.line,
            self.mark.col
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based_and_strip_carriage_returns() {
        let f = SourceFile::new("a.yaml", ".", "one\r\ntwo\nthree");
        assert_eq!(f.line(1), Some("one"));
        assert_eq!(f.line(2), Some("two"));
        assert_eq!(f.line(3), Some("three"));
        assert_eq!(f.line(4), None);
        assert_eq!(f.line(0), None);
    }

    #[test]
    fn a_lone_carriage_return_breaks_a_line_as_in_yaml() {
        let f = SourceFile::new("a.yaml", ".", "one\rtwo\r\nthree\n\nfive\n");
        let all: Vec<_> = (1..=7).map(|n| f.line(n)).collect();
        assert_eq!(
            all,
            [
                Some("one"),
                Some("two"),
                Some("three"),
                Some(""),
                Some("five"),
                Some(""),
                None
            ]
        );
    }

    #[test]
    fn location_renders_like_a_compiler() {
        let f = SourceFile::new("dir/a.yaml", "dir", "x");
        assert_eq!(
            Location::new(&f, Mark::new(3, 7)).to_string(),
            "dir/a.yaml:3:7"
        );
    }
}
