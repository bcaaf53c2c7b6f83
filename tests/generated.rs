//! The committed `generated/` tree is exactly what `chainfleet generate` makes from
//! `examples/` with the public example seed (the same code path as `generate --check`), into
//! the root's `generated/<name>` as `scripts/regenerate-examples.sh` names it.

mod common;

use common::{assert_ok, chainfleet, examples, root, run};

#[test]
fn committed_output_of_every_example_is_current() {
    let mut stale = Vec::new();
    for example in examples() {
        let name = network_name(&example);
        let out = run(chainfleet()
            .current_dir(root())
            .arg("generate")
            .arg(format!("examples/{example}"))
            .args(["--out", &format!("generated/{name}")])
            .args(["--secrets", &format!(".chainfleet/secrets/{name}")])
            .arg("--check"));
        match out.status.code() {
            Some(0) => {}
            Some(3) => stale.push(format!(
                "{example}:\n{}",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .take(40)
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
            _ => assert_ok(&out, &format!("generate --check {example}")),
        }
    }
    assert!(
        stale.is_empty(),
        "generated/ is stale; refresh with `scripts/regenerate-examples.sh`:\n{}",
        stale.join("\n")
    );
}

/// The top-level `name:` of an example.
fn network_name(example: &str) -> String {
    let text = std::fs::read_to_string(root().join("examples").join(example)).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("name: "))
        .unwrap_or_else(|| panic!("{example} has no top-level name"))
        .trim()
        .to_string()
}

#[test]
fn every_example_has_committed_output() {
    for example in examples() {
        let name = network_name(&example);
        let lock = root()
            .join("generated")
            .join(&name)
            .join("chainfleet.lock.json");
        assert!(
            lock.is_file(),
            "{} is missing: run scripts/regenerate-examples.sh",
            lock.display()
        );
    }
}
