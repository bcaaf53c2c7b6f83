//! The Helm target against real tools, on every example with the Kubernetes target: `helm lint
//! --strict` and `helm template` | `kubernetes-validate --strict` for each values file, checkov
//! (no failed check, every skip justified), yamllint, schema rejection of bad values, the
//! monitoring objects when the CRDs exist, Secret manifests only in the secrets tree, and the
//! port every cross-cluster peer is dialled at is the port its cluster publishes.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{assert_ok, files_under, generate_example, run, tool};

const YAMLLINT_CONFIG: &str =
    "{extends: default, rules: {document-start: disable, line-length: {max: 200}}}";

/// The chart folder of a generated example and the namespace its spec names.
fn chart_of(out: &Path) -> PathBuf {
    let helm = out.join("helm");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&helm)
        .unwrap_or_else(|e| panic!("no helm/ in {}: {e}", out.display()))
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one chart per network: {dirs:?}");
    dirs.pop().unwrap()
}

fn namespace_of(example: &str) -> String {
    let text = std::fs::read_to_string(common::root().join("examples").join(example)).unwrap();
    let at = text
        .find("namespace:")
        .expect("kubernetes target names a namespace");
    text[at + "namespace:".len()..]
        .split([',', '}', '\n'])
        .next()
        .unwrap()
        .trim()
        .to_string()
}

/// `None` (the chart's values.yaml) and every `values-<region>.yaml`.
fn values_files(chart: &Path) -> Vec<Option<PathBuf>> {
    let mut v = vec![None];
    for f in files_under(chart) {
        let name = f.to_string_lossy().into_owned();
        if name.starts_with("values-") && name.ends_with(".yaml") {
            v.push(Some(chart.join(f)));
        }
    }
    v
}

fn helm_cmd(helm: &Path) -> Command {
    let mut c = Command::new(helm);
    // Keep helm away from the user's config and cache.
    let home = std::env::temp_dir().join("chainfleet-helm-test-home");
    c.env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"));
    c
}

fn template(helm: &Path, chart: &Path, ns: &str, values: Option<&Path>, extra: &[&str]) -> String {
    let mut c = helm_cmd(helm);
    c.args(["template", "chainfleet-test"])
        .arg(chart)
        .args(["--namespace", ns]);
    if let Some(v) = values {
        c.arg("-f").arg(v);
    }
    c.args(extra);
    let o = run(&mut c);
    assert_ok(&o, &format!("helm template {} {values:?}", chart.display()));
    String::from_utf8(o.stdout).unwrap()
}

fn kubernetes_validate(kv: &Path, manifests: &str, what: &str) {
    let mut child = Command::new(kv)
        .args(["--strict", "--quiet", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubernetes-validate starts");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(manifests.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_ok(&o, &format!("kubernetes-validate --strict {what}"));
}

fn yamllint(yl: &Path, file: &Path) {
    let o = run(Command::new(yl).args(["-d", YAMLLINT_CONFIG]).arg(file));
    assert_ok(&o, &format!("yamllint {}", file.display()));
}

/// Run checkov on rendered manifests: no failed check, no parsing error, every skip carrying
/// a reason. Returns how many checks passed.
fn checkov(ck: &Path, helm: &Path, file: &Path) -> u64 {
    let path = format!(
        "{}:{}",
        helm.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = run(Command::new(ck)
        .env("PATH", path)
        .arg("-f")
        .arg(file)
        .args([
            "--framework",
            "kubernetes",
            "--compact",
            "--quiet",
            "--skip-download",
            "-o",
            "json",
        ]));
    let text = String::from_utf8_lossy(&o.stdout);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "checkov output is not JSON ({e}):\n{text}\n{}",
            String::from_utf8_lossy(&o.stderr)
        )
    });
    let reports = match v {
        serde_json::Value::Array(a) => a,
        other => vec![other],
    };
    let mut passed = 0;
    for r in &reports {
        let s = &r["summary"];
        let failed: Vec<String> = r["results"]["failed_checks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} ({})", c["check_id"], c["resource"], c["check_name"]))
            .collect();
        assert!(
            failed.is_empty(),
            "checkov failed checks on {}:\n{}",
            file.display(),
            failed.join("\n")
        );
        assert_eq!(
            s["parsing_errors"],
            0,
            "checkov parsing errors on {}",
            file.display()
        );
        for skip in r["results"]["skipped_checks"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let reason = skip["check_result"]["suppress_comment"]
                .as_str()
                .unwrap_or("");
            assert!(
                reason.len() > 20,
                "checkov skip of {} on {} has no real reason: {reason:?}",
                skip["check_id"],
                skip["resource"]
            );
        }
        passed += s["passed"].as_u64().unwrap_or(0);
    }
    assert!(passed > 0, "checkov checked nothing in {}", file.display());
    passed
}

fn examples() -> Vec<String> {
    let v = common::examples_with_target("kubernetes");
    assert!(!v.is_empty(), "no example configures the kubernetes target");
    v
}

/// A generated case: a label, the temp dir guard, the output and secrets folders, the spec text
/// and the namespace.
struct Case {
    label: String,
    dir: tempfile::TempDir,
    out: PathBuf,
    secrets: PathBuf,
    spec: String,
    namespace: String,
}

/// The sentry topology no Kubernetes example has: the multi-region AWS example with its
/// `targets:` replaced by a Kubernetes target (validators behind sentries, three regions).
const SENTRY_BASE: &str = "cosmos-testnet-aws.yaml";
const SENTRY_NAMESPACE: &str = "duality-sentries";

fn sentry_case() -> Case {
    let base = std::fs::read_to_string(common::root().join("examples").join(SENTRY_BASE)).unwrap();
    let cut = base
        .find("\ntargets:")
        .expect("the AWS example has targets")
        + 1;
    let spec = format!(
        "{}targets:\n  kubernetes: {{ namespace: {SENTRY_NAMESPACE}, service_type: LoadBalancer }}\n",
        &base[..cut]
    );
    assert!(
        spec.contains("behind: sentry"),
        "{SENTRY_BASE} no longer has validators behind sentries"
    );
    let (dir, out, secrets) = common::generate_text("sentry-k8s.yaml", &spec);
    Case {
        label: format!("{SENTRY_BASE} on kubernetes"),
        dir,
        out,
        secrets,
        spec,
        namespace: SENTRY_NAMESPACE.into(),
    }
}

/// Every example with the Kubernetes target, plus the sentry case.
fn cases() -> Vec<Case> {
    let mut v: Vec<Case> = examples()
        .into_iter()
        .map(|e| {
            let (dir, out, secrets) = generate_example(&e);
            Case {
                spec: std::fs::read_to_string(common::root().join("examples").join(&e)).unwrap(),
                namespace: namespace_of(&e),
                label: e,
                dir,
                out,
                secrets,
            }
        })
        .collect();
    v.push(sentry_case());
    v
}

#[test]
fn charts_pass_helm_lint_kubernetes_validate_checkov_and_yamllint() {
    let (Some(helm), Some(kv), Some(ck), Some(yl)) = (
        tool("HELM"),
        tool("KUBERNETES_VALIDATE"),
        tool("CHECKOV"),
        tool("YAMLLINT"),
    ) else {
        return;
    };
    for case in cases() {
        let (example, dir, ns) = (&case.label, &case.dir, &case.namespace);
        let chart = chart_of(&case.out);
        for values in values_files(&chart) {
            let what = format!("{example} with {values:?}");
            let mut lint = helm_cmd(&helm);
            lint.args(["lint", "--strict"]).arg(&chart);
            if let Some(v) = &values {
                lint.arg("-f").arg(v);
            }
            assert_ok(&run(&mut lint), &format!("helm lint --strict {what}"));

            let rendered = template(&helm, &chart, ns, values.as_deref(), &[]);
            assert!(
                rendered.contains("kind: StatefulSet"),
                "{what}: no StatefulSet"
            );
            assert!(
                rendered.contains("publishNotReadyAddresses: true"),
                "{what}: no headless Service"
            );
            assert!(
                rendered.contains("kind: PodDisruptionBudget"),
                "{what}: no PDB"
            );
            assert!(
                rendered.contains("kind: NetworkPolicy"),
                "{what}: no NetworkPolicy"
            );
            kubernetes_validate(&kv, &rendered, &what);

            let file = dir.path().join(format!(
                "rendered-{}.yaml",
                values.as_ref().map_or("default".into(), |v| v
                    .file_stem()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned())
            ));
            std::fs::write(&file, &rendered).unwrap();
            yamllint(&yl, &file);
            checkov(&ck, &helm, &file);
        }
    }
}

#[test]
fn region_values_run_only_their_nodes_and_dial_others_publicly() {
    let Some(helm) = tool("HELM") else { return };
    let mut seen = 0;
    for case in cases() {
        let (example, ns) = (&case.label, case.namespace.as_str());
        let chart = chart_of(&case.out);
        let all = template(&helm, &chart, ns, None, &[]);
        let total = all.matches("kind: StatefulSet").count();
        let regions: Vec<PathBuf> = values_files(&chart).into_iter().flatten().collect();
        if regions.is_empty() {
            continue;
        }
        seen += 1;
        let mut sum = 0;
        for v in &regions {
            let text = template(&helm, &chart, ns, Some(v), &[]);
            sum += text.matches("kind: StatefulSet").count();
            let region = v
                .file_stem()
                .unwrap()
                .to_string_lossy()
                .trim_start_matches("values-")
                .to_string();
            // Peers in other clusters are dialed on <node>.<region>.<publicDomain>.
            assert!(
                text.contains(".example"),
                "{example} {region}: no cross-region peer on a public name"
            );
            assert!(
                text.contains("external-dns.alpha.kubernetes.io/hostname"),
                "{example} {region}"
            );
        }
        assert_eq!(
            sum, total,
            "{example}: region files must run every node exactly once"
        );
    }
    assert!(
        seen > 0,
        "no multi-region example with the kubernetes target"
    );
}

#[test]
fn values_breaking_the_schema_are_rejected() {
    let Some(helm) = tool("HELM") else { return };
    let example = examples().remove(0);
    let (dir, out, _secrets) = generate_example(&example);
    let chart = chart_of(&out);
    for (name, bad) in [
        ("unknown-key", "imagee:\n  tag: x\n"),
        ("wrong-type", "image:\n  tag: 5\n"),
        ("bad-service-type", "service:\n  type: ClusterIPX\n"),
        ("unknown-node", "nodes:\n  nobody-7:\n    enabled: true\n"),
    ] {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, bad).unwrap();
        for sub in ["lint", "template"] {
            let o = run(helm_cmd(&helm).arg(sub).arg(&chart).arg("-f").arg(&file));
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            assert!(!o.status.success(), "helm {sub} accepted {name}:\n{all}");
            assert!(
                all.to_lowercase().contains("schema"),
                "helm {sub} on {name} does not mention the schema:\n{all}"
            );
        }
    }
}

#[test]
fn monitoring_objects_render_only_with_the_operator_crds() {
    let (Some(helm), Some(yl)) = (tool("HELM"), tool("YAMLLINT")) else {
        return;
    };
    for case in cases() {
        let (example, spec, ns) = (&case.label, &case.spec, case.namespace.as_str());
        if !spec.contains("prometheus: true") {
            continue;
        }
        let chart = chart_of(&case.out);
        let without = template(&helm, &chart, ns, None, &[]);
        assert!(
            !without.contains("kind: PrometheusRule"),
            "{example}: rule without CRDs"
        );
        let with = template(
            &helm,
            &chart,
            ns,
            None,
            &["--api-versions", "monitoring.coreos.com/v1"],
        );
        for needle in [
            "kind: PodMonitor",
            "kind: PrometheusRule",
            "alert: NodeDown",
            "alert: MemoryHigh",
            "alert: ChainStalled",
            "alert: FewPeers",
        ] {
            assert!(with.contains(needle), "{example}: `{needle}` missing");
        }
        assert!(
            with.contains("alert: ValidatorMissingBlocks")
                || with.contains("alert: ProducerMissingBlocks"),
            "{example}: no missed-blocks alert"
        );
        if spec.contains("team: integration") {
            assert!(
                with.contains("team: integration"),
                "{example}: alert labels from the spec missing"
            );
        }
        let file = case.dir.path().join("monitoring.yaml");
        std::fs::write(&file, &with).unwrap();
        yamllint(&yl, &file);
    }
}

#[test]
fn secret_manifests_live_only_in_the_secrets_tree() {
    let kv = tool("KUBERNETES_VALIDATE");
    let mut manifests = 0;
    for case in cases() {
        let (example, out, secrets) = (&case.label, &case.out, &case.secrets);
        let chart = chart_of(out);
        let chart_text: String = files_under(&chart)
            .iter()
            .map(|f| std::fs::read_to_string(chart.join(f)).unwrap())
            .collect();
        assert!(
            !chart_text.contains("kind: Secret\n"),
            "{example}: the chart carries a Secret"
        );
        let k8s = secrets.join("kubernetes");
        if !k8s.exists() {
            continue;
        }
        for f in files_under(&k8s) {
            manifests += 1;
            let text = std::fs::read_to_string(k8s.join(&f)).unwrap();
            assert!(text.contains("kind: Secret"), "{}", f.display());
            let node = f
                .to_string_lossy()
                .trim_end_matches("-secret.yaml")
                .to_string();
            assert!(
                chart_text.contains(&format!(
                    "existingSecret: {}-{node}-keys",
                    chart.file_name().unwrap().to_string_lossy()
                )),
                "{example}: values do not reference the Secret of {node}"
            );
            // Every data value is the base64 of a file in the node's secrets folder, and
            // none of them appears anywhere in the public tree.
            let public: String = files_under(out)
                .iter()
                .filter_map(|p| std::fs::read_to_string(out.join(p)).ok())
                .collect();
            for line in text.lines().skip_while(|l| *l != "data:").skip(1) {
                let (_, b64) = line.trim().split_once(": ").expect("key: value");
                assert!(b64.len() > 20);
                assert!(
                    !public.contains(b64),
                    "{example}: key material of {node} in the public tree"
                );
            }
            if let Some(kv) = &kv {
                kubernetes_validate(kv, &text, &f.to_string_lossy());
            }
        }
    }
    assert!(manifests > 0, "no example produced a Secret manifest");
}

#[test]
fn validators_behind_sentries_talk_p2p_only_to_them() {
    let Some(helm) = tool("HELM") else { return };
    let case = sentry_case();
    let chart = chart_of(&case.out);
    let docs = |text: &str| -> Vec<String> { text.split("\n---\n").map(str::to_string).collect() };
    let all = template(&helm, &chart, &case.namespace, None, &[]);
    let policy = docs(&all)
        .into_iter()
        .find(|d| d.contains("kind: NetworkPolicy") && d.contains("\n  name: validator\n"))
        .expect("a NetworkPolicy for the validators");
    let ingress = &policy[policy.find("  ingress:").unwrap()..policy.find("  egress:").unwrap()];
    let p2p_rule = &ingress[..ingress.find("namespaceSelector").unwrap_or(ingress.len())];
    assert!(
        p2p_rule.contains("chainfleet.dev/group: sentry") && p2p_rule.contains("port: 26656"),
        "{policy}"
    );
    assert!(
        !ingress[p2p_rule.len()..].contains("port: 26656"),
        "p2p open beyond sentries:\n{policy}"
    );
    assert!(policy.contains("- Egress"), "{policy}");
    // Everything in one cluster: no remote-sentry egress, validators never public.
    assert!(!policy.contains("ipBlock"), "{policy}");
    assert!(
        !all.contains("name: validator-0-public"),
        "a hidden validator got a public Service"
    );
    for v in values_files(&chart).into_iter().flatten() {
        let text = template(&helm, &chart, &case.namespace, Some(&v), &[]);
        // Hidden validators of other clusters are never dialed on public names...
        for n in 0..4 {
            for r in ["us-east-1", "eu-west-1", "ap-southeast-1"] {
                assert!(
                    !text.contains(&format!("validator-{n}.{r}.")),
                    "{}: validator-{n} on a public name",
                    v.display()
                );
            }
        }
        // ...and validators here reach remote sentries only on their p2p port.
        let policy = docs(&text)
            .into_iter()
            .find(|d| d.contains("kind: NetworkPolicy") && d.contains("\n  name: validator\n"));
        if let Some(policy) = policy {
            assert!(
                policy.contains("ipBlock"),
                "{}: no egress to remote sentries",
                v.display()
            );
        }
    }
}

/// The port the public Service of `node` publishes its p2p port on in `rendered` (one region's
/// manifests): the nodePort under NodePort, else the Service port.
fn published_p2p(rendered: &str, node: &str) -> Option<u16> {
    let doc = rendered
        .split("\n---")
        .find(|d| d.contains("kind: Service") && d.contains(&format!("name: {node}-public\n")))?;
    let at = doc.find("- name: p2p\n")?;
    let entry = &doc[at + "- name: p2p\n".len()..];
    let entry = &entry[..entry.find("- name:").unwrap_or(entry.len())];
    let field = |k: &str| {
        entry
            .lines()
            .find_map(|l| l.trim().strip_prefix(k))
            .map(|v| v.trim().parse::<u16>().unwrap())
    };
    if doc.contains("type: NodePort") {
        Some(field("nodePort:").expect("a NodePort p2p Service fixes its nodePort"))
    } else {
        field("port:")
    }
}

/// Every `<node>.<region>.<domain>:<port>` in `rendered`: (node, port).
fn public_dials(rendered: &str, domain: &str) -> Vec<(String, u16)> {
    let suffix = format!(".{domain}:");
    let mut out = Vec::new();
    for (i, _) in rendered.match_indices(&suffix) {
        let start = rendered[..i]
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '.'))
            .map_or(0, |s| s + 1);
        let node = rendered[start..i].split('.').next().unwrap().to_string();
        let port: String = rendered[i + suffix.len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        out.push((node, port.parse().unwrap()));
    }
    out
}

#[test]
fn other_clusters_dial_the_port_a_public_service_publishes() {
    let Some(helm) = tool("HELM") else { return };
    let spec = common::root().join("tests/fixtures/k8s-regions.yaml");
    let (dir, out, secrets) = common::generate_spec(&spec);
    let mut all = cases();
    all.push(Case {
        label: "tests/fixtures/k8s-regions.yaml".into(),
        dir,
        out,
        secrets,
        spec: std::fs::read_to_string(&spec).unwrap(),
        namespace: "k8s-regions".into(),
    });
    let mut checked = 0;
    for case in &all {
        let chart = chart_of(&case.out);
        let regions: Vec<PathBuf> = values_files(&chart).into_iter().flatten().collect();
        if regions.is_empty() {
            continue;
        }
        for service_type in ["NodePort", "LoadBalancer"] {
            let set = format!("service.type={service_type}");
            let rendered: Vec<String> = regions
                .iter()
                .map(|v| template(&helm, &chart, &case.namespace, Some(v), &["--set", &set]))
                .collect();
            let domain = std::fs::read_to_string(&regions[0])
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("publicDomain:"))
                .expect("region values set publicDomain")
                .trim()
                .to_string();
            for text in &rendered {
                for (node, port) in public_dials(text, &domain) {
                    let published: Vec<u16> = rendered
                        .iter()
                        .filter_map(|r| published_p2p(r, &node))
                        .collect();
                    assert_eq!(
                        published,
                        vec![port],
                        "{} ({service_type}): {node} is dialled/advertised on port {port}, its \
                         cluster publishes p2p on {published:?}",
                        case.label
                    );
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 0, "no cross-cluster p2p address checked");
}
