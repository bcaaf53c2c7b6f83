//! The bare-metal target's Ansible project for every chain family: each example is
//! generated with a `hosts` target (its own, or two machines appended to the test's copy)
//! and checked with the real tools: `ansible-lint` (production profile, from the generated
//! `.ansible-lint`), `ansible-playbook --syntax-check` and `systemd-analyze verify` of every
//! unit. The structure is checked too: each node has one unit and one machine, every
//! private file it needs is in the secrets tree and none is in the public tree.
//! Running the playbooks for real is `tests/hosts_real.rs`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::*;

/// `example`'s text, with a two-machine hosts target when it has none (every example ends
/// with its `targets:` block).
fn with_hosts(example: &str) -> String {
    let text = std::fs::read_to_string(root().join("examples").join(example)).unwrap();
    if examples_with_target("hosts").contains(&example.to_string()) {
        return text;
    }
    let binary = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("binary: "))
        .expect("every example names its binary")
        .trim()
        .to_string();
    // Archive nodes (PostgreSQL in containers) and test services (their own images) run in
    // containers only: the hosts target refuses them (checked below), so they go.
    let mut kept = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with("  - name: archive") || line.starts_with("  - name: smoke") {
            skipping = true;
        } else if line.starts_with("  - ") || line.starts_with("  #") || !line.starts_with(' ') {
            skipping = false;
        }
        if !skipping {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    let text = kept;
    format!(
        "{}\n  hosts:\n    machines:\n      - {{ name: m-a, address: 10.1.0.1 }}\n      - {{ name: m-b, address: 10.1.0.2, ssh_user: debian }}\n    binaries:\n      - {{ name: {binary}, sha256: {} }}\n",
        text.trim_end(),
        "ab".repeat(32)
    )
}

fn lint(dir: &Path, lint: &Path, playbook: &Path, home: &Path) {
    let path = format!(
        "{}:{}",
        lint.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = run(Command::new(lint)
        .args(["--offline", "--nocolor"])
        .current_dir(dir)
        .env("PATH", &path)
        .env("ANSIBLE_HOME", home)
        .env("NO_COLOR", "1"));
    assert_ok(&o, &format!("ansible-lint in {}", dir.display()));
    let o = run(Command::new(playbook)
        .args(["--syntax-check", "site.yml"])
        .current_dir(dir)
        .env("PATH", &path)
        .env("ANSIBLE_HOME", home));
    assert_ok(
        &o,
        &format!("ansible-playbook --syntax-check in {}", dir.display()),
    );
}

#[test]
fn every_family_gets_a_lint_clean_playbook_with_one_unit_per_node() {
    let Some(ansible_lint) = tool("ANSIBLE_LINT") else {
        return;
    };
    let Some(playbook) = tool("ANSIBLE_PLAYBOOK") else {
        return;
    };
    let analyze = which("systemd-analyze");
    let t_all = Instant::now();
    for example in examples() {
        let t = Instant::now();
        let text = with_hosts(&example);
        let (tmp, out, secrets) = generate_text(&example, &text);
        let model = chainfleet::validate(&example, text.as_bytes(), &out)
            .unwrap()
            .network;
        let hosts = model.targets.hosts.as_ref().unwrap();
        let ansible = out.join("ansible");
        lint(
            &ansible,
            &ansible_lint,
            &playbook,
            &tmp.path().join("ansible-home"),
        );

        // One machine per node, one unit per node, nothing else.
        let placed: Vec<&String> = hosts.machines.iter().flat_map(|m| &m.nodes).collect();
        let unique: BTreeSet<&String> = placed.iter().copied().collect();
        assert_eq!(placed.len(), model.nodes.len(), "{example}: {placed:?}");
        assert_eq!(unique.len(), placed.len(), "{example}: a node placed twice");
        let units: BTreeSet<String> = std::fs::read_dir(ansible.join("files/systemd"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut want: BTreeSet<String> = model
            .nodes
            .iter()
            .map(|n| format!("chainfleet-{}-{}.service", model.name, n.name))
            .collect();
        want.insert(format!("chainfleet-{}-firewall.service", model.name));
        assert_eq!(units, want, "{example}: unit files");

        // Every private file a machine installs is in the secrets tree, none in the public one.
        for m in &hosts.machines {
            let vars =
                std::fs::read_to_string(ansible.join(format!("host_vars/{}.yml", m.name))).unwrap();
            let private = vars.split("chainfleet_secret_files:").nth(1).unwrap();
            for src in private
                .lines()
                .filter_map(|l| l.trim().strip_prefix("src: "))
            {
                let src = src.trim_matches('"');
                assert!(
                    secrets.join(src).is_file(),
                    "{example}: {src} not in the secrets tree"
                );
                assert!(
                    !out.join(src).exists(),
                    "{example}: {src} is in the public tree"
                );
            }
        }

        // systemd reads every unit as written (user and program checks are the machine's:
        // only the syntax is verified here).
        if let Some(analyze) = &analyze {
            for unit in &units {
                let o = run(Command::new(analyze)
                    .args(["verify", "--man=no", "--recursive-errors=no"])
                    .arg(ansible.join("files/systemd").join(unit)));
                let err = String::from_utf8_lossy(&o.stderr);
                let syntax: Vec<&str> = err
                    .lines()
                    .filter(|l| {
                        !l.contains("is not executable")
                            && !l.contains("No such file")
                            && !l.contains("Failed to resolve user")
                            && !l.contains("Failed to resolve group")
                            && !l.contains("not found")
                            && !l.contains("Command ")
                            && !l.trim().is_empty()
                    })
                    .collect();
                assert!(syntax.is_empty(), "{example}: {unit}:\n{err}");
            }
        }
        eprintln!(
            "{example}: {} machines, {} units, ansible-lint + syntax-check in {:.1} s",
            hosts.machines.len(),
            units.len(),
            t.elapsed().as_secs_f64()
        );
    }
    eprintln!(
        "hosts target, every example: {:.1} s",
        t_all.elapsed().as_secs_f64()
    );
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

#[test]
fn container_only_groups_are_refused_on_hosts() {
    let text = std::fs::read_to_string(root().join("examples/mina-testnet.yaml")).unwrap();
    let spec = format!(
        "{}\n  hosts:\n    machines: [{{ name: m-a, address: 10.1.0.1 }}]\n    binaries: [{{ name: mina, sha256: {} }}]\n",
        text.trim_end(),
        "ab".repeat(32)
    );
    let diags = chainfleet::validate("mina.yaml", spec.as_bytes(), Path::new("."))
        .expect_err("archive nodes and test services are refused on hosts");
    let text = format!("{diags:?}");
    assert!(
        text.contains("which the hosts target cannot start"),
        "{text}"
    );
    assert!(
        text.contains("test service `smoke` runs a container image"),
        "{text}"
    );
}
