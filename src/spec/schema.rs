//! The spec's JSON Schema (generated from the spec types by schemars) and validation of a
//! loaded document against it, every violation turned into a positioned diagnostic.

use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value;

use super::load::{pointer_segment, Document};
use super::Spec;
use crate::diag::{did_you_mean, truncate, Diagnostic, Diagnostics};

/// The JSON Schema of the network spec, as committed in `schema/network.schema.json`.
pub fn json_schema() -> Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(Spec)).expect("schema serialises");
    if let Value::Object(map) = &mut schema {
        map.insert(
            "$id".into(),
            Value::String("https://chainfleet.dev/schema/network.schema.json".into()),
        );
    }
    describe_variant_keys(&mut schema);
    schema
}

/// An enum variant with data (`{env: NAME}`) becomes a one-property object whose doc comment
/// lands on the object, not on the key an editor hovers; copy it onto the key.
fn describe_variant_keys(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let doc = m.get("description").cloned();
            if let (Some(doc), Some(Value::Object(props))) = (doc, m.get_mut("properties")) {
                if props.len() == 1 {
                    if let Some(Value::Object(p)) = props.values_mut().next() {
                        p.entry("description").or_insert(doc);
                    }
                }
            }
            m.values_mut().for_each(describe_variant_keys);
        }
        Value::Array(a) => a.iter_mut().for_each(describe_variant_keys),
        _ => {}
    }
}

/// The schema as pretty JSON with a trailing newline (the committed file's bytes).
pub fn json_schema_text() -> String {
    let mut s = serde_json::to_string_pretty(&json_schema()).expect("schema serialises");
    s.push('\n');
    s
}

/// The schema and its compiled validator, built once per process.
fn compiled() -> &'static (Value, jsonschema::Validator) {
    static COMPILED: std::sync::OnceLock<(Value, jsonschema::Validator)> =
        std::sync::OnceLock::new();
    COMPILED.get_or_init(|| {
        let schema = json_schema();
        let validator = jsonschema::validator_for(&schema).expect("the generated schema is valid");
        (schema, validator)
    })
}

/// Validate `doc` against the schema; every violation becomes a diagnostic.
pub fn validate(file: &str, doc: &Document) -> Diagnostics {
    let schema = &compiled().0;
    let mut diags = Diagnostics::default();
    validate_at(file, doc, schema, schema, &doc.value, "", 0, &mut diags);
    diags
}

/// Validate `instance` (found at pointer `base` of the document) against `node`, a part of
/// `schema`. An optional struct is `anyOf: [T, null]` in the schema, and the validator then
/// only says "matches neither"; descending into `T` finds the precise problems instead.
#[allow(clippy::too_many_arguments)]
fn validate_at(
    file: &str,
    doc: &Document,
    schema: &Value,
    node: &Value,
    instance_root: &Value,
    base: &str,
    depth: usize,
    diags: &mut Diagnostics,
) {
    let mut sub;
    let node = if depth == 0 {
        node
    } else {
        // A sub-schema keeps the root's definitions so its `$ref`s still resolve.
        sub = node.clone();
        if let (Value::Object(m), Some(defs)) = (&mut sub, schema.get("$defs")) {
            m.insert("$defs".into(), defs.clone());
        }
        &sub
    };
    let fresh;
    let validator = if depth == 0 {
        &compiled().1
    } else {
        fresh = jsonschema::validator_for(node).expect("the generated schema is valid");
        &fresh
    };
    for error in validator.iter_errors(instance_root) {
        let ptr = format!("{base}{}", error.instance_path().as_str());
        let instance = error.instance();
        let at = describe(&doc.value, &ptr);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = properties_at(schema, &ptr);
                for key in unexpected {
                    let child = format!("{ptr}/{}", pointer_segment(key));
                    let mut d = Diagnostic::error(
                        file,
                        doc.spans.key(&child),
                        format!("unknown field `{key}` {at}"),
                    )
                    .with_value(key.clone());
                    d.hint = Some(
                        match did_you_mean(key, allowed.iter().map(String::as_str)) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("known fields here: {}", allowed.join(", ")),
                        },
                    );
                    diags.push(d);
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                let child = format!("{ptr}/{}", pointer_segment(name));
                let hint = match description_at(schema, &child) {
                    Some(d) => format!("add `{name}:` ({d})"),
                    None => format!("add `{name}:`; see schema/network.schema.json"),
                };
                // Reported at the key naming the mapping that lacks it (`chain:`).
                diags.push(
                    Diagnostic::error(
                        file,
                        doc.spans.key(&ptr).or(Some(doc.spans.nearest(&ptr))),
                        format!("missing required field `{name}` {at}"),
                    )
                    .with_value(name.to_string())
                    .with_hint(hint),
                );
            }
            ValidationErrorKind::Type { kind } => {
                let expected = match kind {
                    TypeKind::Single(t) => type_word(&t.to_string()),
                    TypeKind::Multiple(ts) => ts
                        .iter()
                        .map(|t| t.to_string())
                        .filter(|t| t != "null")
                        .map(|t| type_word(&t))
                        .collect::<Vec<_>>()
                        .join(" or "),
                };
                diags.push(
                    Diagnostic::error(
                        file,
                        doc.spans.value(&ptr).or(Some(doc.spans.nearest(&ptr))),
                        format!(
                            "expected {} {at}, found {}",
                            article(&expected),
                            json_kind(instance)
                        ),
                    )
                    .with_value(show(instance))
                    .with_hint(field_hint(schema, &ptr)),
                );
            }
            ValidationErrorKind::Enum { options } => {
                diags.push(choice(
                    file,
                    doc,
                    &ptr,
                    &at,
                    instance,
                    options_list(options),
                ));
            }
            ValidationErrorKind::OneOfNotValid { .. } | ValidationErrorKind::AnyOf { .. } => {
                let consts = consts_at(schema, &ptr);
                let branch = schema_at(schema, &ptr);
                let before = diags.0.len();
                if consts.is_empty() && depth < 8 && !instance.is_null() {
                    if let Some(b) =
                        branch.filter(|b| b.get("anyOf").is_none() && b.get("oneOf").is_none())
                    {
                        validate_at(file, doc, schema, b, instance, &ptr, depth + 1, diags);
                    }
                }
                if diags.0.len() > before {
                    // The precise problems inside the value were reported.
                } else if !consts.is_empty() {
                    diags.push(choice(file, doc, &ptr, &at, instance, consts));
                } else {
                    let keys = variant_keys(schema, &ptr);
                    let message = if keys.len() > 1 && instance.is_object() {
                        let names: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
                        let (last, rest) = names.split_last().expect("more than one key");
                        format!("set exactly one of {} or {last} {at}", rest.join(", "))
                    } else {
                        format!("value {at} has the wrong shape")
                    };
                    diags.push(
                        Diagnostic::error(file, doc.spans.value(&ptr), message)
                            .with_value(show(instance))
                            .with_hint(shape_hint(schema, &ptr)),
                    );
                }
            }
            _ => {
                diags.push(
                    Diagnostic::error(
                        file,
                        doc.spans.value(&ptr),
                        format!("invalid value {at}: {error}"),
                    )
                    .with_value(show(instance))
                    .with_hint(field_hint(schema, &ptr)),
                );
            }
        }
    }
}

/// `value` without the mapping keys the schema does not know (typos), so that a spec whose
/// only schema problems are unknown keys can still go through the semantic checks.
pub fn strip_unknown_fields(value: &Value) -> Value {
    let schema = &compiled().0;
    let mut out = value.clone();
    let mut todo = vec![String::new()];
    while let Some(ptr) = todo.pop() {
        let Some(node) = schema_at(schema, &ptr) else {
            continue;
        };
        let closed = node.get("additionalProperties") == Some(&Value::Bool(false));
        let known: Vec<String> = properties_at(schema, &ptr);
        match out.pointer_mut(&ptr) {
            Some(Value::Object(m)) => {
                if closed {
                    m.retain(|k, _| known.contains(k));
                }
                todo.extend(m.keys().map(|k| format!("{ptr}/{}", pointer_segment(k))));
            }
            Some(Value::Array(a)) => todo.extend((0..a.len()).map(|i| format!("{ptr}/{i}"))),
            _ => {}
        }
    }
    out
}

/// JSON Schema type names in the words of a YAML user.
fn type_word(t: &str) -> String {
    match t {
        "object" => "mapping".into(),
        "array" => "list".into(),
        other => other.into(),
    }
}

/// The schema's description of the field at `ptr`, first sentence only.
fn description_at(schema: &Value, ptr: &str) -> Option<String> {
    let parent = ptr.rfind('/').map(|i| &ptr[..i])?;
    let key = ptr[parent.len() + 1..]
        .replace("~1", "/")
        .replace("~0", "~");
    let node = schema_at(schema, parent)?;
    let field = node.get("properties").and_then(|p| p.get(&key))?;
    let d = field
        .get("description")
        .or_else(|| resolve(schema, field).get("description"))
        .and_then(Value::as_str)?;
    let first = d.split(". ").next().unwrap_or(d).trim_end_matches('.');
    Some(first.replace('\n', " "))
}

/// A hint naming what the field at `ptr` is for.
fn field_hint(schema: &Value, ptr: &str) -> String {
    match description_at(schema, ptr) {
        Some(d) => format!("this field: {d}"),
        None if ptr.is_empty() => {
            "a spec is a mapping with `name`, `chain`, `groups` and `targets`; run `chainfleet init` for a starter".into()
        }
        None => "see schema/network.schema.json".into(),
    }
}

fn choice(
    file: &str,
    doc: &Document,
    ptr: &str,
    at: &str,
    instance: &Value,
    options: Vec<String>,
) -> Diagnostic {
    let got = instance
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| show(instance));
    let hint = match did_you_mean(&got, options.iter().map(String::as_str)) {
        Some(s) => format!(
            "did you mean `{s}`? expected one of: {}",
            options.join(", ")
        ),
        None => format!("expected one of: {}", options.join(", ")),
    };
    Diagnostic::error(
        file,
        doc.spans.value(ptr),
        format!("`{got}` is not a valid choice {at}"),
    )
    .with_value(got)
    .with_hint(hint)
}

fn options_list(options: &Value) -> Vec<String> {
    options
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect()
        })
        .unwrap_or_default()
}

fn article(word: &str) -> String {
    let an = matches!(word.chars().next(), Some('a' | 'e' | 'i' | 'o' | 'u'));
    format!("{} {word}", if an { "an" } else { "a" })
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "nothing (null)",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn show(v: &Value) -> String {
    match v {
        Value::String(s) => truncate(s, 80),
        other => truncate(&other.to_string(), 80),
    }
}

/// Human description of where `ptr` is: "in group `sentry`", "in `targets.aws`", "at the top level".
pub fn describe(root: &Value, ptr: &str) -> String {
    if ptr.is_empty() {
        return "at the top level".into();
    }
    let segs: Vec<String> = ptr
        .split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect();
    if segs.len() >= 2 && segs[0] == "groups" {
        if let Some(name) = root
            .pointer(&format!("/groups/{}/name", segs[1]))
            .and_then(Value::as_str)
        {
            let rest: Vec<&str> = segs[2..].iter().map(String::as_str).collect();
            return if rest.is_empty() {
                format!("in group `{name}`")
            } else {
                format!("in `{}` of group `{name}`", dotted(&rest))
            };
        }
    }
    format!(
        "in `{}`",
        dotted(&segs.iter().map(String::as_str).collect::<Vec<_>>())
    )
}

fn dotted(segs: &[&str]) -> String {
    let mut out = String::new();
    for s in segs {
        if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
            out.push_str(&format!("[{s}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(s);
        }
    }
    out
}

/// The schema node describing the instance at `ptr`, following `$ref`, `properties`,
/// `items`, `additionalProperties` and the non-null branch of `anyOf`/`oneOf`.
fn schema_at<'s>(schema: &'s Value, ptr: &str) -> Option<&'s Value> {
    let mut node = resolve(schema, schema);
    for seg in ptr.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        node = object_branch(schema, node);
        let next = node
            .get("properties")
            .and_then(|p| p.get(&seg))
            .or_else(|| node.get("items"))
            .or_else(|| node.get("additionalProperties").filter(|v| v.is_object()))?;
        node = resolve(schema, next);
    }
    Some(object_branch(schema, node))
}

fn resolve<'s>(root: &'s Value, mut node: &'s Value) -> &'s Value {
    for _ in 0..16 {
        match node.get("$ref").and_then(Value::as_str) {
            Some(r) => match root.pointer(r.trim_start_matches('#')) {
                Some(n) => node = n,
                None => break,
            },
            None => break,
        }
    }
    node
}

/// For `anyOf`/`oneOf` of something and null, the something.
fn object_branch<'s>(root: &'s Value, node: &'s Value) -> &'s Value {
    for key in ["anyOf", "oneOf"] {
        if let Some(branches) = node.get(key).and_then(Value::as_array) {
            let real: Vec<&Value> = branches
                .iter()
                .map(|b| resolve(root, b))
                .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            if real.len() == 1 {
                return real[0];
            }
        }
    }
    node
}

fn properties_at(schema: &Value, ptr: &str) -> Vec<String> {
    schema_at(schema, ptr)
        .and_then(|n| n.get("properties"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The allowed constants when the schema at `ptr` is a documented enum (`oneOf` of `const`).
fn consts_at(schema: &Value, ptr: &str) -> Vec<String> {
    let Some(node) = schema_at(schema, ptr) else {
        return Vec::new();
    };
    if let Some(e) = node.get("enum") {
        return options_list(e);
    }
    let mut out = Vec::new();
    for key in ["oneOf", "anyOf"] {
        for b in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let b = resolve(schema, b);
            if let Some(c) = b.get("const").and_then(Value::as_str) {
                out.push(c.to_string());
            } else if let Some(e) = b.get("enum") {
                out.extend(options_list(e));
            }
        }
    }
    out
}

/// For an enum of one-key mappings (`{env: ...}` or `{file: ...}`), the keys.
fn variant_keys(schema: &Value, ptr: &str) -> Vec<String> {
    let Some(node) = schema_at(schema, ptr) else {
        return Vec::new();
    };
    let mut keys = Vec::new();
    for b in node
        .get("oneOf")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match resolve(schema, b).get("required").and_then(Value::as_array) {
            Some(req) if req.len() == 1 => keys.extend(req[0].as_str().map(str::to_string)),
            _ => return Vec::new(),
        }
    }
    keys
}

fn shape_hint(schema: &Value, ptr: &str) -> String {
    let props = properties_at(schema, ptr);
    if !props.is_empty() {
        return format!("expected a mapping with: {}", props.join(", "));
    }
    let Some(node) = schema_at(schema, ptr) else {
        return "see schema/network.schema.json".into();
    };
    let mut shapes = Vec::new();
    for key in ["oneOf", "anyOf"] {
        for b in node
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let b = resolve(schema, b);
            if let Some(req) = b.get("required").and_then(Value::as_array) {
                let names: Vec<String> = req
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| format!("`{s}: ...`"))
                    .collect();
                shapes.push(names.join(" + "));
            } else if let Some(t) = b.get("type").and_then(Value::as_str) {
                shapes.push(t.to_string());
            }
        }
    }
    if shapes.is_empty() {
        "see schema/network.schema.json".into()
    } else {
        format!("expected one of: {}", shapes.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::load::load;

    #[test]
    fn schema_is_valid_and_documented() {
        let s = json_schema();
        jsonschema::validator_for(&s).unwrap();
        assert!(s.pointer("/properties/name/description").is_some());
    }

    #[test]
    fn unknown_field_points_at_key_with_suggestion() {
        let src = "name: x\nchain: {family: cosmos, chain_id: c, binary: b, image: i:1}\ngroups:\n  - name: v\n    role: validator\n    cuont: 3\ntargets: {}\n";
        let doc = load("n.yaml", src.as_bytes()).unwrap();
        let d = validate("n.yaml", &doc);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert_eq!(d.0[0].message, "unknown field `cuont` in group `v`");
        assert_eq!(d.0[0].pos.unwrap().line, 6);
        assert_eq!(d.0[0].hint.as_deref(), Some("did you mean `count`?"));
    }

    #[test]
    fn bad_enum_lists_choices() {
        let src = "name: x\nchain: {family: cosmoss, chain_id: c, binary: b, image: i:1}\ngroups: []\ntargets: {}\n";
        let doc = load("n.yaml", src.as_bytes()).unwrap();
        let d = validate("n.yaml", &doc);
        assert_eq!(d.0.len(), 1, "{d:?}");
        assert!(
            d.0[0]
                .hint
                .as_deref()
                .unwrap()
                .starts_with("did you mean `cosmos`?"),
            "{d:?}"
        );
    }
}
