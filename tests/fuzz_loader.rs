//! Property tests of the front half (load → schema → checks → model): random bytes, random
//! YAML built from a grammar whose keys are the spec's real field names, and mutations of
//! the real examples. `chainfleet::validate` must never panic, and every diagnostic must
//! name the file and, when positioned, a line and column inside the input.

mod common;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::Value;

const FILE: &str = "fuzz.yaml";

/// Every property name in the spec's schema, plus enum values and port names.
fn field_names() -> &'static Vec<String> {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        let mut out = std::collections::BTreeSet::new();
        let mut todo = vec![chainfleet::spec::schema::json_schema()];
        while let Some(v) = todo.pop() {
            match v {
                Value::Object(m) => {
                    if let Some(Value::Object(props)) = m.get("properties") {
                        out.extend(props.keys().cloned());
                    }
                    todo.extend(m.into_iter().map(|(_, v)| v));
                }
                Value::Array(a) => todo.extend(a),
                _ => {}
            }
        }
        out.extend(
            [
                "p2p", "rpc", "api", "grpc", "metrics", "env", "file", "value", "path",
            ]
            .map(String::from),
        );
        out.into_iter().collect()
    })
}

const SCALARS: &[&str] = &[
    "validator",
    "sentry",
    "seed",
    "full",
    "archive",
    "block_producer",
    "snark_coordinator",
    "snark_worker",
    "notary",
    "custom",
    "cosmos",
    "cometbft",
    "mina",
    "komodo",
    "generic",
    "public",
    "internal",
    "fargate",
    "ec2",
    "LoadBalancer",
    "NodePort",
    "\"0.50\"",
    "0",
    "1",
    "4",
    "-1",
    "65535",
    "65536",
    "99999999999999999999999",
    "1.5",
    "1e400",
    "0x1F",
    "0o17",
    "true",
    "false",
    "null",
    "~",
    "\"\"",
    "''",
    "100000000stake",
    "1000stake",
    "stake",
    "uatom",
    "us-east-1",
    "eu-west-1",
    "local",
    "172.28.0.0/24",
    "10.0.0.0/33",
    "2026-01-01T00:00:00Z",
    "2026-13-45T99:99:99Z",
    "ghcr.io/x/y:v1",
    "img:latest",
    "img",
    "/root/.home",
    "relative",
    "ops@example.com",
    "https://hooks.example.com/x",
    "http://x",
    "arn:aws:sns:us-east-1:1:a",
    "4Gi",
    "512Mi",
    "4GB",
    "\"quoted: value\"",
    "'single'",
    "\"esc\\u0000\\t\"",
    "ünïcödé",
    "🚀",
    "a b c",
    "x",
    "-",
    "- x",
    "? x",
    "*alias",
    "&anchor x",
    "!tag x",
    "!!str 5",
    "!!binary aGk=",
    "\"multi\\nline\"",
    "|",
    ">-",
    "{",
    "[",
    "]",
    "}",
    "#comment",
    "%YAML 1.2",
    "---",
    "...",
    "@",
    "`",
];

#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => prop::sample::select(field_names().clone()),
        1 => "[a-z_]{1,12}",
        1 => prop::sample::select(SCALARS.to_vec()).prop_map(String::from),
    ]
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        6 => prop::sample::select(SCALARS.to_vec()).prop_map(|s| Node::Scalar(s.into())),
        1 => "[ -~]{0,20}".prop_map(Node::Scalar),
        1 => any::<i64>().prop_map(|i| Node::Scalar(i.to_string())),
    ];
    leaf.prop_recursive(6, 80, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Node::Seq),
            prop::collection::vec((key(), inner), 0..8).prop_map(Node::Map),
        ]
    })
}

fn flow(n: &Node, out: &mut String) {
    match n {
        Node::Scalar(s) => out.push_str(s),
        Node::Seq(items) => {
            out.push('[');
            for (i, it) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(it, out);
            }
            out.push(']');
        }
        Node::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
    }
}

/// Block-style YAML; nested collections inside sequences are written in flow style.
fn block(n: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match n {
        Node::Map(entries) if !entries.is_empty() => {
            for (k, v) in entries {
                out.push_str(&format!("{pad}{k}:"));
                match v {
                    Node::Scalar(s) => out.push_str(&format!(" {s}\n")),
                    Node::Seq(items) if items.is_empty() => out.push_str(" []\n"),
                    Node::Map(items) if items.is_empty() => out.push_str(" {}\n"),
                    _ => {
                        out.push('\n');
                        block(v, indent + 2, out);
                    }
                }
            }
        }
        Node::Seq(items) if !items.is_empty() => {
            for it in items {
                out.push_str(&format!("{pad}- "));
                flow(it, out);
                out.push('\n');
            }
        }
        other => {
            out.push_str(&pad);
            flow(other, out);
            out.push('\n');
        }
    }
}

fn from_json(v: &Value) -> Node {
    match v {
        Value::Null => Node::Scalar("null".into()),
        Value::Bool(b) => Node::Scalar(b.to_string()),
        Value::Number(n) => Node::Scalar(n.to_string()),
        Value::String(s) => Node::Scalar(serde_json::to_string(s).unwrap()),
        Value::Array(a) => Node::Seq(a.iter().map(from_json).collect()),
        Value::Object(m) => Node::Map(m.iter().map(|(k, v)| (k.clone(), from_json(v))).collect()),
    }
}

fn to_json(n: &Node) -> Value {
    let text = {
        let mut s = String::new();
        flow(n, &mut s);
        s
    };
    chainfleet::spec::load::load("x", text.as_bytes())
        .map(|d| d.value)
        .unwrap_or(Value::String(text))
}

/// The examples as JSON values, and every pointer inside each.
fn examples() -> &'static Vec<(Value, Vec<String>)> {
    static EX: OnceLock<Vec<(Value, Vec<String>)>> = OnceLock::new();
    EX.get_or_init(|| {
        common::examples()
            .iter()
            .map(|e| {
                let bytes = std::fs::read(common::root().join("examples").join(e)).unwrap();
                let v = chainfleet::spec::load::load(e, &bytes).unwrap().value;
                let mut ptrs = Vec::new();
                let mut todo = vec![(String::new(), &v)];
                while let Some((p, v)) = todo.pop() {
                    match v {
                        Value::Object(m) => {
                            todo.extend(m.iter().map(|(k, v)| (format!("{p}/{k}"), v)))
                        }
                        Value::Array(a) => {
                            todo.extend(a.iter().enumerate().map(|(i, v)| (format!("{p}/{i}"), v)))
                        }
                        _ => {}
                    }
                    ptrs.push(p);
                }
                ptrs.sort();
                (v, ptrs)
            })
            .collect()
    })
}

/// Validate and check the invariants on whatever comes back.
fn check(bytes: &[u8]) {
    let dir = std::env::temp_dir();
    let lines = bytes.iter().filter(|b| **b == b'\n').count() + 1;
    match chainfleet::validate(FILE, bytes, &dir) {
        Ok(v) => {
            assert!(!v.network.nodes.is_empty() || v.network.groups.is_empty());
        }
        Err(diags) => {
            assert!(diags.has_errors(), "Err without an error: {diags:?}");
            for d in &diags.0 {
                assert_eq!(d.file, FILE);
                assert!(!d.message.is_empty());
                assert!(
                    d.hint.as_deref().is_some_and(|h| !h.is_empty()),
                    "no hint: {d:?}"
                );
                if let Some(p) = d.pos {
                    assert!(p.line >= 1 && p.column >= 1, "{d:?}");
                    assert!(p.line <= lines + 1, "line {} of {lines}: {d:?}", p.line);
                    assert!(p.width >= 1, "{d:?}");
                }
            }
            // Rendering never panics either, with or without the source.
            let text = String::from_utf8_lossy(bytes);
            let _ = chainfleet::diag::render(&diags, Some(&text), chainfleet::diag::Style::Color);
            let _ = chainfleet::diag::render_json(&diags);
        }
    }
}

proptest! {
    // 512 cases each keep the run to seconds; set PROPTEST_CASES for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check(&bytes);
    }

    #[test]
    fn random_text_never_panics(text in "[ -~\n\t:{}\\[\\]\\-#&*!|>'\"]{0,400}") {
        check(text.as_bytes());
    }

    #[test]
    fn random_yaml_never_panics(doc in node(), as_flow in any::<bool>()) {
        let mut text = String::new();
        if as_flow { flow(&doc, &mut text) } else { block(&doc, 0, &mut text) }
        check(text.as_bytes());
    }

    #[test]
    fn mutated_examples_never_panic(
        which in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
        op in 0u8..3,
        new in node(),
        key in key(),
        as_flow in any::<bool>(),
    ) {
        let (base, ptrs) = &examples()[which.index(examples().len())];
        let mut v = base.clone();
        let ptr = &ptrs[at.index(ptrs.len())];
        let (parent, last) = ptr.rsplit_once('/').unwrap_or(("", ""));
        match op {
            // Replace a value.
            0 => if let Some(slot) = v.pointer_mut(ptr) { *slot = to_json(&new) },
            // Remove it.
            1 => match v.pointer_mut(parent) {
                Some(Value::Object(m)) => { m.remove(last); }
                Some(Value::Array(a)) => { if let Ok(i) = last.parse::<usize>() { if i < a.len() { a.remove(i); } } }
                _ => {}
            },
            // Add a key next to it.
            _ => if let Some(Value::Object(m)) = v.pointer_mut(parent) { m.insert(key, to_json(&new)); },
        }
        let node = from_json(&v);
        let mut text = String::new();
        if as_flow { flow(&node, &mut text) } else { block(&node, 0, &mut text) }
        check(text.as_bytes());
    }
}

#[test]
fn examples_survive_the_yaml_round_trip_used_above() {
    // The renderer must be faithful, or the mutation test would test nothing.
    for (v, _) in examples() {
        for as_flow in [false, true] {
            let mut text = String::new();
            if as_flow {
                flow(&from_json(v), &mut text)
            } else {
                block(&from_json(v), 0, &mut text)
            }
            let back = chainfleet::spec::load::load("x", text.as_bytes())
                .unwrap_or_else(|e| panic!("{e:?}\n{text}"))
                .value;
            assert_eq!(&back, v);
            assert!(
                chainfleet::validate(FILE, text.as_bytes(), &common::root().join("examples"))
                    .is_ok(),
                "{text}"
            );
        }
    }
}
