//! Helm target: the chart `helm/<network>/` that runs every node from the one generated image,
//! plus ready-to-apply Kubernetes Secret manifests (secrets tree only, `kubernetes/`).
//!
//! Decisions (also in the chart's values.yaml and NOTES):
//! - One StatefulSet per *node* (replicas 1, named after the node), not one per group: a
//!   StatefulSet shares one pod template, so a per-group set could only hand each pod its own
//!   key by mounting every sibling's key too. Per node, each pod mounts only its own Secret
//!   (`nodes.<node>.existingSecret`). `CHAINFLEET_NODE` names the node (the pod is `<node>-0`).
//!   Each group still gets one headless Service (`<group>`, `publishNotReadyAddresses`), a
//!   PodDisruptionBudget and, for validators behind sentries, NetworkPolicies.
//! - Peers are written out at generation time. A peer running in the same release is dialed at
//!   its pod DNS name `<peer>-0.<group>.<namespace>.svc.<clusterDomain>`; a peer that another
//!   cluster runs (multi-region: `values-<region>.yaml` disables it here) is dialed at its public
//!   host: `nodes.<peer>.publicHost`, else `<peer>.<region>.<publicDomain>`. The Helm helpers
//!   decide at install time, so one chart serves a single cluster and every region. Validators
//!   behind sentries are never exposed: another cluster's hidden validator is left out of peer
//!   lists (it dials its sentries itself), and their NetworkPolicy lets them reach remote
//!   sentries' p2p port only in `networkPolicy.remoteSentryCIDRs`.
//! - The node home is the data volume at `/var/lib/chainfleet`, so the pod runs as a non-root
//!   user with a read-only root filesystem whatever home the base image assumes.

use std::collections::BTreeSet;

use base64::Engine;
use serde::Serialize;
use serde_json::{json, Value};

use super::{templates, Context, FileEntry, FileSet, Output};
use crate::chain::{family, process, Healthy, PeerHost, TargetRuntime, Text};
use crate::model::{Exposure, Network, Node, Protocol, Role};

/// Home of every node inside its pod: the mount point of its data volume.
pub const POD_HOME: &str = "/var/lib/chainfleet";
/// Where a pod's own Secret is mounted (`CHAINFLEET_SECRETS_DIR`).
pub const SECRETS_DIR: &str = "/run/secrets/chainfleet";
/// The chart's version; the image tag (appVersion) carries what changes.
pub const CHART_VERSION: &str = "0.1.0";

/// Name of the Kubernetes Secret holding `node`'s keys.
pub fn secret_name(net: &Network, node: &str) -> String {
    format!("{}-{}-keys", net.name, node)
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A YAML double-quoted scalar for a value at `indent` columns; long lists are broken after
/// each top-level comma (escaped line break: nothing inserted) and at each top-level space
/// (folded line break: one space), outside Helm actions, so lines stay short for review.
fn q_wrapped(s: &str, indent: usize) -> String {
    let quoted = q(s);
    if quoted.len() <= 100 {
        return quoted;
    }
    let pad = " ".repeat(indent);
    let mut out = String::new();
    let mut depth = 0usize;
    let chars: Vec<char> = quoted.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '{' && next == Some('{') {
            depth += 1;
            out.push_str("{{");
            i += 2;
            continue;
        }
        if c == '}' && next == Some('}') {
            depth = depth.saturating_sub(1);
            out.push_str("}}");
            i += 2;
            continue;
        }
        let last = i + 2 >= chars.len();
        match c {
            ',' if depth == 0 && !last => out.push_str(&format!(",\\\n{pad}")),
            ' ' if depth == 0 && !last => out.push_str(&format!("\n{pad}")),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// A Go-template raw string literal (backticks survive JSON/YAML quoting untouched).
fn raw(s: &str) -> String {
    format!("`{s}`")
}

/// True for validators behind sentries: never exposed, dialed only where the release runs them.
fn is_hidden(net: &Network, node: &Node) -> bool {
    net.group(&node.group).is_some_and(|g| g.behind.is_some())
}

/// Nodes some node in another region dials: their p2p must be reachable from outside. Hidden
/// validators are not: they dial their remote sentries themselves (links are two-way).
fn dialed_across_regions(net: &Network) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for n in &net.nodes {
        for p in n.peers.persistent.iter().chain(&n.peers.seeds) {
            if net
                .node(p)
                .is_some_and(|peer| peer.region != n.region && !is_hidden(net, peer))
            {
                out.insert(p.clone());
            }
        }
    }
    out
}

/// The Helm condition under which this release runs `peer`.
fn runs_here(peer: &Node) -> String {
    format!("(index $.Values.nodes {}).enabled", raw(&peer.name))
}

/// How the chart runs nodes: one pod per node with its home on the data volume, peers dialled
/// at names the chart's helpers choose at install time.
pub struct HelmRuntime {
    /// Nodes some node in another region dials (their p2p must be public).
    across: BTreeSet<String>,
}

impl HelmRuntime {
    /// The runtime of `net`'s chart.
    pub fn new(net: &Network) -> HelmRuntime {
        HelmRuntime {
            across: dialed_across_regions(net),
        }
    }
}

impl TargetRuntime for HelmRuntime {
    fn home(&self, _net: &Network) -> Text {
        Text::lit(POD_HOME)
    }
    /// A peer running in this release is dialled at its pod name, another cluster's at its
    /// public host; another cluster's hidden validator only when this release runs it (it
    /// has no public address; CometBFT skips empty list entries).
    fn peer_host(&self, net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        let host = Text::expr(format!(
            "{{{{ include {} (list $ {} {} {}) }}}}",
            raw("chainfleet.peerHost"),
            raw(&peer.name),
            raw(&peer.group),
            raw(&peer.region)
        ));
        if is_hidden(net, peer) {
            PeerHost::When {
                condition: runs_here(peer),
                host,
            }
        } else {
            PeerHost::At(host)
        }
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        let p = node.port("p2p")?;
        let public = p.exposure == Exposure::Public || self.across.contains(&node.name);
        Some(
            Text::expr(format!(
                "{{{{ include {} (list $ {} {} {} {}) }}}}",
                raw("chainfleet.externalHost"),
                raw(&node.name),
                raw(&node.group),
                raw(&node.region),
                if public { "true" } else { "false" },
            ))
            .then(format!(":{}", p.container)),
        )
    }
    fn names_home(&self) -> bool {
        true
    }
    fn dials_by_name(&self) -> bool {
        true
    }
    fn secrets_dir(&self) -> Option<&'static str> {
        Some(SECRETS_DIR)
    }
}

/// Literal text for a Helm template: `{` is spelled as an action where Go's template engine
/// could otherwise read `{{`, so spec values reach the pod verbatim.
fn helm_literal(s: &str) -> String {
    if s.contains("{{") || s.ends_with('{') {
        s.replace('{', "{{`{`}}")
    } else {
        s.to_string()
    }
}

/// A process text as Helm template text (before YAML quoting).
fn helm_text(t: &Text) -> String {
    t.render(&helm_literal, &|e| e.to_string(), &|c, body| {
        format!("{{{{ if {c} }}}}{body}{{{{ end }}}}")
    })
}

#[derive(Serialize)]
struct PortView {
    name: String,
    port: u16,
    protocols: Vec<&'static str>,
}

fn port_views<'a>(ports: impl Iterator<Item = &'a crate::model::Port>) -> Vec<PortView> {
    ports
        .map(|p| PortView {
            name: p.name.clone(),
            port: p.container,
            protocols: match p.protocol {
                Protocol::Tcp => vec!["TCP"],
                Protocol::TcpUdp => vec!["TCP", "UDP"],
            },
        })
        .collect()
}

#[derive(Serialize)]
struct Skip {
    id: &'static str,
    reason: String,
}

#[derive(Serialize)]
struct NodeView {
    name: String,
    key: String,
    group: String,
    role: String,
    region: String,
    /// Pod ports (all but loopback-only pprof).
    ports: Vec<PortView>,
    /// Ports of the public Service.
    public_ports: Vec<PortView>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    secret: Option<String>,
    secret_keys: Vec<String>,
    /// `cometbft` (exec: /health and not catching up), `rpc` (exec: the image's health
    /// check with `probe_command`), `tcp`, or `none`.
    probe: &'static str,
    probe_port: u16,
    /// The health check command of an `rpc` probe, quoted.
    probe_command: Vec<String>,
    rpc_port: Option<u16>,
    skips: Vec<Skip>,
}

#[derive(Serialize)]
struct GroupView {
    name: String,
    role: String,
    nodes: Vec<String>,
    ports: Vec<PortView>,
    cpu: String,
    memory: String,
    storage: String,
    max_unavailable: u32,
    /// Validators behind sentries: p2p only with this sentry group.
    behind: Option<String>,
    /// The sentry group's nodes (Go raw strings), for remote-sentry egress.
    sentries: Vec<String>,
    p2p: Option<PortView>,
    /// Ports other than p2p the group's pods listen on.
    other_ports: Vec<PortView>,
}

#[derive(Serialize)]
struct RegionView {
    name: String,
    nodes: Vec<(String, bool)>,
}

#[derive(Serialize)]
struct View {
    network: String,
    chain_id: String,
    family: String,
    binary: String,
    base_image: String,
    namespace: String,
    chart_version: &'static str,
    tag: String,
    repository: String,
    storage_class: String,
    service_type: String,
    cluster_domain: String,
    home: &'static str,
    secrets_dir: &'static str,
    groups: Vec<GroupView>,
    nodes: Vec<NodeView>,
    regions: Vec<RegionView>,
    multi_region: bool,
    monitoring: bool,
    memory_percent: u8,
    no_block_minutes: u32,
    min_peers: u32,
    alert_labels: Vec<(String, String)>,
    cometbft_metrics: bool,
    mina_metrics: bool,
    rpc_node: Option<String>,
    rpc_port: Option<u16>,
}

fn cpu(millis: u32) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

fn memory(mib: u64) -> String {
    if mib % 1024 == 0 {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

fn role_name(r: Role) -> String {
    crate::spec::check::role_name(r)
}

/// Render the chart and the Secret manifests.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<Output> {
    let net = cx.net;
    let Some(k8s) = &net.targets.kubernetes else {
        return Ok(Output::default());
    };
    // Groups name headless Services and nodes name ClusterIP Services: they must not meet.
    if let Some(g) = net.groups.iter().find(|g| net.node(&g.name).is_some()) {
        anyhow::bail!(
            "group `{}` has the name of a node; the Helm chart names a Service after each, so rename the group",
            g.name
        );
    }

    let runtime = HelmRuntime::new(net);

    let mut nodes = Vec::new();
    for node in &net.nodes {
        let proc = process(net, cx.artifacts, node, &runtime);
        let mut args = vec![q(&helm_text(&proc.program))];
        args.extend(proc.args.iter().map(|a| q_wrapped(&helm_text(a), 14)));
        let secret = (!proc.secret_files.is_empty()).then(|| secret_name(net, &node.name));
        let public_p2p = node
            .port("p2p")
            .is_some_and(|p| p.exposure == Exposure::Public || runtime.across.contains(&node.name));

        let pod_ports: Vec<&crate::model::Port> = node.served_ports().collect();
        let mut public: Vec<&crate::model::Port> = pod_ports
            .iter()
            .copied()
            .filter(|p| p.exposure == Exposure::Public || (p.name == "p2p" && public_p2p))
            .collect();
        public.dedup_by(|a, b| a.name == b.name);

        let rpc = node.port("rpc").map(|p| p.container);
        let (probe, probe_port) = match &proc.probe {
            Some(p) if p.healthy == Healthy::CometbftSynced => ("cometbft", p.port),
            Some(p) if p.healthy == Healthy::RpcAnswers => ("rpc", p.port),
            Some(p) => ("tcp", p.port),
            None => ("none", 0),
        };
        let mut skips = vec![
            Skip {
                id: "CKV_K8S_14",
                reason: "the image is built per network from the generated folder; its tag is a content digest set in values".into(),
            },
            Skip {
                id: "CKV_K8S_43",
                reason: "the image digest exists only after the user builds and pushes it; the content-derived tag pins it".into(),
            },
            Skip {
                id: "CKV_K8S_15",
                reason: "the tag is derived from the image content and never reused, so IfNotPresent is safe".into(),
            },
        ];
        if probe == "none" {
            for id in ["CKV_K8S_8", "CKV_K8S_9"] {
                skips.push(Skip {
                    id,
                    reason: format!(
                        "a {} serves no RPC or p2p port to probe; the process exiting restarts the pod",
                        role_name(node.role)
                    ),
                });
            }
        }
        nodes.push(NodeView {
            name: node.name.clone(),
            key: raw(&node.name),
            group: node.group.clone(),
            role: role_name(node.role),
            region: node.region.clone(),
            ports: port_views(pod_ports.iter().copied()),
            public_ports: port_views(public.into_iter()),
            args,
            env: proc
                .env
                .iter()
                .map(|(k, v)| (k.clone(), q_wrapped(&helm_text(v), 16)))
                .collect(),
            secret,
            secret_keys: proc.secret_files.iter().map(|s| s.key.clone()).collect(),
            probe,
            probe_port,
            probe_command: proc.probe.as_ref().map_or_else(Vec::new, |p| {
                std::iter::once(crate::emit::docker::HEALTHCHECK.to_string())
                    .chain(p.check_args())
                    .map(|a| q(&a))
                    .collect()
            }),
            rpc_port: rpc,
            skips,
        });
    }

    let groups = net
        .groups
        .iter()
        .map(|g| {
            let first = g.nodes.first().and_then(|n| net.node(n));
            let ports: Vec<&crate::model::Port> = first
                .map(|n| n.served_ports().collect())
                .unwrap_or_default();
            let validators = matches!(g.role, Role::Validator | Role::BlockProducer);
            GroupView {
                name: g.name.clone(),
                role: role_name(g.role),
                nodes: g.nodes.iter().map(|n| raw(n)).collect(),
                p2p: port_views(ports.iter().copied().filter(|p| p.name == "p2p")).pop(),
                other_ports: port_views(ports.iter().copied().filter(|p| p.name != "p2p")),
                ports: port_views(ports.into_iter()),
                cpu: cpu(g.resources.cpu_millis),
                memory: memory(g.resources.memory_mib),
                storage: format!("{}Gi", g.resources.storage_gib),
                // Validators: keep more than 2/3 of the group's voting power up.
                max_unavailable: if validators {
                    (g.count.saturating_sub(1)) / 3
                } else {
                    1
                },
                behind: g.behind.clone(),
                sentries: g
                    .behind
                    .as_deref()
                    .and_then(|b| net.group(b))
                    .map(|b| b.nodes.iter().map(|n| raw(n)).collect())
                    .unwrap_or_default(),
            }
        })
        .collect();

    let regions: Vec<RegionView> = net
        .regions
        .iter()
        .filter(|r| net.nodes_in(r).next().is_some())
        .map(|r| RegionView {
            name: r.clone(),
            nodes: net
                .nodes
                .iter()
                .map(|n| (n.name.clone(), n.region == *r))
                .collect(),
        })
        .collect();
    let rpc_node = net
        .nodes
        .iter()
        .find(|n| {
            n.port("rpc")
                .is_some_and(|p| p.exposure == Exposure::Public)
        })
        .or_else(|| net.nodes.iter().find(|n| n.port("rpc").is_some()));

    let dialect = family(net.chain.family).metrics().map(|m| m.dialect);
    let view = View {
        network: net.name.clone(),
        chain_id: net.chain.chain_id.clone(),
        family: crate::spec::check::family_name(net.chain.family),
        binary: net.chain.binary.clone(),
        base_image: net.chain.image.clone(),
        namespace: k8s.namespace.clone(),
        chart_version: CHART_VERSION,
        // The same content-addressed tag every image-based target uses.
        tag: super::docker::image_tag(cx)?,
        repository: format!("chainfleet/{}", net.name),
        storage_class: k8s.storage_class.clone().unwrap_or_default(),
        service_type: match k8s.service_type {
            crate::model::ServiceType::LoadBalancer => "LoadBalancer".into(),
            crate::model::ServiceType::NodePort => "NodePort".into(),
        },
        cluster_domain: k8s.cluster_domain.clone(),
        home: POD_HOME,
        secrets_dir: SECRETS_DIR,
        multi_region: regions.len() > 1,
        regions,
        groups,
        nodes,
        monitoring: net.monitoring.prometheus,
        memory_percent: net.monitoring.memory_percent,
        no_block_minutes: net.monitoring.no_block_minutes,
        min_peers: net.monitoring.min_peers,
        alert_labels: net
            .monitoring
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), q(v)))
            .collect(),
        cometbft_metrics: dialect == Some("cometbft"),
        mina_metrics: dialect == Some("mina"),
        rpc_node: rpc_node.map(|n| n.name.clone()),
        rpc_port: rpc_node.and_then(|n| n.port("rpc")).map(|p| p.container),
    };

    let dir = format!("helm/{}", net.name);
    let mut public = FileSet::new();
    let mut put = |path: String, text: String| {
        public.insert(format!("{dir}/{path}"), FileEntry::text(text));
    };
    for (file, tmpl) in [
        ("Chart.yaml", "helm/Chart.yaml.j2"),
        ("README.md", "helm/README.md.j2"),
        ("values.yaml", "helm/values.yaml.j2"),
        (".helmignore", "helm/helmignore.j2"),
        ("templates/_helpers.tpl", "helm/_helpers.tpl.j2"),
        ("templates/NOTES.txt", "helm/NOTES.txt.j2"),
        ("templates/groups.yaml", "helm/groups.yaml.j2"),
        ("templates/monitoring.yaml", "helm/monitoring.yaml.j2"),
    ] {
        put(file.into(), templates::render(tmpl, &view)?);
    }
    for node in &view.nodes {
        let text = templates::render("helm/node.yaml.j2", json!({ "v": &view, "n": node }))?;
        put(format!("templates/node-{}.yaml", node.name), text);
    }
    if view.multi_region {
        for r in &view.regions {
            let text =
                templates::render("helm/values-region.yaml.j2", json!({ "v": &view, "r": r }))?;
            put(format!("values-{}.yaml", r.name), text);
        }
    }
    let mut schema = serde_json::to_string_pretty(&values_schema(&view))?;
    schema.push('\n');
    put("values.schema.json".into(), schema);

    // Secret manifests: key material from the secrets tree, written to the secrets tree only.
    let mut secrets = FileSet::new();
    for node in &net.nodes {
        let Some(arts) = cx.artifacts.nodes.get(&node.name) else {
            continue;
        };
        if arts.secret_files.is_empty() {
            continue;
        }
        let mut data = Vec::new();
        // Files the operator supplies (e.g. Mina staking keys) are not generated, so they
        // are named in the manifest for the operator to add, never invented.
        let mut operator = Vec::new();
        for f in &arts.secret_files {
            match cx.artifacts.secrets.get(&f.source) {
                Some(e) => data.push((
                    f.key.clone(),
                    base64::engine::general_purpose::STANDARD.encode(&e.bytes),
                )),
                None => operator.push((f.key.clone(), f.source.clone())),
            }
        }
        let text = templates::render(
            "helm/secret.yaml.j2",
            json!({
                "name": secret_name(net, &node.name),
                "namespace": k8s.namespace,
                "network": net.name,
                "node": node.name,
                "data": data,
                "operator": operator,
            }),
        )?;
        secrets.insert(
            format!("kubernetes/{}-secret.yaml", node.name),
            FileEntry::text(text),
        );
    }
    Ok(Output { public, secrets })
}

/// A DNS name, or empty.
const DNS_OR_EMPTY: &str = "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)?$";

/// A closed object schema.
fn obj(props: Value, required: &[&str]) -> Value {
    json!({
        "type": "object",
        "additionalProperties": false,
        "properties": props,
        "required": required,
    })
}

fn boolean(desc: &str) -> Value {
    json!({ "type": "boolean", "description": desc })
}

fn quantity(desc: &str) -> Value {
    json!({
        "description": desc,
        "anyOf": [
            { "type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?(m|k|Ki|M|Mi|G|Gi|T|Ti)?$" },
            { "type": "number", "minimum": 0 }
        ]
    })
}

/// A free-form Kubernetes object the chart passes through (securityContext and the like).
fn passthrough(desc: &str) -> Value {
    json!({ "type": "object", "description": desc })
}

/// The strict schema of values.yaml: every key known, every node and group by name.
fn values_schema(v: &View) -> Value {
    let resources = obj(
        json!({
            "requests": obj(json!({ "cpu": quantity("CPU request"), "memory": quantity("memory request") }), &["cpu", "memory"]),
            "limits": obj(json!({ "cpu": quantity("CPU limit"), "memory": quantity("memory limit") }), &["cpu", "memory"]),
        }),
        &["requests", "limits"],
    );
    let mut groups = serde_json::Map::new();
    for g in &v.groups {
        groups.insert(
            g.name.clone(),
            obj(
                json!({
                    "resources": resources.clone(),
                    "storage": quantity("size of each node's data volume"),
                    "maxUnavailable": { "type": "integer", "minimum": 0, "description": "PodDisruptionBudget maxUnavailable" },
                }),
                &["resources", "storage", "maxUnavailable"],
            ),
        );
    }
    let names: Vec<&str> = v.groups.iter().map(|g| g.name.as_str()).collect();
    let mut nodes = serde_json::Map::new();
    for n in &v.nodes {
        let mut props = json!({
            "enabled": boolean("run this node in this release (false: another cluster runs it)"),
            "publicHost": {
                "type": "string",
                "description": "DNS name other clusters reach this node's public ports at (empty: <node>.<region>.<publicDomain>)",
                "pattern": DNS_OR_EMPTY,
            },
        });
        let mut req = vec!["enabled", "publicHost"];
        if n.secret.is_some() {
            props["existingSecret"] = json!({ "type": "string", "minLength": 1, "pattern": "^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", "description": "name of the Secret holding this node's keys" });
            req.push("existingSecret");
        }
        nodes.insert(n.name.clone(), obj(props, &req));
    }
    let node_names: Vec<&str> = v.nodes.iter().map(|n| n.name.as_str()).collect();
    let probe = obj(
        json!({
            "enabled": boolean("add the probe"),
            "initialDelaySeconds": { "type": "integer", "minimum": 0 },
            "periodSeconds": { "type": "integer", "minimum": 1 },
            "timeoutSeconds": { "type": "integer", "minimum": 1 },
            "failureThreshold": { "type": "integer", "minimum": 1 },
        }),
        &[
            "enabled",
            "initialDelaySeconds",
            "periodSeconds",
            "timeoutSeconds",
            "failureThreshold",
        ],
    );
    let labels = json!({ "type": "object", "additionalProperties": { "type": "string" } });
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": format!("values of the {} chart (generated by chainfleet)", v.network),
        "type": "object",
        "additionalProperties": false,
        "required": ["image", "imagePullSecrets", "clusterDomain", "region", "publicDomain", "storageClass", "service", "externalDNS", "podSecurityContext", "securityContext", "probes", "networkPolicy", "podDisruptionBudget", "monitoring", "groups", "nodes"],
        "properties": {
            "global": { "type": "object", "description": "Helm's global values (unused)" },
            "image": obj(json!({
                "repository": { "type": "string", "minLength": 1 },
                "tag": { "type": "string", "minLength": 1 },
                "pullPolicy": { "enum": ["Always", "IfNotPresent", "Never"] },
            }), &["repository", "tag", "pullPolicy"]),
            "imagePullSecrets": { "type": "array", "items": obj(json!({ "name": { "type": "string", "minLength": 1 } }), &["name"]) },
            "clusterDomain": { "type": "string", "minLength": 1 },
            "region": { "type": "string", "description": "the region this cluster runs (empty: every node in one cluster)" },
            "publicDomain": { "type": "string", "pattern": DNS_OR_EMPTY },
            "storageClass": { "type": "string" },
            "service": obj(json!({
                "type": { "enum": ["LoadBalancer", "NodePort"] },
                "annotations": labels.clone(),
            }), &["type", "annotations"]),
            "externalDNS": obj(json!({ "enabled": boolean("annotate public Services with external-dns host names") }), &["enabled"]),
            "podSecurityContext": passthrough("pod securityContext"),
            "securityContext": passthrough("container securityContext"),
            "probes": obj(json!({
                "readiness": probe.clone(),
                "liveness": probe,
            }), &["readiness", "liveness"]),
            "networkPolicy": obj(json!({
                "enabled": boolean("one NetworkPolicy per group; validators behind sentries talk p2p only to them"),
                "remoteSentryCIDRs": {
                    "type": "array",
                    "description": "where sentries other clusters run may be (validators dial their p2p port there)",
                    "items": { "type": "string", "pattern": "^[0-9a-fA-F.:]+/[0-9]{1,3}$" },
                },
            }), &["enabled", "remoteSentryCIDRs"]),
            "podDisruptionBudget": obj(json!({ "enabled": boolean("one PodDisruptionBudget per group") }), &["enabled"]),
            "monitoring": obj(json!({
                "enabled": boolean("PodMonitor and PrometheusRule (when the Prometheus Operator CRDs exist)"),
                "interval": { "type": "string", "pattern": "^[0-9]+(ms|s|m|h)$" },
                "labels": labels.clone(),
                "memoryPercent": { "type": "integer", "minimum": 1, "maximum": 100 },
                "noBlockMinutes": { "type": "integer", "minimum": 1 },
                "minPeers": { "type": "integer", "minimum": 0 },
            }), &["enabled", "interval", "labels", "memoryPercent", "noBlockMinutes", "minPeers"]),
            "groups": {
                "type": "object",
                "additionalProperties": false,
                "properties": groups,
                "required": names,
            },
            "nodes": {
                "type": "object",
                "additionalProperties": false,
                "properties": nodes,
                "required": node_names,
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_stay_on_one_line() {
        assert_eq!(
            q_wrapped("tcp://0.0.0.0:26656", 14),
            "\"tcp://0.0.0.0:26656\""
        );
    }

    #[test]
    fn long_lists_break_outside_helm_actions_only() {
        let peer = |n: u32| format!("id{n}@{{{{ include `h` (list $ `n{n}`) }}}}:26656");
        let list = (0..4).map(peer).collect::<Vec<_>>().join(",");
        let out = q_wrapped(&list, 4);
        // Escaped line breaks after commas (YAML drops them and the indentation)...
        assert_eq!(out.matches(",\\\n    ").count(), 3, "{out}");
        // ...and nothing inside `{{ }}` moved.
        assert!(out.contains("{{ include `h` (list $ `n2`) }}"), "{out}");
        let hosts = (0..6)
            .map(|n| format!("host-{n}.svc.cluster.local"))
            .collect::<Vec<_>>()
            .join(" ");
        let out = q_wrapped(&hosts, 2);
        assert_eq!(out.matches("\n  host-").count(), 5, "{out}");
        assert!(!out.contains(" \n"), "no trailing spaces: {out}");
    }

    #[test]
    fn quantities_use_kubernetes_units() {
        assert_eq!(cpu(500), "500m");
        assert_eq!(cpu(2000), "2");
        assert_eq!(memory(1024), "1Gi");
        assert_eq!(memory(1536), "1536Mi");
    }

    #[test]
    fn spec_text_reaches_the_pod_literally() {
        assert_eq!(helm_literal("plain"), "plain");
        let t = helm_literal("{{ .Release.Name }}");
        assert_eq!(t, "{{`{`}}{{`{`}} .Release.Name }}");
        let t = Text::lit("a{").then(Text::expr("{{ include `x` . }}"));
        assert_eq!(helm_text(&t), "a{{`{`}}{{ include `x` . }}");
        let w = Text::when("c", Text::lit("b"));
        assert_eq!(helm_text(&w), "{{ if c }}b{{ end }}");
    }
}
