//! Cosmos SDK and CometBFT chain artifacts, checked by the real binaries: `simd genesis
//! validate` accepts our genesis (with its signed gentxs), and `cometbft show-node-id` /
//! `show-validator` read our key files as the IDs and keys we publish. Also determinism,
//! secret hygiene, patch errors, and a snapshot of a small genesis.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{assert_ok, chainfleet, root, run, tool};
use serde_json::Value;

fn generate(spec: &Path, seed: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let mut generate = chainfleet();
    generate.env("CHAINFLEET_SEED", seed).arg("generate");
    common::generate_with(generate, spec)
}

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures").join(name)
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// A node home as a target assembles it: public files, secret files, genesis.
fn assemble_home(out: &Path, secrets: &Path, node: &str, home: &Path) {
    for src in [
        out.join("nodes").join(node),
        secrets.join("nodes").join(node),
    ] {
        for rel in common::files_under(&src) {
            let dst = home.join(&rel);
            std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
            std::fs::copy(src.join(&rel), dst).unwrap();
        }
    }
    std::fs::copy(out.join("genesis.json"), home.join("config/genesis.json")).unwrap();
}

#[test]
fn simd_validates_generated_cosmos_genesis() {
    let (_d, out, _s) = generate(&fixture("cosmos-4val.yaml"), &common::example_seed());
    let g = read_json(&out.join("genesis.json"));
    assert_eq!(g["initial_height"], "1");
    assert_eq!(g["validators"], Value::Array(vec![]));
    assert_eq!(
        g["app_state"]["genutil"]["gen_txs"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    assert_eq!(
        g["app_state"]["auth"]["accounts"].as_array().unwrap().len(),
        6
    );
    let Some(simd) = tool("SIMD") else { return };
    let home = tempfile::tempdir().unwrap();
    let o = run(Command::new(simd)
        .args(["genesis", "validate"])
        .arg(out.join("genesis.json"))
        .arg("--home")
        .arg(home.path()));
    assert_ok(&o, "simd genesis validate");
    assert!(String::from_utf8_lossy(&o.stdout).contains("is a valid genesis file"));
}

#[test]
fn cometbft_reads_our_keys_as_we_publish_them() {
    let (_d, out, secrets) = generate(
        &root().join("examples/cometbft-kvstore.yaml"),
        &common::example_seed(),
    );
    let g = read_json(&out.join("genesis.json"));
    let vals = g["validators"].as_array().unwrap();
    assert_eq!(vals.len(), 4);
    assert!(g.get("app_state").is_none());
    let keys = run(chainfleet()
        .arg("keys")
        .arg(root().join("examples/cometbft-kvstore.yaml")));
    assert_ok(&keys, "chainfleet keys");
    let table = String::from_utf8(keys.stdout).unwrap();
    let Some(cometbft) = tool("COMETBFT") else {
        return;
    };
    for (i, v) in vals.iter().enumerate() {
        let node = format!("validator-{i}");
        assert_eq!(v["name"], node.as_str());
        let home = tempfile::tempdir().unwrap();
        assemble_home(&out, &secrets, &node, home.path());
        let id = run(Command::new(&cometbft)
            .arg("show-node-id")
            .arg("--home")
            .arg(home.path()));
        assert_ok(&id, "cometbft show-node-id");
        let id = String::from_utf8(id.stdout).unwrap().trim().to_string();
        let row = table.lines().find(|l| l.starts_with(&node)).unwrap();
        assert!(row.contains(&id), "node id {id} of {node} not in `{row}`");
        let sv = run(Command::new(&cometbft)
            .arg("show-validator")
            .arg("--home")
            .arg(home.path()));
        assert_ok(&sv, "cometbft show-validator");
        let shown: Value = serde_json::from_slice(&sv.stdout).unwrap();
        assert_eq!(shown["value"], v["pub_key"]["value"], "{node}");
    }
}

#[test]
fn same_seed_same_bytes_other_seed_other_keys() {
    let spec = fixture("cosmos-small.yaml");
    let (_a, out1, sec1) = generate(&spec, &common::example_seed());
    let (_b, out2, _) = generate(&spec, &common::example_seed());
    let (_c, out3, _) = generate(&spec, &"11".repeat(32));
    for rel in common::files_under(&out1) {
        assert_eq!(
            std::fs::read(out1.join(&rel)).unwrap(),
            std::fs::read(out2.join(&rel)).unwrap(),
            "{} differs between runs",
            rel.display()
        );
    }
    assert_ne!(
        std::fs::read(out1.join("genesis.json")).unwrap(),
        std::fs::read(out3.join("genesis.json")).unwrap()
    );
    // No secret of the secrets tree appears in the public tree.
    let mut needles = Vec::new();
    for rel in common::files_under(&sec1) {
        let text = std::fs::read_to_string(sec1.join(&rel)).unwrap_or_default();
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if let Some(m) = v["mnemonic"].as_str() {
                needles.push(m.to_string());
                needles.push(m.split(' ').take(6).collect::<Vec<_>>().join(" "));
            }
            if let Some(p) = v["priv_key"]["value"].as_str() {
                needles.push(p.to_string());
            }
        }
    }
    assert!(needles.len() >= 4, "found the secrets: {needles:?}");
    for rel in common::files_under(&out1) {
        let text = String::from_utf8_lossy(&std::fs::read(out1.join(&rel)).unwrap()).into_owned();
        for n in &needles {
            assert!(
                !text.contains(n.as_str()),
                "{} leaks a secret",
                rel.display()
            );
        }
        assert!(
            !text.contains(&common::example_seed()),
            "{} leaks the seed",
            rel.display()
        );
    }
}

#[test]
fn patch_with_missing_parent_is_a_diagnostic() {
    let text = std::fs::read_to_string(fixture("cosmos-small.yaml"))
        .unwrap()
        .replace(
            "  accounts:\n",
            "  genesis_patches:\n    - { path: /app_state/nosuchmodule/params/x, value: 1 }\n  accounts:\n",
        );
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("bad.yaml");
    std::fs::write(&spec, text).unwrap();
    let o = run(chainfleet()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(dir.path().join("out")));
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("chain.genesis_patches[0]"), "{err}");
    assert!(
        err.contains("`/app_state/nosuchmodule` does not exist"),
        "{err}"
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn small_genesis_snapshot() {
    let (_d, out, _s) = generate(&fixture("cosmos-small.yaml"), &common::example_seed());
    let genesis = std::fs::read_to_string(out.join("genesis.json")).unwrap();
    insta::assert_snapshot!("cosmos_small_genesis", genesis);
    let accounts = std::fs::read_to_string(out.join("accounts.json")).unwrap();
    insta::assert_snapshot!("cosmos_small_accounts", accounts);
}

#[test]
fn simd_validates_every_cosmos_example_it_can_read() {
    // simd parses addresses with its own `cosmos` prefix, so it can check only examples that
    // use it; other prefixes are checked by their own chain's binary.
    let examples: Vec<String> = common::examples()
        .into_iter()
        .filter(|e| {
            let t = std::fs::read_to_string(root().join("examples").join(e)).unwrap();
            t.contains("family: cosmos")
                && !t
                    .lines()
                    .any(|l| l.contains("bech32_prefix:") && !l.contains("bech32_prefix: cosmos"))
        })
        .collect();
    assert!(examples.len() >= 2, "{examples:?}");
    let Some(simd) = tool("SIMD") else { return };
    for e in examples {
        let (_d, out, _s) = generate(&root().join("examples").join(&e), &common::example_seed());
        let home = tempfile::tempdir().unwrap();
        let o = run(Command::new(&simd)
            .args(["genesis", "validate"])
            .arg(out.join("genesis.json"))
            .arg("--home")
            .arg(home.path()));
        assert_ok(&o, &format!("simd genesis validate ({e})"));
    }
}

#[test]
fn simd_derives_the_addresses_we_publish() {
    let (_d, out, secrets) = generate(&fixture("cosmos-small.yaml"), &common::example_seed());
    let accounts = read_json(&out.join("accounts.json"));
    let Some(simd) = tool("SIMD") else { return };
    let keyring = tempfile::tempdir().unwrap();
    for name in ["faucet", "validator-0"] {
        let secret = read_json(&secrets.join(format!("accounts/{name}.json")));
        let mut child = Command::new(&simd)
            .args([
                "keys",
                "add",
                name,
                "--recover",
                "--keyring-backend",
                "test",
                "--output",
                "json",
                "--home",
            ])
            .arg(keyring.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        writeln!(
            child.stdin.take().unwrap(),
            "{}",
            secret["mnemonic"].as_str().unwrap()
        )
        .unwrap();
        let o = child.wait_with_output().unwrap();
        assert_ok(&o, "simd keys add --recover");
        let shown: Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(shown["address"], accounts[name]["address"], "{name}");
    }
    let home = tempfile::tempdir().unwrap();
    assemble_home(&out, &secrets, "validator-0", home.path());
    let o = run(Command::new(&simd)
        .args(["comet", "show-address", "--home"])
        .arg(home.path()));
    assert_ok(&o, "simd comet show-address");
    let keys = run(chainfleet().arg("keys").arg(fixture("cosmos-small.yaml")));
    assert_ok(&keys, "chainfleet keys");
    let valcons = String::from_utf8(o.stdout).unwrap().trim().to_string();
    assert!(String::from_utf8(keys.stdout)
        .unwrap()
        .contains(&format!("valcons={valcons}")));
}
