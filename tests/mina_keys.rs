//! The generated Mina staking keys checked by independent implementations: o1js
//! `mina-signer` and libsodium, through `scripts/mina-signer-check.sh` (which installs the
//! pinned npm packages into the cache). Needs node; fails under CHAINFLEET_REQUIRE_TOOLS/CI
//! when node is missing.

mod common;

use std::path::Path;

/// Every generated Mina key of the example, from the secrets tree's `mina/keys.json`.
fn mina_keys(secrets: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(secrets.join("mina/keys.json")).unwrap();
    serde_json::from_str::<Vec<serde_json::Value>>(&text).unwrap()
}

/// Run the check script on `keys` (JSON on stdin); its output and report.
fn check(keys: &[serde_json::Value]) -> (std::process::Output, serde_json::Value) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mina-signer-check.sh");
    let t = std::time::Instant::now();
    let mut child = std::process::Command::new(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let body = serde_json::json!({ "network": "testnet", "keys": keys });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(body.to_string().as_bytes())
            .unwrap();
    }
    let o = child.wait_with_output().unwrap();
    eprintln!(
        "mina-signer check of {} keys: {:?}",
        keys.len(),
        t.elapsed()
    );
    let report = serde_json::from_slice(&o.stdout).unwrap_or(serde_json::Value::Null);
    (o, report)
}

/// node on PATH, or `None` (loud) outside CI; fails under CHAINFLEET_REQUIRE_TOOLS / CI.
fn node_js() -> Option<()> {
    let ok = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(());
    }
    common::not_run("node is not on PATH: the mina-signer check needs node >= 18 and npm")
}

#[test]
fn mina_keys_pass_mina_signer_and_libsodium() {
    // scripts/mina-signer-check.sh: o1js `mina-signer` derives each public key from our
    // EK… private key and signs/verifies a payment with it; libsodium opens our key files.
    let Some(()) = node_js() else {
        return;
    };
    let (_d, _out, secrets) = common::generate_example("mina-testnet.yaml");
    let keys = mina_keys(&secrets);
    let input: Vec<serde_json::Value> = keys
        .iter()
        .map(|k| {
            let file =
                std::fs::read_to_string(secrets.join(k["key_file"].as_str().unwrap())).unwrap();
            serde_json::json!({
                "public_key": k["public_key"],
                "private_key": k["private_key"],
                "password": k["password"],
                "key_file": file,
            })
        })
        .collect();
    assert_eq!(input.len(), 6, "3 producers, 2 coordinators, 1 account");
    let (o, report) = check(&input);
    common::assert_ok(&o, "scripts/mina-signer-check.sh");
    assert_eq!(report["ok"], true);
    assert_eq!(report["checked"], 6);
    for r in report["results"].as_array().unwrap() {
        for check in [
            "derived_public_key_matches",
            "keypair_verified",
            "payment_verified",
            "forged_payment_rejected",
            "key_file_opens_to_private_key",
            "wrong_password_rejected",
        ] {
            assert_eq!(r[check], true, "{check} for {}", r["public_key"]);
        }
    }
    // The report carries no secret.
    let text = String::from_utf8_lossy(&o.stdout);
    for k in &keys {
        assert!(!text.contains(k["private_key"].as_str().unwrap()));
        assert!(!text.contains(k["password"].as_str().unwrap()));
    }
}

#[test]
fn the_check_fails_on_a_key_that_does_not_match() {
    let Some(()) = node_js() else {
        return;
    };
    // o1js's two published key pairs (src/mina-signer/src/test-vectors/legacySignatures.ts
    // and src/mina-signer/tests/from-keystore.ts), crossed: private key of one, public key
    // of the other.
    let keys = [serde_json::json!({
        "public_key": "B62qkhhWkJdZx9MAZHd67VqBAX7FVbzSizqsFYqMKvQu4kPNyFxxCmB",
        "private_key": "EKFKgDtU3rcuFTVSEpmpXSkukjmX4cKefYREi6Sdsk7E7wsT7KRw",
    })];
    let (o, report) = check(&keys);
    assert!(
        !o.status.success(),
        "a mismatched key pair must fail the check"
    );
    assert_eq!(report["ok"], false);
    assert_eq!(report["results"][0]["derived_public_key_matches"], false);
    assert_eq!(report["results"][0]["payment_verified"], false);
}
