//! Where something is in a configuration file, and the error that says so: `FILE:LINE:COLUMN:
//! message`, the shape editors and terminals turn into a link.

use std::fmt;
use std::ops::Range;
use std::path::Path;

/// A place in a configuration file: its name as given, and a 1-based line and column (counted in
/// characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Position {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
}

impl Position {
    /// The position of byte `offset` of `text`, the content of `file`.
    pub(crate) fn at(file: &Path, text: &str, offset: usize) -> Self {
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        Self {
            file: file.display().to_string(),
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }

    /// The position `lines` lines down (0: this line) and at `column` there, or `columns` to the
    /// right on this line: a place inside a string that starts here.
    pub(crate) fn within(&self, lines: usize, column: usize) -> Self {
        Self {
            file: self.file.clone(),
            line: self.line + lines,
            column: if lines == 0 {
                self.column + column - 1
            } else {
                column
            },
        }
    }

    /// An error here.
    pub(crate) fn error(&self, message: impl Into<String>) -> ConfigFileError {
        ConfigFileError {
            file: self.file.clone(),
            at: Some((self.line, self.column)),
            message: message.into(),
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// A configuration file that cannot be used: where, and what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFileError {
    file: String,
    /// The line and column, unless the error is about the whole file (it cannot be read).
    at: Option<(usize, usize)>,
    message: String,
}

impl ConfigFileError {
    /// An error about `file` as a whole.
    pub(crate) fn whole(file: &Path, message: impl Into<String>) -> Self {
        Self {
            file: file.display().to_string(),
            at: None,
            message: message.into(),
        }
    }
}

/// A configuration file's name and content, to place what was found in it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileText<'a> {
    pub(crate) path: &'a Path,
    pub(crate) text: &'a str,
}

impl FileText<'_> {
    /// The position of byte `offset`.
    pub(crate) fn position(&self, offset: usize) -> Position {
        Position::at(self.path, self.text, offset)
    }

    /// An error at the start of byte range `span`.
    pub(crate) fn error(&self, span: Range<usize>, message: impl Into<String>) -> ConfigFileError {
        self.position(span.start).error(message)
    }

    /// The TOML reader's error, at its place.
    pub(crate) fn toml_error(&self, error: &toml::de::Error) -> ConfigFileError {
        let message = error.message().trim_end();
        match error.span() {
            Some(span) => self.error(span, message),
            None => ConfigFileError::whole(self.path, message),
        }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.at {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_lines_and_character_columns() {
        let file = Path::new("mcp-auth.toml");
        let text = "a = 1\nb = \"\u{e9}t\u{e9}\" x\n";
        assert_eq!(Position::at(file, text, 0).to_string(), "mcp-auth.toml:1:1");
        let x = text.find('x').unwrap();
        assert_eq!(
            Position::at(file, text, x).to_string(),
            "mcp-auth.toml:2:11"
        );
        let start = Position::at(file, text, 10);
        assert_eq!(start.within(0, 3).to_string(), "mcp-auth.toml:2:7");
        assert_eq!(start.within(2, 4).to_string(), "mcp-auth.toml:4:4");
        let content = FileText { path: file, text };
        assert_eq!(
            content.error(x..x + 1, "no").to_string(),
            "mcp-auth.toml:2:11: no"
        );
        assert_eq!(
            ConfigFileError::whole(file, "cannot read it").to_string(),
            "mcp-auth.toml: cannot read it"
        );
    }
}
