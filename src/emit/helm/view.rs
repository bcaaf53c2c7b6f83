//! The chart's views: what every template of the chart renders from (nodes with their
//! launch rendered for Helm, groups, regions, alert rules), built once from the network.

use serde::Serialize;

use super::runtime::{helm_literal, helm_text, p2p_node_port, HelmRuntime};
use super::{q, q_wrapped, raw, secret_name, CHART_VERSION, POD_HOME, SECRETS_DIR};
use crate::chain::{family, process, Artifacts, Healthy};
use crate::emit::{monitoring, Context};
use crate::model::{Exposure, Kubernetes, Network, Node, Protocol, Role};

#[derive(Serialize)]
pub(super) struct PortView {
    pub(super) name: String,
    pub(super) port: u16,
    pub(super) protocols: Vec<&'static str>,
}

pub(super) fn port_views<'a>(ports: impl Iterator<Item = &'a crate::model::Port>) -> Vec<PortView> {
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
pub(super) struct Skip {
    pub(super) id: &'static str,
    pub(super) reason: String,
}

#[derive(Serialize)]
pub(super) struct NodeView {
    pub(super) name: String,
    pub(super) key: String,
    pub(super) group: String,
    pub(super) role: String,
    pub(super) region: String,
    /// Pod ports (all but loopback-only pprof).
    pub(super) ports: Vec<PortView>,
    /// Ports of the public Service.
    pub(super) public_ports: Vec<PortView>,
    pub(super) args: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) secret: Option<String>,
    pub(super) secret_keys: Vec<String>,
    /// `cometbft` (exec: /health and not catching up), `rpc` (exec: the image's health
    /// check with `probe_command`), `tcp`, or `none`.
    pub(super) probe: &'static str,
    pub(super) probe_port: u16,
    /// The health check command of an `rpc` probe, quoted.
    pub(super) probe_command: Vec<String>,
    pub(super) rpc_port: Option<u16>,
    pub(super) skips: Vec<Skip>,
    /// NodePort of the public p2p port (nodes other clusters may dial).
    pub(super) p2p_node_port: Option<u16>,
    /// Containers beside the node's in its pod.
    pub(super) companions: Vec<CompanionView>,
    /// A test service's own image, quoted (`None`: the network's image from values).
    pub(super) image: Option<String>,
}

/// A companion container of a node's pod (`chain::Companion`), quoted for the template.
#[derive(Serialize)]
pub(super) struct CompanionView {
    pub(super) name: &'static str,
    pub(super) image: String,
    pub(super) command: Vec<String>,
    pub(super) args: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    /// Mounts the node's Secret (its secrets reach it as files: `VAR_FILE` in `env`).
    pub(super) keys: bool,
    /// (volume name, mount path): its data volume claim.
    pub(super) data: Option<(String, String)>,
    /// (volume name, mount path): emptyDir scratch volumes.
    pub(super) scratch: Vec<(String, String)>,
    pub(super) probe_port: Option<u16>,
}

/// A list item's value at 14 columns: a script (several lines ending in a newline, first
/// line not indented, no trailing blanks) as a literal block, so it reads as written;
/// anything else double-quoted.
fn item(s: &str) -> String {
    let s = super::runtime::helm_literal(s);
    let block = s.ends_with('\n')
        && s.trim_end_matches('\n').contains('\n')
        && !s.starts_with(' ')
        && !s.lines().any(|l| l.ends_with(' '));
    if !block {
        return q(&s);
    }
    let pad = " ".repeat(14);
    let lines: Vec<String> = s
        .lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect();
    format!("|\n{}", lines.join("\n"))
}

fn companion_view(c: &crate::chain::Companion) -> CompanionView {
    let lit = |s: &str| q_wrapped(&super::runtime::helm_literal(s), 16);
    CompanionView {
        name: c.name,
        image: q(&c.image),
        command: c.entrypoint.iter().map(|a| lit(a)).collect(),
        args: c.args.iter().map(|a| item(a)).collect(),
        env: c
            .env
            .iter()
            .map(|(k, v)| (k.clone(), lit(v)))
            .chain(c.secret_env.iter().map(|(var, key)| {
                (
                    format!("{var}_FILE"),
                    q(&format!("{}/{key}", super::SECRETS_DIR)),
                )
            }))
            .collect(),
        keys: !c.secret_env.is_empty(),
        data: c
            .data_dir
            .as_ref()
            .map(|d| (format!("{}-data", c.name), d.clone())),
        scratch: c
            .scratch_dirs
            .iter()
            .enumerate()
            .map(|(i, d)| (format!("{}-scratch-{i}", c.name), d.clone()))
            .collect(),
        probe_port: c.probe_port,
    }
}

#[derive(Serialize)]
pub(super) struct GroupView {
    pub(super) name: String,
    pub(super) role: String,
    pub(super) nodes: Vec<String>,
    pub(super) ports: Vec<PortView>,
    pub(super) cpu: String,
    pub(super) memory: String,
    pub(super) storage: String,
    pub(super) max_unavailable: u32,
    /// Validators behind sentries: p2p only with this sentry group.
    pub(super) behind: Option<String>,
    /// The sentry group's nodes (Go raw strings), for remote-sentry egress.
    pub(super) sentries: Vec<String>,
    pub(super) p2p: Option<PortView>,
    /// Ports other than p2p the group's pods listen on.
    pub(super) other_ports: Vec<PortView>,
}

#[derive(Serialize)]
pub(super) struct RegionView {
    pub(super) name: String,
    pub(super) nodes: Vec<(String, bool)>,
}

#[derive(Serialize)]
pub(super) struct View {
    pub(super) network: String,
    pub(super) chain_id: String,
    pub(super) family: String,
    pub(super) binary: String,
    pub(super) base_image: String,
    pub(super) namespace: String,
    pub(super) chart_version: &'static str,
    pub(super) tag: String,
    pub(super) repository: String,
    pub(super) storage_class: String,
    pub(super) service_type: String,
    pub(super) cluster_domain: String,
    pub(super) home: &'static str,
    pub(super) secrets_dir: &'static str,
    pub(super) groups: Vec<GroupView>,
    pub(super) nodes: Vec<NodeView>,
    pub(super) regions: Vec<RegionView>,
    pub(super) multi_region: bool,
    pub(super) monitoring: bool,
    pub(super) alert_rules: Vec<monitoring::PromRule>,
    pub(super) alert_labels: Vec<(String, String)>,
    pub(super) cometbft_metrics: bool,
    pub(super) mina_metrics: bool,
    pub(super) rpc_node: Option<String>,
    pub(super) rpc_port: Option<u16>,
}

pub(super) fn cpu(millis: u32) -> String {
    if millis % 1000 == 0 {
        (millis / 1000).to_string()
    } else {
        format!("{millis}m")
    }
}

pub(super) fn memory(mib: u64) -> String {
    if mib % 1024 == 0 {
        format!("{}Gi", mib / 1024)
    } else {
        format!("{mib}Mi")
    }
}

pub(super) fn role_name(r: Role) -> String {
    crate::spec::check::role_name(r)
}

/// The chart's view of one node: its launch rendered for Helm, pod and public ports, probe,
/// Secret and the checkov skips its StatefulSet carries.
pub(super) fn node_view(
    net: &Network,
    artifacts: &Artifacts,
    runtime: &HelmRuntime,
    node: &Node,
) -> NodeView {
    let proc = process(net, artifacts, node, runtime);
    let mut args = vec![q(&helm_text(&proc.program))];
    args.extend(proc.args.iter().map(|a| q_wrapped(&helm_text(a), 14)));
    let secret = (!proc.secret_files.is_empty()).then(|| secret_name(net, &node.name));
    let public_p2p = runtime.public_p2p(node);

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
    NodeView {
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
        p2p_node_port: public_p2p.then(|| p2p_node_port(net, node)),
        companions: proc.companions.iter().map(companion_view).collect(),
        image: proc.image.as_deref().map(q),
    }
}

/// The chart's view of each group: its Service ports, sizes, disruption budget and sentries.
pub(super) fn group_views(net: &Network) -> Vec<GroupView> {
    net.groups
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
        .collect()
}

/// Which nodes each region's values file runs.
pub(super) fn region_views(net: &Network) -> Vec<RegionView> {
    net.regions
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
        .collect()
}

/// The whole chart's view: every template renders from it.
pub(super) fn chart_view(
    cx: &Context<'_>,
    k8s: &Kubernetes,
    runtime: &HelmRuntime,
) -> anyhow::Result<View> {
    let net = cx.net;
    let nodes = net
        .nodes
        .iter()
        .map(|n| node_view(net, cx.artifacts, runtime, n))
        .collect();
    let groups = group_views(net);
    let regions = region_views(net);
    let rpc_node = net
        .nodes
        .iter()
        .find(|n| {
            n.port("rpc")
                .is_some_and(|p| p.exposure == Exposure::Public)
        })
        .or_else(|| net.nodes.iter().find(|n| n.port("rpc").is_some()));

    let dialect = family(net.chain.family).metrics().map(|m| m.dialect);
    Ok(View {
        network: net.name.clone(),
        chain_id: net.chain.chain_id.clone(),
        family: crate::spec::check::family_name(net.chain.family),
        binary: net.chain.binary.clone(),
        base_image: net.chain.image.clone(),
        namespace: k8s.namespace.clone(),
        chart_version: CHART_VERSION,
        // The same content-addressed tag every image-based target uses.
        tag: crate::emit::docker::image_tag(cx)?,
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
        alert_rules: monitoring::prometheus_rules(
            net,
            &monitoring::PromView {
                nodes: "namespace=\"{{ .Release.Namespace }}\", node!=\"\"",
                containers: Some("namespace=\"{{ .Release.Namespace }}\", container=\"node\""),
            },
        )
        .into_iter()
        // Summaries carry Prometheus template references, spelled so Helm leaves them.
        .map(|r| monitoring::PromRule {
            summary: helm_literal(&q(&r.summary)),
            // One operand per line (PromQL ignores the breaks): short lines for yamllint.
            expr: r
                .expr
                .replace(" / ", "\n  / ")
                .replace(" - max", "\n  - max")
                .replace(" or ", "\nor ")
                .replace(" and ", "\nand "),
            ..r
        })
        .collect(),
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
    })
}
