//! The Helm target on a real single-node Kubernetes cluster (`scripts/cluster.sh`): each chart
//! is installed as its generated README says (key Secrets from the secrets tree with `kubectl
//! apply`, `helm install` with the image set), every pod becomes Ready, the Cosmos SDK and
//! CometBFT networks reach height 5 with exactly the spec's validators, every validator signs,
//! `kubectl logs` shows the node's startup lines, a deleted validator pod comes back and catches
//! up, one region's values file starts only that region's nodes (their public Services pin the
//! NodePort the nodes advertise, which the other region dials), the Prometheus Operator
//! objects install with their CRDs and are skipped without them, and the NetworkPolicies are
//! accepted by the API server and (no enforcing plugin runs here) evaluated against the running
//! pods and the connections the network needs.
//!
//! Needs: KUBECTL + KUBECONFIG + CTR_ADDRESS (printed by `scripts/cluster.sh up`), HELM, DOCKER
//! with the stand-in chain images (`scripts/images.sh`). Under CI=true or
//! CHAINFLEET_REQUIRE_TOOLS=1 a missing piece or a cluster that does not answer fails the test.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::{assert_ok, generate_example, generate_spec, not_run, root, run, tool, wait_for};

/// One network at a time: the node has 2 cores.
static CLUSTER: Mutex<()> = Mutex::new(());

/// Time a network gets to reach a height (shared 2-core machine).
const TIMEOUT: Duration = Duration::from_secs(240);

/// Minimal CustomResourceDefinitions of the two Prometheus Operator kinds the charts create:
/// enough for the API server to serve `monitoring.coreos.com/v1` (what the chart checks) and to
/// store the objects, without the operator itself.
const OPERATOR_CRDS: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: podmonitors.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PodMonitor, listKind: PodMonitorList, plural: podmonitors, singular: podmonitor}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: prometheusrules.monitoring.coreos.com}
spec:
  group: monitoring.coreos.com
  scope: Namespaced
  names: {kind: PrometheusRule, listKind: PrometheusRuleList, plural: prometheusrules, singular: prometheusrule}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
"#;

/// The cluster and tools, or `None` (loudly) outside CI.
struct Cluster {
    kubectl: PathBuf,
    helm: PathBuf,
    docker: PathBuf,
    ctr_address: String,
}

fn cluster() -> Option<Cluster> {
    let (kubectl, helm, docker) = (tool("KUBECTL")?, tool("HELM")?, tool("DOCKER")?);
    let ctr_address = std::env::var("CTR_ADDRESS").unwrap_or_default();
    let c = Cluster {
        kubectl,
        helm,
        docker,
        ctr_address,
    };
    let o = run(c.kubectl().args(["get", "--raw", "/readyz"]));
    if !o.status.success() || c.ctr_address.is_empty() {
        let msg = format!(
            "no Kubernetes cluster answers (KUBECONFIG={:?}, CTR_ADDRESS={:?}): {}; \
             run scripts/cluster.sh build && scripts/cluster.sh up",
            std::env::var("KUBECONFIG").ok(),
            c.ctr_address,
            String::from_utf8_lossy(&o.stderr).trim()
        );
        return not_run(&msg);
    }
    Some(c)
}

impl Cluster {
    fn kubectl(&self) -> Command {
        Command::new(&self.kubectl)
    }

    /// `kubectl ARGS`, which must succeed; its stdout.
    fn kc(&self, args: &[&str]) -> String {
        let o = run(self.kubectl().args(args));
        assert_ok(&o, &format!("kubectl {}", args.join(" ")));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.extend(["-o", "json"]);
        serde_json::from_str(&self.kc(&a)).expect("kubectl -o json")
    }

    fn helm(&self) -> Command {
        let mut c = Command::new(&self.helm);
        // Helm keeps its own cache and config out of $HOME.
        let tmp = std::env::temp_dir().join("chainfleet-helm-real");
        c.env("HELM_CACHE_HOME", tmp.join("cache"))
            .env("HELM_CONFIG_HOME", tmp.join("config"))
            .env("HELM_DATA_HOME", tmp.join("data"));
        c
    }

    /// Build the network image from the generated folder (as its README says) and import it into
    /// the cluster's containerd; returns the repository to set as `image.repository`.
    fn network_image(&self, out: &Path, chart: &Path, name: &str) -> String {
        let tag = values_tag(chart);
        let repo = format!("chainfleet.local/{name}");
        let image = format!("{repo}:{tag}");
        let t = Instant::now();
        // As the README says: `docker build` of docker/Dockerfile from the generated folder.
        let o = run(Command::new(&self.docker).current_dir(out).args([
            "build",
            "-q",
            "-f",
            "docker/Dockerfile",
            "-t",
            &image,
            ".",
        ]));
        assert_ok(&o, &format!("docker build {image}"));
        let o = run(Command::new("bash").arg("-c").arg(format!(
            "set -o pipefail; '{}' save '{image}' | ctr --address '{}' -n k8s.io images import -",
            self.docker.display(),
            self.ctr_address
        )));
        assert_ok(&o, &format!("import {image} into the cluster"));
        eprintln!(
            "{name}: image built and imported in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        repo
    }

    /// Remove a namespace and everything in it (also the data volumes), and wait until it is gone.
    fn delete_namespace(&self, ns: &str) {
        let _ = run(self.helm().args(["uninstall", ns, "-n", ns, "--wait"]));
        let _ = run(self.kubectl().args([
            "delete",
            "namespace",
            ns,
            "--ignore-not-found",
            "--wait=true",
            "--timeout=180s",
        ]));
    }

    fn set_operator_crds(&self, present: bool) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("crds.yaml");
        std::fs::write(&f, OPERATOR_CRDS).unwrap();
        let f = f.to_string_lossy().into_owned();
        if present {
            self.kc(&["apply", "-f", &f]);
            self.kc(&[
                "wait",
                "--for=condition=Established",
                "crd/podmonitors.monitoring.coreos.com",
                "crd/prometheusrules.monitoring.coreos.com",
                "--timeout=60s",
            ]);
        } else {
            self.kc(&["delete", "--ignore-not-found", "--wait=true", "-f", &f]);
        }
    }

    /// GET `path` from a pod's port through the API server's proxy; the CometBFT RPC `result`.
    fn rpc(&self, ns: &str, pod: &str, path: &str) -> Option<Value> {
        let url = format!("/api/v1/namespaces/{ns}/pods/{pod}:26657/proxy{path}");
        let o = run(self.kubectl().args(["get", "--raw", &url]));
        if !o.status.success() {
            return None;
        }
        let v: Value = serde_json::from_slice(&o.stdout).ok()?;
        v.get("result").cloned()
    }

    fn height(&self, ns: &str, pod: &str) -> Option<u64> {
        self.rpc(ns, pod, "/status")?["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    }

    /// Print what a failing install looked like.
    fn dump(&self, ns: &str) {
        let o = run(self
            .kubectl()
            .args(["get", "pods,pvc,events", "-n", ns, "-o", "wide"]));
        eprintln!("--- {ns}\n{}", String::from_utf8_lossy(&o.stdout));
        let pods = run(self.kubectl().args(["get", "pods", "-n", ns, "-o", "name"]));
        for p in String::from_utf8_lossy(&pods.stdout).lines() {
            let o = run(self.kubectl().args(["logs", "-n", ns, p, "--tail=20"]));
            eprintln!(
                "--- kubectl logs {p}\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// `image.tag` of the chart's values.yaml.
fn values_tag(chart: &Path) -> String {
    let text = std::fs::read_to_string(chart.join("values.yaml")).unwrap();
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("image:"))
        .find(|l| l.trim_start().starts_with("tag:"))
        .expect("values.yaml has image.tag");
    line.split(':')
        .nth(1)
        .unwrap()
        .trim()
        .trim_matches('"')
        .to_string()
}

fn chart_of(out: &Path) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(out.join("helm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one chart per network: {dirs:?}");
    dirs.pop().unwrap()
}

/// A generated network installed on the cluster. Dropping it uninstalls the release and deletes
/// the namespace (also on failure, after printing pods, events and logs).
struct Install<'a> {
    c: &'a Cluster,
    ns: String,
    out: PathBuf,
    secrets: PathBuf,
    chart: PathBuf,
    network: chainfleet::model::Network,
    _dir: tempfile::TempDir,
}

impl Drop for Install<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.c.dump(&self.ns);
        }
        self.c.delete_namespace(&self.ns);
    }
}

impl<'a> Install<'a> {
    /// Generate `spec` (a path), build and import its image; nothing is installed yet.
    fn generate(
        c: &'a Cluster,
        generated: (tempfile::TempDir, PathBuf, PathBuf),
        spec: &Path,
    ) -> Self {
        let (dir, out, secrets) = generated;
        let bytes = std::fs::read(spec).unwrap();
        let network = chainfleet::validate("spec.yaml", &bytes, spec.parent().unwrap())
            .unwrap_or_else(|d| panic!("{} is invalid: {d:?}", spec.display()))
            .network;
        let chart = chart_of(&out);
        let ns = network
            .targets
            .kubernetes
            .as_ref()
            .expect("kubernetes target")
            .namespace
            .clone();
        c.delete_namespace(&ns);
        Install {
            c,
            ns,
            out,
            secrets,
            chart,
            network,
            _dir: dir,
        }
    }

    /// The README's steps: namespace, key Secrets from the secrets tree, `helm install` with the
    /// image set. Returns when helm returns (no --wait: the test watches the pods itself).
    fn install(&self, repo: &str, values: Option<&Path>) {
        self.c.kc(&["create", "namespace", &self.ns]);
        let keys = self.secrets.join("kubernetes");
        self.c
            .kc(&["apply", "-n", &self.ns, "-f", &keys.to_string_lossy()]);
        let mut helm = self.c.helm();
        helm.args(["install", &self.ns])
            .arg(&self.chart)
            .args(["-n", &self.ns, "--set"])
            .arg(format!("image.repository={repo}"));
        if let Some(v) = values {
            helm.arg("-f").arg(v);
        }
        assert_ok(&run(&mut helm), "helm install");
    }

    fn pods(&self) -> Vec<Value> {
        self.c.json(&["get", "pods", "-n", &self.ns])["items"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Wait until exactly `names` run as pods `<node>-0` and all are Ready.
    fn wait_ready(&self, names: &[String], timeout: Duration) {
        let want: BTreeSet<String> = names.iter().map(|n| format!("{n}-0")).collect();
        wait_for(
            &format!("pods {want:?} Ready"),
            timeout,
            Duration::from_secs(1),
            || {
                let pods = self.pods();
                let have: BTreeSet<String> = pods.iter().map(pod_name).collect();
                (have == want && pods.iter().all(is_ready)).then_some(())
            },
        );
    }

    fn validators(&self) -> Vec<String> {
        self.network.validators().map(|n| n.name.clone()).collect()
    }

    fn names(&self) -> Vec<String> {
        self.network.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// Consensus address (upper-case hex) → validator, from the secrets tree.
    fn consensus_addresses(&self) -> BTreeMap<String, String> {
        self.validators()
            .into_iter()
            .map(|v| {
                let path = self
                    .secrets
                    .join(format!("nodes/{v}/config/priv_validator_key.json"));
                let key: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                (key["address"].as_str().unwrap().to_uppercase(), v)
            })
            .collect()
    }

    fn height(&self, node: &str) -> Option<u64> {
        self.c.height(&self.ns, &format!("{node}-0"))
    }

    fn wait_height(&self, nodes: &[String], h: u64, timeout: Duration) {
        for n in nodes {
            wait_for(
                &format!("{n} to reach height {h}"),
                timeout,
                Duration::from_secs(1),
                || self.height(n).filter(|x| *x >= h),
            );
        }
    }

    fn max_height(&self, nodes: &[String]) -> u64 {
        nodes
            .iter()
            .filter_map(|n| self.height(n))
            .max()
            .unwrap_or(0)
    }

    /// The validator set at `h` seen by `node`: address → power.
    fn validator_set(&self, node: &str, h: u64) -> BTreeMap<String, u64> {
        let r = self
            .c
            .rpc(
                &self.ns,
                &format!("{node}-0"),
                &format!("/validators?height={h}&per_page=100"),
            )
            .expect("/validators answers");
        r["validators"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| {
                (
                    v["address"].as_str().unwrap().to_string(),
                    v["voting_power"].as_str().unwrap().parse().unwrap(),
                )
            })
            .collect()
    }

    /// Validators with a commit signature in any height of `heights`, seen by `node`.
    fn signers(&self, node: &str, heights: impl Iterator<Item = u64>) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for h in heights {
            let c = self
                .c
                .rpc(
                    &self.ns,
                    &format!("{node}-0"),
                    &format!("/commit?height={h}"),
                )
                .expect("/commit answers");
            for s in c["signed_header"]["commit"]["signatures"]
                .as_array()
                .unwrap()
            {
                if s["block_id_flag"].as_u64() == Some(2) {
                    out.insert(s["validator_address"].as_str().unwrap().to_string());
                }
            }
        }
        out
    }

    fn logs(&self, node: &str) -> String {
        let o = run(self
            .c
            .kubectl()
            .args(["logs", "-n", &self.ns, &format!("{node}-0")]));
        assert_ok(&o, &format!("kubectl logs {node}-0"));
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    }
}

fn pod_name(p: &Value) -> String {
    p["metadata"]["name"].as_str().unwrap().to_string()
}

fn is_ready(p: &Value) -> bool {
    p["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Every check of a network that makes blocks; `expected_power` of each validator name.
fn check_chain(i: &Install, expected_power: &dyn Fn(&str) -> u64) {
    let c = i.c;
    let all = i.names();
    let validators = i.validators();
    let t = Instant::now();
    i.install(&i.network_repo(), None);
    i.wait_ready(&all, TIMEOUT);
    let ready = t.elapsed().as_secs_f64();
    i.wait_height(&all, 5, TIMEOUT);
    eprintln!(
        "{}: helm install -> every pod Ready {ready:.1} s, -> height 5 on every node {:.1} s",
        i.ns,
        t.elapsed().as_secs_f64()
    );

    // Exactly the spec's validators, with their powers, seen by every node.
    let last = all.last().unwrap().clone();
    let h = i.height(&last).unwrap() - 1;
    i.wait_height(&all, h + 1, TIMEOUT);
    let addresses = i.consensus_addresses();
    assert_eq!(addresses.len(), validators.len());
    let expected: BTreeMap<String, u64> = addresses
        .iter()
        .map(|(a, n)| (a.clone(), expected_power(n)))
        .collect();
    for n in &all {
        assert_eq!(
            i.validator_set(n, h),
            expected,
            "validator set seen by {n} at {h}"
        );
    }
    // Every validator signed one of the last blocks.
    let signed = i.signers(&last, h.saturating_sub(3).max(2)..=h);
    let missing: Vec<&String> = addresses
        .iter()
        .filter(|(a, _)| !signed.contains(*a))
        .map(|(_, n)| n)
        .collect();
    assert!(
        missing.is_empty(),
        "validators that did not sign up to {h}: {missing:?}"
    );

    // kubectl logs shows the entrypoint's and the node's startup lines (no init container hides
    // them).
    for n in &all {
        let logs = i.logs(n);
        assert!(
            logs.contains(&format!(
                "chainfleet-entrypoint: node {n}: installed public and private files"
            )),
            "{n}: no entrypoint line in kubectl logs:\n{logs}"
        );
        assert!(
            logs.contains(&format!("chainfleet-entrypoint: node {n}: exec")),
            "{n}: no exec line in kubectl logs:\n{logs}"
        );
        assert!(
            logs.contains("Starting Node service") || logs.contains("starting node"),
            "{n}: no node start line in kubectl logs:\n{logs}"
        );
    }

    // Delete a validator pod: its StatefulSet brings it back and it catches up.
    let victim = validators[1].clone();
    let pod = format!("{victim}-0");
    let uid = c.json(&["get", "pod", "-n", &i.ns, &pod])["metadata"]["uid"].clone();
    let before = i.max_height(&all);
    let t = Instant::now();
    c.kc(&["delete", "pod", "-n", &i.ns, &pod, "--wait=true"]);
    wait_for(
        &format!("{pod} back and Ready"),
        TIMEOUT,
        Duration::from_secs(1),
        || {
            let p = c.json(&[
                "get",
                "pods",
                "-n",
                &i.ns,
                "-l",
                &format!("chainfleet.dev/node={victim}"),
            ]);
            let p = p["items"].as_array()?.first()?.clone();
            (p["metadata"]["uid"] != uid && is_ready(&p)).then_some(())
        },
    );
    let target = before + 2;
    wait_for(
        &format!("{victim} to catch up to {target}"),
        TIMEOUT,
        Duration::from_secs(1),
        || {
            let st = c.rpc(&i.ns, &pod, "/status")?;
            let h: u64 = st["sync_info"]["latest_block_height"]
                .as_str()?
                .parse()
                .ok()?;
            (h >= target && st["sync_info"]["catching_up"] == Value::Bool(false)).then_some(())
        },
    );
    let victim_addr = addresses
        .iter()
        .find(|(_, n)| **n == victim)
        .unwrap()
        .0
        .clone();
    let from = i.height(&last).unwrap();
    wait_for(
        &format!("{victim} to sign again"),
        TIMEOUT,
        Duration::from_secs(1),
        || {
            let now = i.height(&last)?;
            (now > from && i.signers(&last, from + 1..=now).contains(&victim_addr)).then_some(())
        },
    );
    eprintln!(
        "{}: {pod} deleted at height {before}: back, caught up and signing in {:.1} s",
        i.ns,
        t.elapsed().as_secs_f64()
    );

    check_network_policies(i);
}

impl Install<'_> {
    fn network_repo(&self) -> String {
        self.c
            .network_image(&self.out, &self.chart, &self.network.name)
    }
}

// ---------------------------------------------------------------------------------------------
// NetworkPolicies: no enforcing plugin runs here (the bridge CNI ignores them), so the test
// evaluates the accepted policies' selectors against the running pods, by the NetworkPolicy
// rules (a pod selected by a policy of a type allows only what some rule of that type allows).
// ---------------------------------------------------------------------------------------------

fn labels_match(selector: &Value, labels: &Value) -> bool {
    assert!(
        selector.get("matchExpressions").is_none(),
        "matchExpressions are not evaluated by this test: {selector}"
    );
    selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

struct PodRef {
    ns: String,
    labels: Value,
    ns_labels: Value,
}

fn peer_matches(peer: &Value, policy_ns: &str, pod: &PodRef) -> bool {
    if peer.get("ipBlock").is_some() {
        // Pod addresses are in the cluster's pod range; only 0.0.0.0/0 without exceptions
        // admits them for certain.
        return peer["ipBlock"]["cidr"] == "0.0.0.0/0" && peer["ipBlock"].get("except").is_none();
    }
    let ns_ok = match peer.get("namespaceSelector") {
        Some(s) => labels_match(s, &pod.ns_labels),
        None => pod.ns == policy_ns,
    };
    let pod_ok = peer
        .get("podSelector")
        .is_none_or(|s| labels_match(s, &pod.labels));
    ns_ok && pod_ok
}

fn port_matches(ports: Option<&Value>, port: u16, proto: &str) -> bool {
    match ports.and_then(|p| p.as_array()) {
        None => true,
        Some(list) if list.is_empty() => true,
        Some(list) => list.iter().any(|p| {
            p.get("protocol").and_then(|x| x.as_str()).unwrap_or("TCP") == proto
                && p.get("port")
                    .is_none_or(|x| x.as_u64() == Some(port.into()))
        }),
    }
}

/// Whether the policies allow `from` to open `port`/`proto` on `to`.
fn allowed(policies: &[Value], from: &PodRef, to: &PodRef, port: u16, proto: &str) -> bool {
    let side = |pod: &PodRef, kind: &str, rules: &str, peers: &str, other: &PodRef| {
        let selecting: Vec<&Value> = policies
            .iter()
            .filter(|p| {
                p["metadata"]["namespace"] == pod.ns.as_str()
                    && labels_match(&p["spec"]["podSelector"], &pod.labels)
                    && p["spec"]["policyTypes"]
                        .as_array()
                        .is_some_and(|t| t.iter().any(|x| x == kind))
            })
            .collect();
        selecting.is_empty()
            || selecting.iter().any(|p| {
                let ns = p["metadata"]["namespace"].as_str().unwrap();
                p["spec"][rules].as_array().is_some_and(|rs| {
                    rs.iter().any(|r| {
                        port_matches(r.get("ports"), port, proto)
                            && r[peers].as_array().is_none_or(|ps| {
                                ps.iter().any(|peer| peer_matches(peer, ns, other))
                            })
                    })
                })
            })
    };
    side(from, "Egress", "egress", "to", to) && side(to, "Ingress", "ingress", "from", from)
}

fn check_network_policies(i: &Install) {
    let c = i.c;
    let policies = c.json(&["get", "networkpolicies", "-n", &i.ns])["items"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!policies.is_empty(), "{}: no NetworkPolicy accepted", i.ns);
    let ns_labels = |ns: &str| c.json(&["get", "namespace", ns])["metadata"]["labels"].clone();
    let pods: BTreeMap<String, PodRef> = i
        .pods()
        .iter()
        .map(|p| {
            (
                pod_name(p),
                PodRef {
                    ns: i.ns.clone(),
                    labels: p["metadata"]["labels"].clone(),
                    ns_labels: ns_labels(&i.ns),
                },
            )
        })
        .collect();
    // Every policy selects at least one running pod.
    for p in &policies {
        let sel = &p["spec"]["podSelector"];
        assert!(
            pods.values().any(|x| labels_match(sel, &x.labels)),
            "NetworkPolicy {} selects no pod",
            p["metadata"]["name"]
        );
    }
    let dns =
        c.json(&["get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns"])["items"][0].clone();
    let dns = PodRef {
        ns: "kube-system".into(),
        labels: dns["metadata"]["labels"].clone(),
        ns_labels: ns_labels("kube-system"),
    };
    let monitoring = PodRef {
        ns: "monitoring".into(),
        labels: serde_json::json!({"app.kubernetes.io/name": "prometheus"}),
        ns_labels: serde_json::json!({"kubernetes.io/metadata.name": "monitoring"}),
    };
    for node in &i.network.nodes {
        let me = &pods[&format!("{}-0", node.name)];
        // The entrypoint resolves its peers' names before starting the node.
        for proto in ["UDP", "TCP"] {
            assert!(
                allowed(&policies, me, &dns, 53, proto),
                "{}: NetworkPolicies block DNS ({proto} 53) to CoreDNS",
                node.name
            );
        }
        // Every peer the node dials, and the way back.
        for peer in node.peers.persistent.iter().chain(&node.peers.seeds) {
            let other = &pods[&format!("{peer}-0")];
            assert!(
                allowed(&policies, me, other, 26656, "TCP"),
                "NetworkPolicies block p2p {} -> {peer}",
                node.name
            );
        }
        // Prometheus in another namespace scrapes metrics.
        assert!(
            allowed(&policies, &monitoring, me, 26660, "TCP"),
            "NetworkPolicies block metrics scraping of {}",
            node.name
        );
    }
    // Validators behind sentries accept p2p from their sentries only.
    let behind =
        |n: &chainfleet::model::Node| i.network.group(&n.group).and_then(|g| g.behind.clone());
    for v in i.network.validators().filter(|v| behind(v).is_some()) {
        let me = &pods[&format!("{}-0", v.name)];
        let sentries = behind(v).unwrap();
        for other in i.network.nodes.iter().filter(|o| o.name != v.name) {
            let o = &pods[&format!("{}-0", other.name)];
            let ok = allowed(&policies, o, me, 26656, "TCP");
            assert_eq!(
                ok,
                other.group == sentries,
                "p2p {} -> {} (behind {sentries}) allowed: {ok}",
                other.name,
                v.name
            );
        }
    }
    eprintln!(
        "{}: {} NetworkPolicies accepted; selectors checked against {} pods",
        i.ns,
        policies.len(),
        pods.len()
    );
}

// ---------------------------------------------------------------------------------------------

fn timings_line() {
    // scripts/cluster.sh writes these; show them once per run next to the chart timings.
    if let Ok(s) = std::env::var("CLUSTER_TIMINGS") {
        eprintln!("cluster: {s}");
    }
}

#[test]
fn cosmos_network_makes_blocks_on_a_real_cluster() {
    let Some(c) = cluster() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    timings_line();
    // With the operator CRDs: the chart's PodMonitor and PrometheusRule install.
    c.set_operator_crds(true);
    let spec = root().join("examples/k8s-integration.yaml");
    let i = Install::generate(&c, generate_example("k8s-integration.yaml"), &spec);
    check_chain(&i, &|_| 100);
    for kind in ["podmonitors", "prometheusrules"] {
        let items = c.json(&["get", kind, "-n", &i.ns])["items"].clone();
        assert_eq!(
            items.as_array().map(Vec::len),
            Some(1),
            "{kind} with the operator CRDs: {items}"
        );
    }
}

#[test]
fn cometbft_network_makes_blocks_on_a_real_cluster() {
    let Some(c) = cluster() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    // Without the operator CRDs: the chart skips PodMonitor and PrometheusRule and installs.
    c.set_operator_crds(false);
    let spec = root().join("tests/fixtures/k8s-cometbft.yaml");
    let i = Install::generate(&c, generate_spec(&spec), &spec);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(i.out.join("genesis.json")).unwrap())
            .unwrap();
    let powers: BTreeMap<String, u64> = genesis["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["address"].as_str().unwrap().to_uppercase(),
                v["power"].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect();
    let by_name: BTreeMap<String, u64> = i
        .consensus_addresses()
        .iter()
        .map(|(a, n)| (n.clone(), powers[a]))
        .collect();
    check_chain(&i, &|n| by_name[n]);
    let o = run(c
        .kubectl()
        .args(["api-resources", "--api-group=monitoring.coreos.com"]));
    assert!(!String::from_utf8_lossy(&o.stdout).contains("PodMonitor"));
    let manifest = run(c.helm().args(["get", "manifest", &i.ns, "-n", &i.ns]));
    assert_ok(&manifest, "helm get manifest");
    let manifest = String::from_utf8_lossy(&manifest.stdout);
    assert!(
        !manifest.contains("kind: PodMonitor") && !manifest.contains("kind: PrometheusRule"),
        "monitoring objects rendered without their CRDs"
    );
}

#[test]
fn one_region_values_start_only_that_regions_nodes() {
    let Some(c) = cluster() else { return };
    let _one = CLUSTER.lock().unwrap_or_else(|e| e.into_inner());
    let spec = root().join("tests/fixtures/k8s-regions.yaml");
    let i = Install::generate(&c, generate_spec(&spec), &spec);
    let region = "east";
    let values = i.chart.join(format!("values-{region}.yaml"));
    let mine: Vec<String> = i
        .network
        .nodes
        .iter()
        .filter(|n| n.region == region)
        .map(|n| n.name.clone())
        .collect();
    assert!(!mine.is_empty() && mine.len() < i.network.nodes.len());
    let repo = i.network_repo();
    i.install(&repo, Some(&values));
    // The other region's peers are dialled by public names that do not resolve here, so the
    // nodes wait for them (their entrypoint says so) instead of making blocks: "start" means
    // exactly this region's pods run and log.
    let want: BTreeSet<String> = mine.iter().map(|n| format!("{n}-0")).collect();
    wait_for(
        &format!("{want:?} Running"),
        TIMEOUT,
        Duration::from_secs(1),
        || {
            let pods = i.pods();
            let have: BTreeSet<String> = pods.iter().map(pod_name).collect();
            (have == want && pods.iter().all(|p| p["status"]["phase"] == "Running")).then_some(())
        },
    );
    let sts: BTreeSet<String> = c.json(&["get", "statefulsets", "-n", &i.ns])["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(pod_name)
        .collect();
    assert_eq!(sts, mine.iter().cloned().collect::<BTreeSet<_>>());
    for n in &mine {
        wait_for(
            &format!("{n} entrypoint log"),
            Duration::from_secs(60),
            Duration::from_secs(1),
            || {
                i.logs(n)
                    .contains("installed public and private files")
                    .then_some(())
            },
        );
    }
    // The API server accepted each public Service's pinned NodePort, and the node advertises
    // exactly that port: what the other region dials (its values dial the same numbers).
    let values = run(c
        .helm()
        .args(["get", "values", &i.ns, "-n", &i.ns, "--all", "-o", "json"]));
    assert_ok(&values, "helm get values");
    let values: Value = serde_json::from_slice(&values.stdout).unwrap();
    let domain = values["publicDomain"].as_str().unwrap().to_string();
    let mut pinned = 0;
    for n in &mine {
        let Some(port) = values["nodes"][n]["p2pNodePort"].as_u64() else {
            continue;
        };
        let svc = c.json(&["get", "service", "-n", &i.ns, &format!("{n}-public")]);
        assert_eq!(svc["spec"]["type"], "NodePort", "{n}-public");
        let published: Vec<u64> = svc["spec"]["ports"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["name"] == "p2p")
            .filter_map(|p| p["nodePort"].as_u64())
            .collect();
        assert_eq!(published, vec![port], "{n}-public publishes p2p on");
        let pod = c.kc(&["get", "pod", "-n", &i.ns, &format!("{n}-0"), "-o", "json"]);
        let advertised = format!("{n}.{region}.{domain}:{port}");
        assert!(
            pod.contains(&advertised),
            "{n} does not advertise {advertised}"
        );
        pinned += 1;
    }
    assert!(
        pinned > 0,
        "no node of {region} publishes p2p on a NodePort"
    );
    eprintln!(
        "{}: region {region} runs {mine:?} only; {pinned} NodePorts pinned and advertised",
        i.ns
    );
}
