//! YAML text → a JSON value plus a span index (JSON pointer → line:column), so that schema
//! and semantic checks can point at the exact key or value the user wrote.
//!
//! The loader walks saphyr-parser's event stream with an explicit stack (no recursion, so
//! deeply nested garbage cannot overflow the stack) and rejects what a spec must not
//! contain: several documents, duplicate keys, non-string keys, custom tags, runaway alias
//! expansion. Scalars resolve by the YAML 1.2 core schema; quoted scalars stay strings.

use std::collections::BTreeMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

use crate::diag::{Diagnostic, Diagnostics, Pos};

/// Deepest nesting accepted; a network spec needs about eight levels.
pub const MAX_DEPTH: usize = 64;
/// Most values (after alias expansion) accepted in one spec.
pub const MAX_NODES: usize = 1_000_000;

/// A loaded spec: its JSON value and where each part of it was written.
#[derive(Debug, Clone)]
pub struct Document {
    /// The spec as JSON (the shape the schema validates and serde deserialises).
    pub value: Value,
    /// Positions by JSON pointer.
    pub spans: SpanIndex,
}

/// Positions of values and mapping keys, by JSON pointer (`""` is the root,
/// `/groups/0/count` a value inside).
#[derive(Debug, Clone, Default)]
pub struct SpanIndex {
    values: BTreeMap<String, Pos>,
    keys: BTreeMap<String, Pos>,
}

impl SpanIndex {
    /// Where the value at `pointer` was written.
    pub fn value(&self, pointer: &str) -> Option<Pos> {
        self.values.get(pointer).copied()
    }

    /// Where the key naming `pointer` was written (falls back to the value).
    pub fn key(&self, pointer: &str) -> Option<Pos> {
        self.keys
            .get(pointer)
            .or_else(|| self.values.get(pointer))
            .copied()
    }

    /// The value's position, or that of its nearest ancestor that has one: a missing
    /// field is reported at the mapping that lacks it.
    pub fn nearest(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(pos) = self.values.get(p) {
                return *pos;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return Pos::START,
            }
        }
    }
}

/// Escape one JSON pointer segment (RFC 6901).
pub fn pointer_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// The position of `span`; `line_chars[l]` is the length of line `l` (1-based) in
/// characters, so a span running over several lines (a block or folded scalar, a multi-line
/// flow collection) is underlined to the end of its first line.
fn pos_of(span: &Span, line_chars: &[usize]) -> Pos {
    let start = span.start;
    let width = if span.end.line() == start.line() {
        span.end.col().saturating_sub(start.col()).max(1)
    } else {
        line_chars
            .get(start.line())
            .map_or(1, |n| n.saturating_sub(start.col()).max(1))
    };
    Pos {
        line: start.line().max(1),
        column: start.col() + 1,
        width,
    }
}

/// Position of byte `offset` in `text`.
fn pos_at_byte(text: &[u8], offset: usize) -> Pos {
    let before = &text[..offset.min(text.len())];
    let line = before.iter().filter(|b| **b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|b| *b == b'\n')
        .map_or(0, |i| i + 1);
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    Pos {
        line,
        column,
        width: 1,
    }
}

enum Frame {
    Seq {
        ptr: String,
        items: Vec<Value>,
    },
    Map {
        ptr: String,
        obj: Map<String, Value>,
        key: Option<String>,
    },
}

struct Builder<'a> {
    file: &'a str,
    /// Characters per line, indexed by 1-based line number (index 0 unused).
    line_chars: Vec<usize>,
    stack: Vec<Frame>,
    spans: SpanIndex,
    anchors: BTreeMap<usize, (Value, usize)>,
    diags: Diagnostics,
    nodes: usize,
    root: Option<Value>,
    /// Depth of a subtree being skipped (a complex key), 0 when not skipping.
    skipping: usize,
    /// Anchor id of each open collection, parallel to `stack`.
    anchor_stack: Vec<usize>,
}

impl<'a> Builder<'a> {
    fn err(&mut self, pos: Pos, msg: impl Into<String>) -> Diagnostic {
        Diagnostic::error(self.file, Some(pos), msg)
    }

    /// Pointer of the value about to be attached to the top frame.
    fn child_ptr(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { ptr, items }) => format!("{ptr}/{}", items.len()),
            Some(Frame::Map {
                ptr, key: Some(k), ..
            }) => format!("{ptr}/{}", pointer_segment(k)),
            Some(Frame::Map { ptr, key: None, .. }) => ptr.clone(),
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    /// Attach a finished value (with `count` nodes) to its parent.
    fn attach(&mut self, value: Value, count: usize, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), count));
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { obj, key, .. }) => {
                if let Some(k) = key.take() {
                    obj.insert(k, value);
                }
            }
        }
    }

    fn count_nodes(&mut self, n: usize, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            let d = self
                .err(
                    pos,
                    format!("the spec expands to more than {MAX_NODES} values"),
                )
                .with_hint(
                    "aliases that reference each other multiply; a network spec is far smaller",
                );
            self.diags.push(d);
            return false;
        }
        true
    }

    /// Handle one event; false stops loading.
    fn event(&mut self, ev: Event<'_>, span: Span) -> bool {
        let pos = pos_of(&span, &self.line_chars);
        if self.skipping > 0 {
            match ev {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => self.skipping -= 1,
                _ => {}
            }
            if self.skipping == 0 {
                // The complex key is skipped; its value follows under a placeholder name.
                if let Some(Frame::Map { key, .. }) = self.stack.last_mut() {
                    *key = Some("<complex key>".into());
                }
            }
            return true;
        }
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => true,
            Event::DocumentStart(_) => {
                if self.root.is_some() {
                    let d = self
                        .err(pos, "a spec holds one YAML document, this file has several")
                        .with_hint("remove the `---` line and what follows, or split the file");
                    self.diags.push(d);
                    return false;
                }
                true
            }
            Event::Alias(id) => {
                if self.expecting_key() {
                    let d = self
                        .err(pos, "an alias cannot be a mapping key")
                        .with_hint("write the key out as a plain word");
                    self.diags.push(d);
                    return false;
                }
                let Some((value, count)) = self.anchors.get(&id).cloned() else {
                    let d = self
                        .err(pos, "alias to an unknown anchor")
                        .with_hint("define `&name` on a value before using `*name`");
                    self.diags.push(d);
                    return false;
                };
                if !self.count_nodes(count, pos) {
                    return false;
                }
                let ptr = self.child_ptr();
                self.spans.values.insert(ptr, pos);
                self.attach(value, count, 0);
                true
            }
            Event::Scalar(text, style, anchor, tag) => {
                if !self.count_nodes(1, pos) {
                    return false;
                }
                if self.expecting_key() {
                    let key = text.to_string();
                    let Some(Frame::Map {
                        ptr,
                        obj,
                        key: slot,
                    }) = self.stack.last_mut()
                    else {
                        unreachable!("expecting_key checked the top frame")
                    };
                    let child = format!("{ptr}/{}", pointer_segment(&key));
                    if obj.contains_key(&key) {
                        let first = self.spans.keys.get(&child).copied();
                        let mut d = Diagnostic::error(
                            self.file,
                            Some(pos),
                            format!("duplicate key `{key}`"),
                        )
                        .with_value(key.clone());
                        d.hint = Some(match first {
                            Some(p) => {
                                format!("`{key}` is already set on line {}; keep one", p.line)
                            }
                            None => "keep one of them".into(),
                        });
                        self.diags.push(d);
                        // The later value is dropped; loading goes on to find more problems.
                        *slot = Some(format!("{key}\u{0}duplicate"));
                    } else {
                        self.spans.keys.insert(child, pos);
                        *slot = Some(key);
                    }
                    return true;
                }
                let value = match tag.as_deref() {
                    None => resolve_scalar(&text, style),
                    Some(t) if t.is_yaml_core_schema() && t.suffix == "str" => {
                        Value::String(text.to_string())
                    }
                    Some(t) if t.is_yaml_core_schema() => resolve_scalar(&text, ScalarStyle::Plain),
                    Some(t) => {
                        let d = self
                            .err(
                                pos,
                                format!(
                                    "YAML tag `{}{}` is not supported in a spec",
                                    t.handle, t.suffix
                                ),
                            )
                            .with_value(text.to_string())
                            .with_hint("remove the tag; write the value plainly");
                        self.diags.push(d);
                        Value::String(text.to_string())
                    }
                };
                let ptr = self.child_ptr();
                self.spans.values.insert(ptr, pos);
                self.attach(value, 1, anchor);
                true
            }
            Event::SequenceStart(_, _) | Event::MappingStart(_, _) => {
                if !self.count_nodes(1, pos) {
                    return false;
                }
                if self.expecting_key() {
                    let d = self
                        .err(pos, "mapping keys must be plain strings")
                        .with_hint("write `key: value` with a simple word as the key");
                    self.diags.push(d);
                    self.skipping = 1;
                    return true;
                }
                if self.stack.len() >= MAX_DEPTH {
                    let d = self
                        .err(pos, format!("nesting deeper than {MAX_DEPTH} levels"))
                        .with_hint("a network spec nests about eight levels; check the brackets");
                    self.diags.push(d);
                    return false;
                }
                let ptr = self.child_ptr();
                // A collection is marked by its first character (`{`, `[`, `-` or its first key).
                self.spans
                    .values
                    .insert(ptr.clone(), Pos { width: 1, ..pos });
                let anchor = match ev {
                    Event::SequenceStart(a, _) | Event::MappingStart(a, _) => a,
                    _ => 0,
                };
                // The anchor is recorded on the frame's pointer; resolved at its end.
                self.anchor_stack.push(anchor);
                self.stack.push(match ev {
                    Event::SequenceStart(..) => Frame::Seq {
                        ptr,
                        items: Vec::new(),
                    },
                    _ => Frame::Map {
                        ptr,
                        obj: Map::new(),
                        key: None,
                    },
                });
                true
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let frame = self.stack.pop().expect("balanced collection events");
                let anchor = self.anchor_stack.pop().unwrap_or(0);
                let value = match frame {
                    Frame::Seq { items, .. } => Value::Array(items),
                    Frame::Map { mut obj, .. } => {
                        obj.retain(|k, _| !k.ends_with("\u{0}duplicate"));
                        Value::Object(obj)
                    }
                };
                let count = if anchor != 0 { count_values(&value) } else { 0 };
                self.attach(value, count, anchor);
                true
            }
        }
    }
}

impl<'a> Builder<'a> {
    fn new(file: &'a str, text: &str) -> Self {
        let mut line_chars = vec![0];
        line_chars.extend(
            text.split('\n')
                .map(|l| l.strip_suffix('\r').unwrap_or(l).chars().count()),
        );
        Builder {
            file,
            line_chars,
            stack: Vec::new(),
            spans: SpanIndex::default(),
            anchors: BTreeMap::new(),
            diags: Diagnostics::default(),
            nodes: 0,
            root: None,
            skipping: 0,
            anchor_stack: Vec::new(),
        }
    }
}

fn count_values(v: &Value) -> usize {
    let mut n = 0;
    let mut todo = vec![v];
    while let Some(v) = todo.pop() {
        n += 1;
        match v {
            Value::Array(a) => todo.extend(a.iter()),
            Value::Object(o) => todo.extend(o.values()),
            _ => {}
        }
    }
    n
}

/// Resolve a scalar by the YAML 1.2 core schema; quoted and block scalars are strings.
fn resolve_scalar(text: &str, style: ScalarStyle) -> Value {
    if style != ScalarStyle::Plain {
        return Value::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Value::Number(i.into());
        }
        if let Ok(u) = text.parse::<u64>() {
            return Value::Number(u.into());
        }
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(u) = u64::from_str_radix(hex, 16) {
            return Value::Number(u.into());
        }
    }
    if let Some(oct) = text.strip_prefix("0o") {
        if let Ok(u) = u64::from_str_radix(oct, 8) {
            return Value::Number(u.into());
        }
    }
    let looks_float = text.bytes().any(|b| b.is_ascii_digit())
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'+' | b'e' | b'E'));
    if looks_float {
        if let Ok(f) = text.parse::<f64>() {
            if let Some(n) = Number::from_f64(f) {
                return Value::Number(n);
            }
        }
    }
    Value::String(text.to_string())
}

/// The innermost `{` or `[` opened before line `before` and not closed, as (bracket, line,
/// column): a rough scan that skips quoted text and comments, for a parse error's hint.
fn unclosed_bracket(text: &str, before: usize) -> Option<(char, usize, usize)> {
    let mut open = Vec::new();
    for (i, line) in text.split('\n').take(before.saturating_sub(1)).enumerate() {
        let mut quote = None;
        let mut prev = ' ';
        for (j, c) in line.chars().enumerate() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') if prev.is_whitespace() => break,
                (None, '{' | '[') => open.push((c, i + 1, j + 1)),
                (None, '}' | ']') => {
                    open.pop();
                }
                _ => {}
            }
            prev = c;
        }
    }
    open.pop()
}

/// Load a spec from raw bytes. `file` is the name diagnostics show.
pub fn load(file: &str, bytes: &[u8]) -> Result<Document, Diagnostics> {
    let mut diags = Diagnostics::default();
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let pos = pos_at_byte(bytes, e.valid_up_to());
            diags.push(
                Diagnostic::error(file, Some(pos), "the spec is not UTF-8 text")
                    .with_hint("a network spec is a YAML text file; is this the right file?"),
            );
            return Err(diags);
        }
    };
    if let Some(offset) = text.find('\0') {
        diags.push(
            Diagnostic::error(
                file,
                Some(pos_at_byte(bytes, offset)),
                "the spec contains a NUL byte",
            )
            .with_hint("a network spec is a YAML text file; is this the right file?"),
        );
        return Err(diags);
    }
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut b = Builder::new(file, text);
    for item in Parser::new_from_str(text) {
        match item {
            Ok((ev, span)) => {
                if !b.event(ev, span) {
                    break;
                }
            }
            Err(e) => {
                let m = e.marker();
                let mut pos = Pos {
                    line: m.line().max(1),
                    column: m.col() + 1,
                    width: 1,
                };
                let info = e.info().to_string();
                let line_text = text.split('\n').nth(pos.line - 1).unwrap_or("");
                let hint = if info.contains("tab") {
                    // The parser stops after the tab; point at the first tab of the indent.
                    let indent: String = line_text
                        .chars()
                        .take_while(|c| *c == ' ' || *c == '\t')
                        .collect();
                    if let Some(i) = indent.chars().position(|c| c == '\t') {
                        pos.column = i + 1;
                    }
                    "indent YAML with spaces; tabs are not allowed".to_string()
                } else if info.contains("flow") {
                    match unclosed_bracket(text, pos.line) {
                        Some((b, l, c)) => {
                            format!("the `{b}` on line {l}, column {c} is not closed")
                        }
                        None => "check that every `{` and `[` before this point is closed".into(),
                    }
                } else {
                    "check the indentation and quoting around this point".to_string()
                };
                let d = Diagnostic::error(file, Some(pos), format!("invalid YAML: {info}"))
                    .with_value(crate::diag::truncate(
                        line_text.trim_end_matches('\r').trim(),
                        80,
                    ))
                    .with_hint(hint);
                b.diags.push(d);
                break;
            }
        }
    }
    diags.extend(std::mem::take(&mut b.diags));
    if diags.has_errors() {
        return Err(diags);
    }
    match b.root {
        None | Some(Value::Null) => {
            diags.push(
                Diagnostic::error(file, Some(Pos::START), "the spec is empty")
                    .with_hint("run `chainfleet init` for a commented starter spec"),
            );
            Err(diags)
        }
        Some(value) => Ok(Document {
            value,
            spans: b.spans,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pointers_to_positions() {
        let doc = load("t.yaml", b"name: x\ngroups:\n  - name: val\n    count: 4\n").unwrap();
        assert_eq!(doc.value["groups"][0]["count"], 4);
        let p = doc.spans.value("/groups/0/count").unwrap();
        assert_eq!((p.line, p.column, p.width), (4, 12, 1));
        let k = doc.spans.key("/groups/0/count").unwrap();
        assert_eq!((k.line, k.column, k.width), (4, 5, 5));
        assert_eq!(doc.spans.nearest("/groups/0/missing").line, 3);
    }

    #[test]
    fn resolves_core_schema_and_keeps_quoted_strings() {
        let doc = load(
            "t.yaml",
            b"a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 2026-12-01T00:00:00Z\ng: 0x10\n",
        )
        .unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":"2026-12-01T00:00:00Z","g":16})
        );
    }

    #[test]
    fn widths_cover_quoted_multiline_and_flow_values() {
        let doc = load(
            "t.yaml",
            "a: \"x y\"\nb: >-\n  folded\n  text\nc: {d: [1, 2]}\n".as_bytes(),
        )
        .unwrap();
        let a = doc.spans.value("/a").unwrap();
        assert_eq!((a.line, a.column, a.width), (1, 4, 5), "quotes included");
        let b = doc.spans.value("/b").unwrap();
        assert_eq!(
            (b.line, b.column, b.width),
            (3, 3, 6),
            "to the end of the first line"
        );
        let c = doc.spans.value("/c").unwrap();
        assert_eq!(
            (c.line, c.column, c.width),
            (5, 4, 1),
            "a collection is marked by its start"
        );
        let d1 = doc.spans.value("/c/d/1").unwrap();
        assert_eq!((d1.line, d1.column, d1.width), (5, 12, 1));
    }

    #[test]
    fn tab_errors_point_at_the_tab() {
        let err = load("t.yaml", b"a:\n\tb: 1\n").unwrap_err();
        let p = err.0[0].pos.unwrap();
        assert_eq!((p.line, p.column), (2, 1), "{err:?}");
    }

    #[test]
    fn reports_duplicate_keys_with_both_lines() {
        let err = load("t.yaml", b"name: a\nname: b\n").unwrap_err();
        assert_eq!(err.0.len(), 1);
        assert_eq!(err.0[0].pos.unwrap().line, 2);
        assert!(err.0[0].hint.as_deref().unwrap().contains("line 1"));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for input in [
            &b""[..],
            b"\xff\xfe",
            b"a:\n\tb: 1\n",
            b"[[[[",
            b"a: *nope",
            b"--- 1\n--- 2\n",
            b"? [a]\n: 1\n",
        ] {
            assert!(load("t.yaml", input).is_err(), "{input:?}");
        }
        let deep = "[".repeat(100_000);
        assert!(load("t.yaml", deep.as_bytes()).is_err());
    }

    #[test]
    fn expands_aliases_within_limits() {
        let doc = load("t.yaml", b"a: &r {x: 1}\nb: *r\n").unwrap();
        assert_eq!(doc.value["b"]["x"], 1);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            bomb.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        let err = load("t.yaml", bomb.as_bytes()).unwrap_err();
        assert!(err.0[0].message.contains("more than"));
    }
}
