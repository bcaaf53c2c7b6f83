//! Diagnostics for users: a problem with its file, line:column, offending value and a hint,
//! rendered as `FILE:LINE:COL: error: message` with a source snippet, or as JSON.
//!
//! Every stage collects all of its problems and returns them together; nothing stops at the
//! first one. `anyhow` stays for plumbing (I/O), never for a problem in the user's spec.

use std::fmt::Write as _;

use serde::Serialize;

/// How bad a problem is. Errors stop generation; warnings are printed and generation goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The spec cannot be compiled.
    Error,
    /// Worth a look; generation continues.
    Warning,
}

/// A position in a source file: 1-based line and column (columns count characters), and
/// how many characters on that line the offending text covers (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Width of the underline, in characters.
    #[serde(skip)]
    pub width: usize,
}

impl Pos {
    /// The start of a file.
    pub const START: Pos = Pos {
        line: 1,
        column: 1,
        width: 1,
    };
}

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// The file the problem is in, as the user named it.
    pub file: String,
    /// Where in the file, when known.
    #[serde(flatten)]
    pub pos: Option<Pos>,
    /// What is wrong, in one sentence without a trailing period.
    pub message: String,
    /// The offending value as written, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// How to fix it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Diagnostic {
    /// An error in `file` at `pos`.
    pub fn error(file: &str, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            file: file.to_string(),
            pos,
            message: message.into(),
            value: None,
            hint: None,
        }
    }

    /// A warning in `file` at `pos`.
    pub fn warning(file: &str, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(file, pos, message)
        }
    }

    /// Attach the offending value.
    pub fn with_value(mut self, value: impl Into<String>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Attach a hint.
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every problem found, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// Add one.
    pub fn push(&mut self, d: Diagnostic) {
        self.0.push(d);
    }

    /// True when any problem is an error.
    pub fn has_errors(&self) -> bool {
        self.0.iter().any(|d| d.severity == Severity::Error)
    }

    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.0
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    /// Sort by file and position (stable, so problems at one place keep their order) and
    /// drop exact duplicates, which two stages can report for the same cause.
    pub fn sort(&mut self) {
        self.0
            .sort_by(|a, b| (&a.file, a.pos).cmp(&(&b.file, b.pos)));
        self.0.dedup();
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Move the problems of `other` in.
    pub fn extend(&mut self, other: Diagnostics) {
        self.0.extend(other.0);
    }
}

/// How to print diagnostics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Plain text.
    Plain,
    /// Text with ANSI colours.
    Color,
}

/// Characters of a source line shown in a snippet.
const SNIPPET_CHARS: usize = 160;
/// Longest message shown (messages quote user values, which can be huge).
const MESSAGE_CHARS: usize = 300;

/// Render diagnostics for a terminal: `FILE:LINE:COL: error: message`, the source line
/// with the offending text underlined, the value and the hint. `source` is the text of
/// the file the diagnostics point into (when they do).
pub fn render(diags: &Diagnostics, source: Option<&str>, style: Style) -> String {
    let (red, yellow, blue, bold, reset) = match style {
        Style::Color => ("\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[1m", "\x1b[0m"),
        Style::Plain => ("", "", "", "", ""),
    };
    let lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    let mut out = String::new();
    for d in &diags.0 {
        let (word, color) = match d.severity {
            Severity::Error => ("error", red),
            Severity::Warning => ("warning", yellow),
        };
        let location = match d.pos {
            Some(p) => format!("{}:{}:{}", d.file, p.line, p.column),
            None => d.file.clone(),
        };
        // User text is escaped: one diagnostic's first line stays one line, and a spec
        // cannot smuggle terminal escapes (or colours under NO_COLOR) into the output.
        let _ = writeln!(
            out,
            "{bold}{}: {color}{word}{reset}{bold}: {}{reset}",
            escape(&location),
            escape(&truncate(&d.message, MESSAGE_CHARS))
        );
        if let Some(p) = d.pos {
            if let Some(text) = lines.get(p.line.wrapping_sub(1)) {
                let gutter = p.line.to_string().len();
                let pad = " ".repeat(gutter);
                // Long lines show a window around the column, marked with `…`.
                let col = p.column.max(1) - 1;
                let skip = if col > SNIPPET_CHARS / 2 {
                    col - SNIPPET_CHARS / 4
                } else {
                    0
                };
                let total = text.chars().count();
                let mut shown = String::new();
                let mut lead = String::new();
                if skip > 0 {
                    shown.push('…');
                    lead.push(' ');
                }
                for (i, c) in text.chars().enumerate().skip(skip).take(SNIPPET_CHARS) {
                    // Control characters become U+FFFD one for one, so columns line up.
                    let c = if c.is_control() && c != '\t' {
                        '\u{fffd}'
                    } else {
                        c
                    };
                    shown.push(c);
                    if i < col {
                        lead.push(if c == '\t' { '\t' } else { ' ' });
                    }
                }
                if skip + SNIPPET_CHARS < total {
                    shown.push('…');
                }
                let room = (skip + SNIPPET_CHARS).saturating_sub(col).max(1);
                let width = p.width.clamp(1, room);
                let _ = writeln!(out, "{blue}{pad} |{reset}");
                let _ = writeln!(out, "{blue}{} |{reset} {shown}", p.line);
                let _ = writeln!(
                    out,
                    "{blue}{pad} |{reset} {lead}{color}{}{reset}",
                    "^".repeat(width)
                );
            }
        }
        if let Some(v) = &d.value {
            let _ = writeln!(out, "  = value: {}", escape(&truncate(v, 120)));
        }
        if let Some(h) = &d.hint {
            let _ = writeln!(out, "  = hint: {}", escape(h));
        }
    }
    out
}

/// Escape line breaks and other control characters (`\n`, `\u{1b}`) for one-line display.
pub fn escape(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Render diagnostics as a JSON array (for `--format json`).
pub fn render_json(diags: &Diagnostics) -> String {
    serde_json::to_string_pretty(&diags.0).expect("diagnostics serialise")
}

/// Shorten a value for display, keeping whole characters.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max).collect();
        t.push('…');
        t
    }
}

/// The closest candidate to `word` by edit distance, when close enough to be a likely typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_location_snippet_value_and_hint() {
        let src = "name: x\ngroups:\n  - cuont: 3\n";
        let mut ds = Diagnostics::default();
        ds.push(
            Diagnostic::error(
                "n.yaml",
                Some(Pos {
                    line: 3,
                    column: 5,
                    width: 5,
                }),
                "unknown field `cuont`",
            )
            .with_hint("did you mean `count`?"),
        );
        let text = render(&ds, Some(src), Style::Plain);
        assert_eq!(
            text,
            "n.yaml:3:5: error: unknown field `cuont`\n  |\n3 |   - cuont: 3\n  |     ^^^^^\n  = hint: did you mean `count`?\n"
        );
    }

    #[test]
    fn escapes_user_text_to_one_line() {
        let mut ds = Diagnostics::default();
        ds.push(
            Diagnostic::error("n.yaml", Some(Pos::START), "name `a\nb\u{1b}[31m`")
                .with_value("a\nb"),
        );
        let text = render(&ds, Some("name: \u{1b}x\n"), Style::Plain);
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(
            text.starts_with("n.yaml:1:1: error: name `a\\nb\\u{1b}[31m`\n"),
            "{text}"
        );
        assert!(text.contains("  = value: a\\nb\n"), "{text}");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("cuont", ["count", "name", "role"]),
            Some("count")
        );
        assert_eq!(did_you_mean("zzzzzz", ["count", "name", "role"]), None);
    }
}
