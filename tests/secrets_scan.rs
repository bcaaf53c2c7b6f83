//! No private material reaches the committed tree: generate every example, collect every
//! private value from its secrets tree (private keys, mnemonics, passwords, the seed), and
//! scan every file git tracks, plus the freshly generated public tree, for any of them.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::{example_seed, examples, files_under, generate_example, root};

/// Private values found in one secrets tree, in the encodings they could leak in.
fn private_values(secrets: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for rel in files_under(secrets) {
        let bytes = std::fs::read(secrets.join(&rel)).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) {
            collect_json(&json, None, &mut found);
        }
        for line in text.lines() {
            if let Some((k, v)) = line.split_once('=') {
                if k.trim().to_lowercase().contains("password") && v.trim().len() >= 8 {
                    found.insert(v.trim().to_string());
                }
            }
        }
    }
    // The same private key bytes, also as hex: a leak could be in either form.
    let b64 = base64::engine::general_purpose::STANDARD;
    for v in found.clone() {
        if let Ok(raw) = b64.decode(&v) {
            if raw.len() >= 32 {
                found.insert(hex::encode(&raw));
                found.insert(hex::encode(&raw[..32]));
            }
        }
    }
    found
}

fn collect_json(v: &serde_json::Value, key: Option<&str>, out: &mut BTreeSet<String>) {
    match v {
        serde_json::Value::Object(m) => {
            let is_private = key.is_some_and(|k| k.contains("priv"));
            for (k, child) in m {
                if k == "type" || k == "@type" {
                    continue; // amino/proto type names, not key material
                }
                let k_private = k.contains("priv")
                    || k.contains("mnemonic")
                    || k.contains("secret")
                    || k.contains("password");
                collect_json(
                    child,
                    Some(if is_private || k_private { "priv" } else { k }),
                    out,
                );
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|c| collect_json(c, key, out)),
        serde_json::Value::String(s) if key.is_some_and(|k| k == "priv") && s.len() >= 16 => {
            out.insert(s.clone());
        }
        _ => {}
    }
}

#[test]
fn no_private_material_in_committed_or_public_files() {
    let mut secrets = BTreeSet::from([example_seed()]);
    let mut public_dirs = Vec::new();
    for example in examples() {
        let (guard, out, secret_dir) = generate_example(&example);
        let found = private_values(&secret_dir);
        secrets.extend(found);
        public_dirs.push((guard, out));
    }
    assert!(
        secrets.len() > 10,
        "the scan found too few private values to be meaningful: {}",
        secrets.len()
    );

    let listed = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["ls-files", "-z"])
        .output()
        .expect("git ls-files");
    assert!(listed.status.success(), "git ls-files failed");
    let mut files: Vec<std::path::PathBuf> = String::from_utf8_lossy(&listed.stdout)
        .split('\0')
        .filter(|s| !s.is_empty())
        .map(|s| root().join(s))
        .collect();
    for (_, out) in &public_dirs {
        files.extend(files_under(out).into_iter().map(|r| out.join(r)));
    }
    let mut leaks = Vec::new();
    for f in &files {
        let Ok(bytes) = std::fs::read(f) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        for s in &secrets {
            if text.contains(s.as_str()) {
                leaks.push(format!(
                    "{}: contains a private value ({}…)",
                    f.display(),
                    &s[..8.min(s.len())]
                ));
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "private material leaked:\n{}",
        leaks.join("\n")
    );
}
