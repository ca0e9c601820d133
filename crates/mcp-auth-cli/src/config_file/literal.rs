//! A TOML string as the file spells it, to turn a line and column in its value (where a CEL
//! expression has an error) into the file's line and column.

use std::path::Path;

use super::position::Position;

/// A string value of a configuration file: where it starts and how it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TomlString {
    /// The position of its opening quote.
    start: Position,
    /// The literal as written, quotes included.
    raw: String,
}

impl TomlString {
    /// The string at byte range `span` of `text`, the content of `file`.
    pub(crate) fn new(file: &Path, text: &str, span: std::ops::Range<usize>) -> Self {
        Self {
            start: Position::at(file, text, span.start),
            raw: text.get(span).unwrap_or_default().to_owned(),
        }
    }

    /// Where in the file the value's 1-based `line` and `column` (in characters) are. Exact for
    /// literal strings ('...', '''...'''), and for basic strings ("...", """...""") whose escapes
    /// stand for one character each (\n, \", \u00e9); a line-ending backslash of a multi-line
    /// basic string is skipped with the blanks after it, as TOML reads it.
    pub(crate) fn position(&self, line: usize, column: usize) -> Position {
        let (quote, basic) = match self.raw.as_bytes() {
            [b'\'', b'\'', b'\'', ..] => ("'''", false),
            [b'"', b'"', b'"', ..] => ("\"\"\"", true),
            [b'"', ..] => ("\"", true),
            _ => ("'", false),
        };
        let mut content = &self.raw[quote.len()..];
        let mut skipped_lines = 0;
        // A multi-line string drops the newline right after its opening quotes.
        if quote.len() == 3 {
            if let Some(rest) = content.strip_prefix('\n') {
                content = rest;
                skipped_lines = 1;
            } else if let Some(rest) = content.strip_prefix("\r\n") {
                content = rest;
                skipped_lines = 1;
            }
        }
        let (raw_line, raw_column) = raw_place(content, basic, line, column);
        let (lines, column) = match raw_line + skipped_lines {
            0 => (0, quote.chars().count() + raw_column),
            lines => (lines, raw_column),
        };
        self.start.within(lines, column)
    }
}

/// The 0-based line and 1-based column, within `content` as written, of the value's 1-based
/// `line` and `column`.
fn raw_place(content: &str, basic: bool, line: usize, column: usize) -> (usize, usize) {
    let chars: Vec<char> = content.chars().collect();
    let (mut value, mut raw) = ((1, 1), (0, 1));
    let mut index = 0;
    while index < chars.len() {
        // How many characters of the file the value's next one takes, and which it is: `None`
        // for a line-ending backslash, which TOML drops with the blanks after it.
        let (width, stands_for) = match (basic, chars[index], chars.get(index + 1)) {
            (true, '\\', Some('u')) => (6, Some('?')),
            (true, '\\', Some('U')) => (10, Some('?')),
            (true, '\\', Some('x')) => (4, Some('?')),
            (true, '\\', Some(next)) if next.is_whitespace() => {
                let blanks = chars[index + 1..]
                    .iter()
                    .take_while(|c| c.is_whitespace())
                    .count();
                (1 + blanks, None)
            }
            (true, '\\', Some('n')) => (2, Some('\n')),
            (true, '\\', Some(_)) => (2, Some('?')),
            (_, c, _) => (1, Some(c)),
        };
        if stands_for.is_some() && value >= (line, column) {
            break;
        }
        for c in chars.iter().skip(index).take(width) {
            raw = if *c == '\n' {
                (raw.0 + 1, 1)
            } else {
                (raw.0, raw.1 + 1)
            };
        }
        index += width;
        value = match stands_for {
            Some('\n') => (value.0 + 1, 1),
            Some(_) => (value.0, value.1 + 1),
            None => value,
        };
    }
    raw
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The position of `line`:`column` of the value of the string starting at `at` in `text`
    /// and ending with the text's last line.
    fn place(text: &str, at: &str, line: usize, column: usize) -> String {
        let start = text.find(at).unwrap();
        let end = text.trim_end().len();
        let literal = TomlString::new(Path::new("f.toml"), text, start..end);
        let position = literal.position(line, column);
        format!("{}:{}", position.line, position.column)
    }

    #[test]
    fn a_place_in_a_value_is_found_in_the_file() {
        // 'x' is the 1st character of the value, at column 13 of the file's line 2.
        let text = "a = 1\nallow_if = 'x == 1'\n";
        assert_eq!(place(text, "'x", 1, 1), "2:13");
        assert_eq!(place(text, "'x", 1, 3), "2:15");
        // Escapes stand for one character each.
        let text = "allow_if = \"\\\"a\\\" == b\"\n";
        assert_eq!(place(text, "\"\\", 1, 5), "1:19");
        let text = "allow_if = \"\\u00e9 == b\"\n";
        assert_eq!(place(text, "\"\\", 1, 2), "1:19");
        // A multi-line literal string drops its first newline.
        let text = "allow_if = '''\nauth.x &&\n  bad'''\n";
        assert_eq!(place(text, "'''", 1, 1), "2:1");
        assert_eq!(place(text, "'''", 2, 3), "3:3");
        let text = "allow_if = '''a &&\nb'''\n";
        assert_eq!(place(text, "'''", 1, 3), "1:17");
        // A line-ending backslash joins lines.
        let text = "allow_if = \"\"\"\na && \\\n   b\"\"\"\n";
        assert_eq!(place(text, "\"\"\"", 1, 6), "3:4");
    }
}
