//! The writer's guarantees, through the binary: byte-identical regeneration, ownership
//! (never overwrite or delete a file chainfleet did not write), private secrets, and
//! `--check`. Atomicity under SIGKILL, locking, links and I/O errors: `writer_hardening.rs`.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use common::{assert_ok, chainfleet, examples, root, run};

/// Every file below `dir`: relative path → (bytes, permission bits).
type Tree = BTreeMap<PathBuf, (Vec<u8>, u32)>;

fn tree(dir: &Path) -> Tree {
    let mut out = Tree::new();
    if !dir.exists() {
        return out;
    }
    for rel in common::files_under(dir) {
        let p = dir.join(&rel);
        out.insert(rel, (fs::read(&p).unwrap(), mode(&p)));
    }
    out
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(not(unix))]
fn mode(_p: &Path) -> u32 {
    0
}

fn generate(spec: &Path, out: &Path, secrets: &Path) -> std::process::Output {
    run(chainfleet()
        .arg("generate")
        .arg(spec)
        .arg("--out")
        .arg(out)
        .arg("--secrets")
        .arg(secrets))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The CometBFT example with `validators` validators and the given genesis time.
fn kvstore_spec(dir: &Path, name: &str, validators: u32, genesis_time: &str) -> PathBuf {
    let text = fs::read_to_string(root().join("examples/cometbft-kvstore.yaml")).unwrap();
    let text = text
        .replacen(
            "{ name: validator, role: validator, count: 4,",
            &format!("{{ name: validator, role: validator, count: {validators},"),
            1,
        )
        .replacen("2026-01-01T00:00:00Z", genesis_time, 1);
    assert!(
        text.contains(&format!("count: {validators}")),
        "the example changed"
    );
    let path = dir.join(name);
    fs::write(&path, text).unwrap();
    path
}

#[test]
fn generating_twice_is_byte_identical() {
    for e in examples() {
        let (_a, out_a, sec_a) = common::generate_example(&e);
        let (_b, out_b, sec_b) = common::generate_example(&e);
        let (ta, tb) = (tree(&out_a), tree(&out_b));
        assert!(ta.len() >= 2, "{e}: {} files", ta.len());
        assert_eq!(
            ta.keys().collect::<Vec<_>>(),
            tb.keys().collect::<Vec<_>>(),
            "{e}"
        );
        for (k, v) in &ta {
            assert!(tb[k] == *v, "{e}: {} differs between two runs", k.display());
        }
        assert!(
            tree(&sec_a) == tree(&sec_b),
            "{e}: secrets differ between two runs"
        );
        // A second run over the first output changes nothing.
        let o = generate(&root().join("examples").join(&e), &out_a, &sec_a);
        assert_ok(&o, &e);
        assert!(
            stderr(&o).contains(": 0 written, 0 removed,"),
            "{e}: {}",
            stderr(&o)
        );
        assert!(tree(&out_a) == ta, "{e}: regenerating changed the tree");
    }
}

#[test]
fn refuses_to_overwrite_files_it_does_not_own() {
    let tmp = tempfile::tempdir().unwrap();
    let (out, secrets) = (tmp.path().join("out"), tmp.path().join("secrets"));
    fs::create_dir_all(&out).unwrap();
    fs::write(out.join("README.md"), "my own notes\n").unwrap();
    let before = tree(&out);
    let spec = root().join("examples/cometbft-kvstore.yaml");
    let o = generate(&spec, &out, &secrets);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("refusing to overwrite files chainfleet did not write")
            && err.contains(&out.join("README.md").display().to_string()),
        "{err}"
    );
    assert!(tree(&out) == before, "nothing in the output changed");
    assert!(!secrets.exists(), "no secrets were written");
}

#[test]
fn removes_only_files_it_owns() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let (out, secrets) = (t.join("out"), t.join("secrets"));
    let four = kvstore_spec(t, "four.yaml", 4, "2026-01-01T00:00:00Z");
    let two = kvstore_spec(t, "two.yaml", 2, "2026-01-01T00:00:00Z");
    assert_ok(&generate(&four, &out, &secrets), "generate four");
    let reference = t.join("ref");
    assert_ok(
        &generate(&two, &reference.join("out"), &reference.join("secrets")),
        "reference",
    );
    for dir in [&out, &secrets] {
        // The user's files: one at the top, one beside a file of a node that goes away.
        let first = tree(dir);
        let gone: Vec<&PathBuf> = first
            .keys()
            .filter(|p| p.to_string_lossy().contains("validator-3"))
            .collect();
        let mut user = vec![dir.join("NOTES.md")];
        if let Some(p) = gone.first() {
            user.push(dir.join(p.parent().unwrap()).join("my-debug.log"));
        }
        for u in &user {
            fs::write(u, "mine\n").unwrap();
        }
    }
    let (out_before, sec_before) = (tree(&out), tree(&secrets));
    let owned_gone: usize = [&out_before, &sec_before]
        .iter()
        .map(|t| {
            t.keys()
                .filter(|p| {
                    p.to_string_lossy().contains("validator-3") && !p.ends_with("my-debug.log")
                })
                .count()
        })
        .sum();
    assert!(owned_gone > 0, "validator-3 has files to remove");
    let o = generate(&two, &out, &secrets);
    assert_ok(&o, "generate two");
    for (dir, ref_dir) in [
        (&out, reference.join("out")),
        (&secrets, reference.join("secrets")),
    ] {
        // Exactly: the two-validator output plus the user's files, untouched.
        let after = tree(dir);
        let mut expected = tree(&ref_dir);
        for (p, v) in &after {
            if p.ends_with("NOTES.md") || p.ends_with("my-debug.log") {
                assert_eq!(v.0, b"mine\n");
                expected.insert(p.clone(), v.clone());
            }
        }
        assert!(
            after.keys().any(|p| p.ends_with("NOTES.md")),
            "{}: the user's file was removed",
            dir.display()
        );
        assert!(
            after == expected,
            "{}: the new output plus the user's files",
            dir.display()
        );
    }
    assert!(
        tree(&secrets).keys().any(|p| p.ends_with("my-debug.log")),
        "a user file beside removed node files stays"
    );
}

#[cfg(unix)]
#[test]
fn secrets_are_private_and_git_ignored() {
    use std::os::unix::fs::PermissionsExt;
    let (_g, out, secrets) = common::generate_example("cosmos-devnet.yaml");
    let files = common::files_under(&secrets);
    assert!(files.len() > 4, "{files:?}");
    for f in &files {
        assert_eq!(mode(&secrets.join(f)), 0o600, "{}", f.display());
    }
    let mut dirs = vec![secrets.clone()];
    while let Some(d) = dirs.pop() {
        assert_eq!(
            fs::metadata(&d).unwrap().permissions().mode() & 0o777,
            0o700,
            "{}",
            d.display()
        );
        dirs.extend(
            fs::read_dir(&d)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.is_dir()),
        );
    }
    let ignore = fs::read_to_string(secrets.join(".gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore}");
    // Public files are readable by others (they are committed); none is a secret.
    for f in common::files_under(&out) {
        assert_ne!(mode(&out.join(&f)) & 0o044, 0, "{}", f.display());
    }
}

#[test]
fn check_exits_0_when_current_and_3_with_a_diff_on_drift_writing_nothing() {
    let (_g, out, secrets) = common::generate_example("cosmos-devnet.yaml");
    let spec = root().join("examples/cosmos-devnet.yaml");
    let check = || {
        run(chainfleet()
            .arg("generate")
            .arg(&spec)
            .arg("--out")
            .arg(&out)
            .arg("--secrets")
            .arg(&secrets)
            .arg("--check"))
    };
    let o = check();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("up to date"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    // Drift: an edited file and a deleted one.
    let readme = out.join("README.md");
    let mut text = fs::read_to_string(&readme).unwrap();
    text.push_str("hand edit\n");
    fs::write(&readme, &text).unwrap();
    let public = common::files_under(&out);
    let victim = public
        .iter()
        .find(|p| !p.ends_with("README.md") && !p.ends_with("chainfleet.lock.json"))
        .or_else(|| public.iter().find(|p| p.ends_with("chainfleet.lock.json")))
        .expect("a file to delete")
        .clone();
    fs::remove_file(out.join(&victim)).unwrap();
    let (before_out, before_sec) = (tree(&out), tree(&secrets));
    let o = check();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let diff = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(
        diff.contains("--- a/README.md\n+++ b/README.md\n@@"),
        "{diff}"
    );
    assert!(diff.contains("\n-hand edit\n"), "{diff}");
    let v = victim.to_string_lossy();
    assert!(diff.contains(&format!("--- a/{v}\n+++ b/{v}\n")), "{diff}");
    assert!(
        stderr(&o).contains("2 file(s)") && stderr(&o).contains("are stale"),
        "{}",
        stderr(&o)
    );
    assert!(
        tree(&out) == before_out && tree(&secrets) == before_sec,
        "--check wrote something"
    );

    // A folder that does not exist: drift, and it is not created.
    let missing = out.parent().unwrap().join("never");
    let o = run(chainfleet()
        .arg("generate")
        .arg(&spec)
        .arg("--out")
        .arg(&missing)
        .arg("--check"));
    assert_eq!(o.status.code(), Some(3));
    assert!(!missing.exists());
}
