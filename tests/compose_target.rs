//! The compose target and the shared image, checked by the real tools of their ecosystems:
//! `docker compose config -q`, hadolint, checkov and shellcheck, on every example; insta
//! snapshots of the compose file and Dockerfile; and the validation rules that keep compose
//! host ports and addresses from colliding.

mod common;

use std::path::Path;
use std::process::Command;

use common::{assert_ok, chainfleet, generate_example, root, run, tool};

/// Examples that produce the image (any target that runs containers).
fn image_examples() -> Vec<String> {
    let mut v: Vec<String> = ["compose", "kubernetes", "aws"]
        .iter()
        .flat_map(|t| common::examples_with_target(t))
        .collect();
    v.sort();
    v.dedup();
    v
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// No file of the public tree contains any private file's contents.
fn assert_no_secret_leaks(out: &Path, secrets: &Path) {
    let public: Vec<(String, String)> = common::files_under(out)
        .into_iter()
        .map(|p| (p.display().to_string(), read(&out.join(&p))))
        .collect();
    for s in common::files_under(secrets) {
        if s.extension().is_some_and(|e| e == "json") && !s.ends_with("chainfleet.lock.json") {
            let secret = read(&secrets.join(&s));
            let secret = secret.trim();
            for (name, text) in &public {
                assert!(
                    !text.contains(secret),
                    "public file {name} contains the secret {}",
                    s.display()
                );
            }
        }
    }
}

#[test]
fn compose_examples_exist() {
    let examples = common::examples_with_target("compose");
    assert!(
        examples.len() >= 2,
        "expected compose examples, found {examples:?}"
    );
}

#[test]
fn docker_compose_config_accepts_every_compose_example() {
    let Some(compose) = tool("COMPOSE") else {
        return;
    };
    for example in common::examples_with_target("compose") {
        let (_guard, out, secrets) = generate_example(&example);
        let file = out.join("compose/docker-compose.yaml");
        let o = run(Command::new(&compose)
            .arg("-f")
            .arg(&file)
            .args(["config", "-q"]));
        assert_ok(&o, &format!("docker compose config -q ({example})"));
        // The resolved model names every secret file, and each one exists.
        let o = run(Command::new(&compose)
            .arg("-f")
            .arg(&file)
            .args(["config", "--format", "json"]));
        assert_ok(
            &o,
            &format!("docker compose config --format json ({example})"),
        );
        let model: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        for (name, s) in model["secrets"].as_object().into_iter().flatten() {
            let path = Path::new(s["file"].as_str().unwrap());
            assert!(
                path.is_file(),
                "{example}: secret {name} points at missing {path:?}"
            );
            assert!(
                path.starts_with(&secrets),
                "{example}: secret {name} outside the secrets tree"
            );
        }
        // Nodes get static addresses on the spec's subnet and a data volume each.
        for (name, svc) in model["services"].as_object().unwrap() {
            if matches!(name.as_str(), "prometheus" | "alertmanager" | "grafana") {
                continue;
            }
            assert!(
                svc["networks"]["chain"]["ipv4_address"].is_string(),
                "{example}: {name} has no static address"
            );
            assert_eq!(
                svc["volumes"].as_array().unwrap().len(),
                1,
                "{example}: {name}"
            );
            assert_eq!(svc["environment"]["CHAINFLEET_NODE"], name.as_str());
        }
        assert_no_secret_leaks(&out, &secrets);
    }
}

#[test]
fn published_host_ports_are_unique_and_only_public() {
    for example in common::examples_with_target("compose") {
        let (_guard, out, _secrets) = generate_example(&example);
        let text = read(&out.join("compose/docker-compose.yaml"));
        let mut seen = std::collections::BTreeSet::new();
        let mut in_ports = false;
        for line in text.lines() {
            let l = line.trim();
            if l == "ports:" {
                in_ports = true;
                continue;
            }
            // Published ports are `- "HOST:CONTAINER/proto"` (or `127.0.0.1:HOST:CONTAINER`).
            let Some(spec) = l.strip_prefix("- \"").and_then(|s| s.strip_suffix('"')) else {
                in_ports = false;
                continue;
            };
            if !in_ports {
                continue;
            }
            let (ports, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
            let parts: Vec<&str> = ports.split(':').collect();
            let host: u16 = parts[parts.len() - 2].parse().unwrap();
            assert!(
                seen.insert((host, proto.to_string())),
                "{example}: host port {host}/{proto} published twice"
            );
        }
        assert!(!seen.is_empty(), "{example}: expected published ports");
    }
}

#[test]
fn monitoring_files_are_valid_when_on() {
    let (_guard, out, _secrets) = generate_example("cosmos-devnet.yaml");
    let dash: serde_json::Value = serde_json::from_str(&read(
        &out.join("compose/grafana/dashboards/chainfleet.json"),
    ))
    .expect("dashboard is JSON");
    let exprs: Vec<&str> = dash["panels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["targets"][0]["expr"].as_str().unwrap())
        .collect();
    for want in [
        "cometbft_consensus_height",
        "cometbft_p2p_peers",
        // Per validator, from the metric a healthy validator exports on every block.
        "cometbft_consensus_validator_last_signed_height",
        "process_resident_memory_bytes",
    ] {
        assert!(
            exprs.iter().any(|e| e.contains(want)),
            "dashboard lacks {want}: {exprs:?}"
        );
    }
    let prom = read(&out.join("compose/prometheus/prometheus.yml"));
    for node in ["validator-0", "validator-3", "rpc-0"] {
        assert!(
            prom.contains(&format!("\"{node}:26660\"")),
            "{node} not scraped:\n{prom}"
        );
    }
    assert!(out.join("compose/prometheus/alerts.yml").is_file());
    // Alerts go to the project's Alertmanager.
    assert!(
        prom.contains("- targets: [\"alertmanager:9093\"]"),
        "{prom}"
    );
    assert!(out.join("compose/alertmanager/alertmanager.yml").is_file());
    assert!(out
        .join("compose/grafana/provisioning/datasources/prometheus.yaml")
        .is_file());
}

#[test]
fn yamllint_passes_on_the_compose_tree() {
    let Some(yamllint) = tool("YAMLLINT") else {
        return;
    };
    // yamllint's defaults, minus line length (peer lists are long) and `---`.
    let config = "{extends: default, rules: {line-length: disable, document-start: disable}}";
    for example in common::examples_with_target("compose") {
        let (_guard, out, _secrets) = generate_example(&example);
        let o = run(Command::new(&yamllint)
            .args(["--strict", "-d", config])
            .arg(out.join("compose")));
        assert_ok(&o, &format!("yamllint compose/ ({example})"));
    }
}

#[test]
fn hadolint_passes_on_every_dockerfile() {
    let Some(hadolint) = tool("HADOLINT") else {
        return;
    };
    for example in image_examples() {
        let (_guard, out, _secrets) = generate_example(&example);
        let o = run(Command::new(&hadolint)
            .args(["--failure-threshold", "error", "--no-color"])
            .arg(out.join("docker/Dockerfile")));
        assert_ok(&o, &format!("hadolint ({example})"));
    }
}

#[test]
fn checkov_passes_on_every_dockerfile_with_justified_skips() {
    let Some(checkov) = tool("CHECKOV") else {
        return;
    };
    for example in image_examples() {
        let (_guard, out, _secrets) = generate_example(&example);
        let dockerfile = out.join("docker/Dockerfile");
        for line in read(&dockerfile).lines() {
            if let Some(rest) = line.split("checkov:skip=").nth(1) {
                let (_id, reason) = rest.split_once(':').unwrap_or((rest, ""));
                assert!(
                    reason.trim().len() > 10,
                    "{example}: checkov skip without a reason: {line}"
                );
            }
        }
        let o = run(Command::new(&checkov).arg("-f").arg(&dockerfile).args([
            "--framework",
            "dockerfile",
            "--compact",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ]));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
            panic!(
                "checkov ({example}) gave no JSON ({e}): {}\n{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        });
        assert_eq!(
            report["summary"]["parsing_errors"], 0,
            "{example}: {report:#}"
        );
        assert_eq!(report["summary"]["failed"], 0, "{example}: {report:#}");
        assert!(
            report["summary"]["passed"].as_u64().unwrap_or(0) > 0,
            "{example}: checkov checked nothing: {report:#}"
        );
    }
}

#[test]
fn shellcheck_is_silent_on_the_scripts() {
    let Some(shellcheck) = tool("SHELLCHECK") else {
        return;
    };
    for example in image_examples() {
        let (_guard, out, _secrets) = generate_example(&example);
        let o = run(Command::new(&shellcheck)
            .args(["--shell=sh", "--severity=style"])
            .arg(out.join("docker/entrypoint.sh"))
            .arg(out.join("docker/healthcheck.sh")));
        assert_ok(&o, &format!("shellcheck ({example})"));
        assert!(
            o.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&o.stdout)
        );
    }
}

#[test]
fn start_order_follows_the_topology() {
    let Some(compose) = tool("COMPOSE") else {
        return;
    };
    let (_dir, out, secrets) =
        common::generate_spec(&root().join("tests/fixtures/compose/sentry-topology.yaml"));
    let o = run(Command::new(&compose)
        .arg("-f")
        .arg(out.join("compose/docker-compose.yaml"))
        .args(["config", "--format", "json"]));
    assert_ok(&o, "docker compose config (sentry-topology)");
    let model: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let deps = |svc: &str| -> Vec<(String, String)> {
        model["services"][svc]["depends_on"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v["condition"].as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let healthy = |names: &[&str]| -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), "service_healthy".to_string()))
            .collect()
    };
    assert_eq!(deps("seed-0"), vec![]);
    assert_eq!(deps("sentry-1"), healthy(&["seed-0"]));
    assert_eq!(
        deps("validator-2"),
        healthy(&["seed-0", "sentry-0", "sentry-1"])
    );
    // Validators publish nothing; sentries and the seed publish p2p only.
    assert!(model["services"]["validator-0"]["ports"].is_null());
    assert_eq!(
        model["services"]["sentry-0"]["ports"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Limits from the group's resources; secrets mounted under their key names.
    let v = &model["services"]["validator-0"];
    assert_eq!(v["deploy"]["resources"]["limits"]["cpus"], 0.5);
    assert_eq!(v["deploy"]["resources"]["limits"]["memory"], "1073741824");
    let targets: Vec<&str> = v["secrets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["node_key", "priv_validator_key"]);
    assert!(model["services"]["prometheus"].is_object());
    assert_no_secret_leaks(&out, &secrets);
}

/// `chainfleet validate` on a fixture: exit 1 and a `FILE:LINE:COL: error:` naming `want`.
fn assert_rejected(fixture: &str, want: &str, line_col: &str) {
    let dir = root().join("tests/fixtures/compose");
    let o = run(chainfleet().current_dir(&dir).arg("validate").arg(fixture));
    let stderr = String::from_utf8_lossy(&o.stderr);
    let stdout = String::from_utf8_lossy(&o.stdout);
    let all = format!("{stdout}{stderr}");
    assert_eq!(
        o.status.code(),
        Some(1),
        "{fixture} should be rejected:\n{all}"
    );
    let head = format!("{fixture}:{line_col}: error:");
    assert!(
        all.lines()
            .any(|l| l.starts_with(&head) && l.contains(want)),
        "expected `{head} ...{want}...` in:\n{all}"
    );
}

#[test]
fn colliding_compose_host_ports_are_rejected_with_a_position() {
    assert_rejected(
        "host-port-collision.yaml",
        "host port 30000 of the compose target is taken twice",
        "12:75",
    );
}

#[test]
fn a_subnet_too_small_for_the_nodes_is_rejected_with_a_position() {
    assert_rejected(
        "subnet-too-small.yaml",
        "subnet `172.30.0.0/28` holds 5 nodes, the network has 7",
        "13:22",
    );
}
