//! `Text`: a launch argument or environment value that is partly known at generation time
//! and partly an expression the target resolves when it deploys (a Helm template action, a
//! CloudFormation intrinsic, a shell variable). Families build it; each target renders it in
//! its own syntax, quoting the literal parts and inserting its expressions raw.

use serde::Serialize;

/// One piece of a `Text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Piece {
    /// Literal characters: a target quotes or escapes them so they arrive verbatim.
    Lit(String),
    /// An expression in the target's own language (e.g. `"$home"` for the local launcher,
    /// `{{ include … }}` for Helm, a JSON intrinsic for CloudFormation), inserted raw.
    Expr(String),
    /// Pieces present only when `condition` (a target expression) holds at deploy time.
    When {
        /// The condition, in the target's language.
        condition: String,
        /// What is present when it holds.
        body: Vec<Piece>,
    },
}

/// A sequence of pieces; adjacent literals are kept merged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Text(Vec<Piece>);

impl Text {
    /// Literal text.
    pub fn lit(s: impl Into<String>) -> Text {
        let s = s.into();
        if s.is_empty() {
            Text::default()
        } else {
            Text(vec![Piece::Lit(s)])
        }
    }

    /// A target expression.
    pub fn expr(s: impl Into<String>) -> Text {
        Text(vec![Piece::Expr(s.into())])
    }

    /// `body`, present only when the target expression `condition` holds.
    pub fn when(condition: impl Into<String>, body: Text) -> Text {
        Text(vec![Piece::When {
            condition: condition.into(),
            body: body.0,
        }])
    }

    /// A text of these pieces.
    pub fn from_pieces(pieces: Vec<Piece>) -> Text {
        let mut t = Text::default();
        for p in pieces {
            t.push(Text(vec![p]));
        }
        t
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.0
    }

    /// True when there is nothing in it.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The whole text when it is all literal.
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Piece::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    /// Append `more`.
    pub fn push(&mut self, more: impl Into<Text>) {
        for p in more.into().0 {
            match (self.0.last_mut(), p) {
                (Some(Piece::Lit(a)), Piece::Lit(b)) => a.push_str(&b),
                (_, p) => self.0.push(p),
            }
        }
    }

    /// `self` followed by `more`.
    pub fn then(mut self, more: impl Into<Text>) -> Text {
        self.push(more);
        self
    }

    /// `items` separated by `sep` (the separator stays outside any condition).
    pub fn join(items: impl IntoIterator<Item = Text>, sep: &str) -> Text {
        let mut out = Text::default();
        for (i, item) in items.into_iter().enumerate() {
            if i > 0 {
                out.push(sep);
            }
            out.push(item);
        }
        out
    }

    /// `items` separated by `sep`, with the separator before a conditional item moved inside
    /// its condition, so an absent item leaves no empty entry behind.
    pub fn join_skipping_absent(items: impl IntoIterator<Item = Text>, sep: &str) -> Text {
        let mut out = Text::default();
        for (i, item) in items.into_iter().enumerate() {
            let lead = if i == 0 { "" } else { sep };
            match item.0.as_slice() {
                [Piece::When { condition, body }] => {
                    let body = Text::lit(lead).then(Text(body.clone()));
                    out.push(Text::when(condition.clone(), body));
                }
                _ => {
                    out.push(lead);
                    out.push(item);
                }
            }
        }
        out
    }

    /// Render with `lit` for literal runs, `expr` for expressions and `when` for conditions.
    pub fn render(
        &self,
        lit: &dyn Fn(&str) -> String,
        expr: &dyn Fn(&str) -> String,
        when: &dyn Fn(&str, String) -> String,
    ) -> String {
        fn go(
            pieces: &[Piece],
            lit: &dyn Fn(&str) -> String,
            expr: &dyn Fn(&str) -> String,
            when: &dyn Fn(&str, String) -> String,
        ) -> String {
            pieces
                .iter()
                .map(|p| match p {
                    Piece::Lit(s) => lit(s),
                    Piece::Expr(e) => expr(e),
                    Piece::When { condition, body } => when(condition, go(body, lit, expr, when)),
                })
                .collect()
        }
        go(&self.0, lit, expr, when)
    }
}

impl From<&str> for Text {
    fn from(s: &str) -> Text {
        Text::lit(s)
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text::lit(s)
    }
}

impl From<&String> for Text {
    fn from(s: &String) -> Text {
        Text::lit(s.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_merge_and_render() {
        let t = Text::lit("a").then("b").then(Text::expr("X")).then("c");
        assert_eq!(t.pieces().len(), 3);
        assert_eq!(t.literal(), None);
        assert_eq!(Text::lit("ab").then("c").literal().as_deref(), Some("abc"));
        let r = t.render(&|s| s.to_uppercase(), &|e| format!("<{e}>"), &|c, b| {
            format!("[{c}:{b}]")
        });
        assert_eq!(r, "AB<X>C");
    }

    #[test]
    fn joins_keep_or_move_the_separator() {
        let items = || {
            vec![
                Text::lit("a"),
                Text::when("c", Text::lit("b")),
                Text::lit("d"),
            ]
        };
        let show = |t: Text| t.render(&|s| s.into(), &|e| e.into(), &|c, b| format!("[{c}?{b}]"));
        assert_eq!(show(Text::join(items(), ",")), "a,[c?b],d");
        assert_eq!(show(Text::join_skipping_absent(items(), " ")), "a[c? b] d");
    }
}
