//! A small deterministic YAML writer for CloudFormation templates held as JSON values:
//! block mappings and sequences, keys in the value's (sorted) order, strings plain only
//! when YAML 1.1 cannot read them as anything else, otherwise JSON-quoted (a JSON string
//! is a valid YAML double-quoted scalar).

use serde_json::Value;

/// `v` as a YAML document.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Object(m) if !m.is_empty() => write_map(&mut out, m, 0),
        Value::Array(a) if !a.is_empty() => write_seq(&mut out, a, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

const RESERVED: &[&str] = &[
    "y", "n", "yes", "no", "true", "false", "on", "off", "null", "~",
];

fn plain_ok(s: &str, key: bool) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let first_ok = if key {
        first.is_ascii_alphanumeric()
    } else {
        first.is_ascii_alphabetic()
    };
    first_ok
        && s.chars().all(|c| {
            c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '/' | '-') || (key && c == ':')
        })
        && !s.ends_with(':')
        && !RESERVED.contains(&s.to_ascii_lowercase().as_str())
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serialises")
}

fn key(s: &str) -> String {
    if plain_ok(s, true) {
        s.to_string()
    } else {
        quote(s)
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if plain_ok(s, false) => s.clone(),
        Value::String(s) => quote(s),
        Value::Array(_) => "[]".into(),
        Value::Object(_) => "{}".into(),
    }
}

fn is_block(v: &Value) -> bool {
    match v {
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
        _ => false,
    }
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn write_map(out: &mut String, m: &serde_json::Map<String, Value>, indent: usize) {
    for (i, (k, v)) in m.iter().enumerate() {
        // The first entry of a map inside a sequence item follows the "- " directly.
        if i > 0 || indent == 0 || !out.ends_with("- ") {
            pad(out, indent);
        }
        out.push_str(&key(k));
        out.push(':');
        write_value(out, v, indent);
    }
}

fn write_value(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            out.push('\n');
            write_map(out, m, indent + 2);
        }
        Value::Array(a) if !a.is_empty() => {
            out.push('\n');
            write_seq(out, a, indent + 2);
        }
        other => {
            out.push(' ');
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, a: &[Value], indent: usize) {
    for item in a {
        pad(out, indent);
        match item {
            Value::Object(m) if is_block(item) => {
                out.push_str("- ");
                write_map(out, m, indent + 2);
            }
            Value::Array(inner) if is_block(item) => {
                out.push_str("-\n");
                write_seq(out, inner, indent + 2);
            }
            other => {
                out.push_str("- ");
                out.push_str(&scalar(other));
                out.push('\n');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_block_yaml() {
        let v = json!({
            "A": {"Ref": "X", "Fn::GetAtt": ["Y", "Arn"]},
            "B": [{"k": "yes", "n": 1}, ["x"], "a b", "10.0.0.0/16"],
            "C": {}, "D": [], "on": "plain-value"
        });
        assert_eq!(
            to_yaml(&v),
            "A:\n  Fn::GetAtt:\n    - \"Y\"\n    - Arn\n  Ref: X\nB:\n  - k: \"yes\"\n    \"n\": 1\n  -\n    - x\n  - \"a b\"\n  - \"10.0.0.0/16\"\nC: {}\nD: []\n\"on\": plain-value\n"
        );
    }
}
