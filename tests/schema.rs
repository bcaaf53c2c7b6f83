//! The committed JSON Schema: current, documented, and accepted by every example, checked
//! both by an independent validator (the jsonschema crate on the committed file) and by
//! `chainfleet validate`.

mod common;

use common::{assert_ok, chainfleet, examples, root, run};
use serde_json::Value;

const SCHEMA: &str = "schema/network.schema.json";

fn committed() -> Value {
    let text = std::fs::read_to_string(root().join(SCHEMA)).unwrap();
    serde_json::from_str(&text).expect("the committed schema is JSON")
}

#[test]
fn schema_command_matches_committed_file() {
    let o = run(chainfleet().arg("schema"));
    assert_ok(&o, "chainfleet schema");
    let committed = std::fs::read_to_string(root().join(SCHEMA)).unwrap();
    assert!(
        String::from_utf8(o.stdout).unwrap() == committed,
        "{SCHEMA} is stale; refresh it with `cargo run -- schema > {SCHEMA}` and commit it"
    );
}

#[test]
fn every_property_has_a_description() {
    let schema = committed();
    let mut missing = Vec::new();
    let mut properties = 0;
    let mut todo = vec![(String::new(), &schema)];
    while let Some((path, v)) = todo.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::Object(props)) = m.get("properties") {
                    for (name, p) in props {
                        properties += 1;
                        let described = p
                            .get("description")
                            .and_then(Value::as_str)
                            .is_some_and(|d| !d.trim().is_empty())
                            || p.get("$ref")
                                .and_then(Value::as_str)
                                .and_then(|r| schema.pointer(r.trim_start_matches('#')))
                                .and_then(|t| t.get("description"))
                                .is_some();
                        if !described {
                            missing.push(format!("{path}/properties/{name}"));
                        }
                    }
                }
                todo.extend(m.iter().map(|(k, v)| (format!("{path}/{k}"), v)));
            }
            Value::Array(a) => todo.extend(
                a.iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{path}/{i}"), v)),
            ),
            _ => {}
        }
    }
    assert!(properties > 50, "walked {properties} properties");
    assert!(
        missing.is_empty(),
        "properties without a description: {missing:#?}"
    );
    // Every definition (each spec type) is documented too.
    for (name, def) in schema["$defs"].as_object().unwrap() {
        assert!(
            def.get("description").is_some(),
            "$defs/{name} has no description"
        );
    }
    // The top level carries its title and the documented examples editors show.
    assert_eq!(schema["title"], "chainfleet network spec");
    assert!(schema.pointer("/properties/name/examples").is_some());
}

#[test]
fn every_example_validates_against_the_schema_and_with_chainfleet() {
    let schema = committed();
    let validator = jsonschema::validator_for(&schema).expect("the committed schema compiles");
    let list = examples();
    assert!(list.len() >= 5, "{list:?}");
    for e in &list {
        let path = root().join("examples").join(e);
        let bytes = std::fs::read(&path).unwrap();
        let doc = chainfleet::spec::load::load(e, &bytes).unwrap_or_else(|d| panic!("{e}: {d:?}"));
        let errors: Vec<String> = validator
            .iter_errors(&doc.value)
            .map(|err| format!("{}: {err}", err.instance_path().as_str()))
            .collect();
        assert!(errors.is_empty(), "{e} against {SCHEMA}: {errors:#?}");
        // The binary, without CHAINFLEET_SEED: validation needs no seed.
        let o = run(chainfleet()
            .env_remove("CHAINFLEET_SEED")
            .current_dir(root())
            .arg("validate")
            .arg(format!("examples/{e}")));
        assert_ok(&o, &format!("chainfleet validate examples/{e}"));
        assert!(
            String::from_utf8_lossy(&o.stderr).contains(": ok, "),
            "{e}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        // Editors find the schema through the modeline.
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.starts_with("# yaml-language-server: $schema=../schema/network.schema.json"),
            "{e} lacks the yaml-language-server modeline"
        );
    }
}

#[test]
fn the_schema_rejects_what_chainfleet_rejects_structurally() {
    // A typo and a bad enum fail in the independent validator too: the schema is strict.
    let validator = jsonschema::validator_for(&committed()).unwrap();
    let bytes = std::fs::read(root().join("tests/invalid/unknown-key-did-you-mean.yaml")).unwrap();
    let doc = chainfleet::spec::load::load("x", &bytes).unwrap();
    assert!(!validator.is_valid(&doc.value));
    let bytes = std::fs::read(root().join("tests/invalid/bad-enum-role.yaml")).unwrap();
    let doc = chainfleet::spec::load::load("x", &bytes).unwrap();
    assert!(!validator.is_valid(&doc.value));
}
