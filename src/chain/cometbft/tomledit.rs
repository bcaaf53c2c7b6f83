//! Line-level edits of a TOML file written by a chain's own `init`: set `section.key` values
//! while keeping every other line (comments included) as the chain wrote it, so generated
//! configs read like the ones operators know and carry every key the binary expects.

use std::collections::{BTreeMap, HashMap};

/// A parsed template: its lines and where each `section.key` value sits.
#[derive(Debug, Clone)]
pub struct Template {
    lines: Vec<String>,
    /// Dotted key → (first line, last line) of its `key = value` (multi-line arrays).
    keys: HashMap<String, (usize, usize)>,
    /// Section → index of the line after which a new key of that section goes.
    section_end: HashMap<String, usize>,
}

/// A TOML literal for a JSON value (strings quoted and escaped, arrays and tables inline).
pub fn literal(v: &serde_json::Value) -> Result<String, String> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => return Err("null is not a TOML value".into()),
        J::Bool(b) => b.to_string(),
        J::Number(n) => n.to_string(),
        J::String(s) => toml::Value::String(s.clone()).to_string(),
        J::Array(a) => {
            let items: Result<Vec<String>, String> = a.iter().map(literal).collect();
            format!("[{}]", items?.join(", "))
        }
        J::Object(o) => {
            let items: Result<Vec<String>, String> = o
                .iter()
                .map(|(k, v)| Ok(format!("{} = {}", quote_key(k), literal(v)?)))
                .collect();
            format!("{{ {} }}", items?.join(", "))
        }
    })
}

fn quote_key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_string()
    } else {
        toml::Value::String(k.to_string()).to_string()
    }
}

fn bracket_depth(s: &str) -> i32 {
    // Good enough for init-written files: brackets inside strings are balanced there.
    let mut d = 0;
    let mut in_str = false;
    for c in s.chars() {
        match c {
            '"' => in_str = !in_str,
            '[' if !in_str => d += 1,
            ']' if !in_str => d -= 1,
            '#' if !in_str => break,
            _ => {}
        }
    }
    d
}

impl Template {
    /// Index `text`.
    pub fn parse(text: &str) -> Template {
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        let mut keys = HashMap::new();
        let mut section_end = HashMap::new();
        let mut section = String::new();
        section_end.insert(String::new(), 0);
        let mut i = 0;
        while i < lines.len() {
            let t = lines[i].trim();
            if t.starts_with('[') && !t.starts_with("[[") {
                section = t
                    .trim_start_matches('[')
                    .split(']')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_string();
                section_end.insert(section.clone(), i);
            } else if !t.starts_with('#') {
                if let Some((k, v)) = t.split_once('=') {
                    let k = k.trim().trim_matches('"');
                    let start = i;
                    let mut depth = bracket_depth(v);
                    while depth > 0 && i + 1 < lines.len() {
                        i += 1;
                        depth += bracket_depth(&lines[i]);
                    }
                    let full = if section.is_empty() {
                        k.to_string()
                    } else {
                        format!("{section}.{k}")
                    };
                    keys.insert(full, (start, i));
                    section_end.insert(section.clone(), i);
                }
            }
            i += 1;
        }
        Template {
            lines,
            keys,
            section_end,
        }
    }

    /// The file with `values` (dotted key → TOML literal) set. Keys the template lacks are
    /// added at the end of their section (a new section at the end of the file).
    pub fn render(&self, values: &BTreeMap<String, String>) -> String {
        let mut replace: HashMap<usize, (usize, String)> = HashMap::new();
        let mut after: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let mut new_sections: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for (dotted, lit) in values {
            if let Some(&(start, end)) = self.keys.get(dotted) {
                let indent: String = self.lines[start]
                    .chars()
                    .take_while(|c| c.is_whitespace())
                    .collect();
                let key = self.lines[start]
                    .trim()
                    .split('=')
                    .next()
                    .unwrap_or("")
                    .trim();
                replace.insert(start, (end, format!("{indent}{key} = {lit}")));
                continue;
            }
            // Longest existing section that prefixes the key.
            let (section, key) = self
                .section_end
                .keys()
                .filter(|s| !s.is_empty() && dotted.starts_with(&format!("{s}.")))
                .max_by_key(|s| s.len())
                .map(|s| (s.as_str(), &dotted[s.len() + 1..]))
                .unwrap_or_else(|| match dotted.rsplit_once('.') {
                    Some((s, k)) => (s, k),
                    None => ("", dotted.as_str()),
                });
            let line = format!("{} = {lit}", quote_key(key));
            match self.section_end.get(section) {
                // Top-level keys go before the first table header.
                Some(&end) if section.is_empty() => after.entry(end).or_default().push(line),
                Some(&end) => after.entry(end).or_default().push(line),
                None => new_sections.entry(section).or_default().push(line),
            }
        }
        let mut out = String::with_capacity(self.lines.len() * 48);
        let mut i = 0;
        while i < self.lines.len() {
            if let Some((end, line)) = replace.get(&i) {
                out.push_str(line);
                out.push('\n');
                i = end + 1;
            } else {
                out.push_str(&self.lines[i]);
                out.push('\n');
                i += 1;
            }
            if let Some(extra) = after.get(&(i - 1)) {
                for l in extra {
                    out.push_str(l);
                    out.push('\n');
                }
            }
        }
        for (section, lines) in new_sections {
            out.push_str(&format!("\n[{section}]\n"));
            for l in lines {
                out.push_str(&l);
                out.push('\n');
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str =
        "# top\nmoniker = \"x\"\n\n[p2p]\n# c\nladdr = \"a\"\nids = [\n]\n\n[a.b]\nk = 1\n";

    #[test]
    fn replaces_adds_and_keeps_comments() {
        let t = Template::parse(T);
        let mut v = BTreeMap::new();
        v.insert("moniker".into(), literal(&json!("n\"0")).unwrap());
        v.insert("p2p.ids".into(), literal(&json!(["a", "b"])).unwrap());
        v.insert("p2p.pex".into(), literal(&json!(false)).unwrap());
        v.insert("a.b.k".into(), literal(&json!(2)).unwrap());
        v.insert("top".into(), literal(&json!(1)).unwrap());
        v.insert("new.sec.x".into(), literal(&json!({"y": 1})).unwrap());
        let out = t.render(&v);
        let parsed: toml::Table = out.parse().expect(&out);
        assert_eq!(parsed["moniker"].as_str(), Some("n\"0"));
        assert_eq!(parsed["top"].as_integer(), Some(1));
        assert_eq!(parsed["p2p"]["ids"].as_array().unwrap().len(), 2);
        assert_eq!(parsed["p2p"]["pex"].as_bool(), Some(false));
        assert_eq!(parsed["a"]["b"]["k"].as_integer(), Some(2));
        assert_eq!(parsed["new"]["sec"]["x"]["y"].as_integer(), Some(1));
        assert!(out.contains("# c\n"));
        assert!(literal(&json!(null)).is_err());
    }
}
