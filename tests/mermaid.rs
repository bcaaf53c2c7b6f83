//! The generated READMEs' Mermaid topologies render with the real renderer
//! (`scripts/mermaid-render.sh`: @mermaid-js/mermaid-cli, pinned, on Debian's chromium):
//! every example's, and a 1,000-validator network's, which is collapsed to groups and
//! regions (Mermaid refuses more than 500 edges). A diagram over the limit must fail, so
//! the test can fail.

mod common;

use std::path::Path;
use std::time::Instant;

use common::{assert_ok, chainfleet, examples, root, run, strict};

const BIG: &str = "name: big-net\nchain:\n  family: cometbft\n  chain_id: big-1\n  binary: cometbft\n  image: cometbft/cometbft:v0.38.26\n  home: /cometbft\nkeys:\n  seed: { env: CHAINFLEET_SEED }\nregions: [us-east-1, eu-west-1]\ngroups:\n  - name: validator\n    role: validator\n    count: 1000\n    regions: [us-east-1, eu-west-1]\n    behind: sentry\n  - name: sentry\n    role: sentry\n    count: 20\n    regions: [us-east-1, eu-west-1]\n    expose: { p2p: public, rpc: public }\n  - { name: full, role: full, count: 2, expose: { rpc: public } }\ntargets:\n  compose: { subnet: 10.20.0.0/16, base_port: 40000 }\n";

/// The render script, when it can run here (it installs its pinned packages itself).
fn renderer() -> Option<std::path::PathBuf> {
    let script = root().join("scripts/mermaid-render.sh");
    let cache = std::env::var_os("CHAINFLEET_CACHE")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/chainfleet")
        });
    let ready = Path::new("/usr/bin/chromium").exists()
        && cache.join("node/mermaid/node_modules/.bin/mmdc").exists();
    if strict() || ready {
        return Some(script);
    }
    eprintln!(
        "NOT RUN: the Mermaid renderer is not installed; run scripts/mermaid-render.sh --install (scripts/test.sh does)"
    );
    None
}

fn render(script: &Path, md: &Path, out: &Path) -> std::process::Output {
    run(std::process::Command::new("bash")
        .arg(script)
        .arg(md)
        .arg(out))
}

#[test]
fn every_topology_renders_with_mermaid_cli() {
    let Some(script) = renderer() else { return };
    let tmp = tempfile::tempdir().unwrap();
    // The renderer does fail on a diagram over Mermaid's edge limit.
    let mut over = String::from("```mermaid\nflowchart LR\n");
    for i in 0..40 {
        for j in i + 1..40 {
            over.push_str(&format!("  n{i} --- n{j}\n"));
        }
    }
    over.push_str("```\n");
    let over_md = tmp.path().join("over.md");
    std::fs::write(&over_md, over).unwrap();
    let o = render(&script, &over_md, &tmp.path().join("over"));
    assert!(!o.status.success(), "780 edges rendered?");
    assert!(String::from_utf8_lossy(&o.stderr).contains("Edge limit exceeded"));

    let mut readmes = Vec::new();
    for example in examples() {
        let out = tmp.path().join(&example);
        let o = run(chainfleet()
            .arg("generate")
            .arg(root().join("examples").join(&example))
            .arg("--out")
            .arg(&out)
            .arg("--secrets")
            .arg(tmp.path().join(format!("{example}-secrets")))
            .arg("-q"));
        assert_ok(&o, &example);
        readmes.push((example, out.join("README.md")));
    }
    let big = tmp.path().join("big.yaml");
    std::fs::write(&big, BIG).unwrap();
    let t = Instant::now();
    let o = run(chainfleet()
        .arg("generate")
        .arg(&big)
        .arg("--out")
        .arg(tmp.path().join("big"))
        .arg("--secrets")
        .arg(tmp.path().join("big-secrets"))
        .arg("-q"));
    assert_ok(&o, "generate 1,022 nodes");
    eprintln!(
        "mermaid: generate 1,022 nodes {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let big_readme = tmp.path().join("big/README.md");
    let text = std::fs::read_to_string(&big_readme).unwrap();
    assert!(
        text.contains("1022 nodes and ") && text.contains("shown as one box per group and region"),
        "not collapsed"
    );
    assert!(text.contains("validator (500 nodes)<br/>validator"));
    let diagram = text
        .split("```mermaid")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert!(diagram.matches(" --- ").count() < 50, "{diagram}");
    // Every node keeps its table row.
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("| validator-"))
            .count(),
        1000
    );
    readmes.push(("1,000 validators".into(), big_readme));

    for (what, md) in &readmes {
        let t = Instant::now();
        let o = render(&script, md, &tmp.path().join("svg").join(what));
        assert_ok(&o, &format!("render the topology of {what}"));
        let svgs = std::fs::read_dir(tmp.path().join("svg").join(what))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "svg")
            })
            .count();
        assert_eq!(svgs, 1, "{what}: one diagram");
        eprintln!(
            "mermaid: rendered {what} in {:.1} s",
            t.elapsed().as_secs_f64()
        );
    }
}
