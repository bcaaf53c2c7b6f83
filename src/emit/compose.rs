//! The docker-compose target: `compose/docker-compose.yaml` (one service per node on a
//! static-IP network, the image of `docker.rs` built once) and, with monitoring on,
//! `compose/prometheus/`, `compose/alertmanager/` and `compose/grafana/`.
//!
//! Peers are static IPs, so nodes need no DNS wait. Start order: seeds before everyone
//! else, sentries before the validators behind them, each waiting for the other's health.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{docker, endpoints, monitoring, templates, Context, FileEntry, FileSet};
use crate::chain::{process, NodeProcess, PeerHost, Probe, TargetRuntime, Text};
use crate::model::{Network, Node, Protocol, Role};

/// A YAML double-quoted scalar (JSON string syntax) with compose's `$` interpolation
/// escaped, so values reach the container verbatim.
fn q(s: &str) -> String {
    serde_json::to_string(&s.replace('$', "$$")).expect("strings serialize")
}

#[derive(Serialize)]
struct Service {
    name: String,
    q_name: String,
    build: bool,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    ip: String,
    ports: Vec<String>,
    volume_name: String,
    volume: String,
    secrets: Vec<(String, String)>,
    healthcheck: Option<String>,
    depends_on: Vec<(String, &'static str)>,
    cpus: String,
    memory: String,
    companions: Vec<CompanionService>,
    /// A test service's own image, quoted (`None`: the network's image).
    own_image: Option<String>,
}

/// A container beside a node, in the node's network namespace (`network_mode:
/// service:<node>`), so both reach each other at 127.0.0.1 as in a pod or an ECS task.
#[derive(Serialize)]
struct CompanionService {
    name: String,
    node: String,
    image: String,
    entrypoint: Vec<String>,
    command: Vec<String>,
    environment: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
    volume_name: Option<String>,
    volume: Option<String>,
}

/// The companions of `n`: secrets as `VAR_FILE` pointing at the mounted compose secret.
fn companion_services(net: &Network, n: &Node, proc: &NodeProcess) -> Vec<CompanionService> {
    proc.companions
        .iter()
        .map(|c| {
            let name = format!("{}-{}", n.name, c.name);
            let mut environment: Vec<(String, String)> =
                c.env.iter().map(|(k, v)| (k.clone(), q(v))).collect();
            let mut secrets = Vec::new();
            for (var, key) in &c.secret_env {
                secrets.push((format!("{}-{}-{key}", net.name, n.name), key.clone()));
                environment.push((format!("{var}_FILE"), q(&format!("/run/secrets/{key}"))));
            }
            environment.sort();
            let volume_name = c.data_dir.as_ref().map(|_| format!("{name}-data"));
            CompanionService {
                volume: c
                    .data_dir
                    .as_ref()
                    .zip(volume_name.as_ref())
                    .map(|(d, v)| q(&format!("{v}:{d}"))),
                volume_name,
                node: n.name.clone(),
                image: q(&c.image),
                entrypoint: c.entrypoint.iter().map(|a| q(a)).collect(),
                command: c.args.iter().map(|a| q(a)).collect(),
                environment,
                secrets,
                name,
            }
        })
        .collect()
}

#[derive(Serialize)]
struct Monitor {
    image: &'static str,
    ip: String,
    host_port: u16,
    retention_days: u32,
}

#[derive(Serialize)]
struct Alertmanager {
    image: &'static str,
    ip: String,
    host_port: u16,
    /// (compose secret name, file name under /run/secrets)
    secrets: Vec<(String, String)>,
}

#[derive(Serialize)]
struct View {
    network: String,
    q_network: String,
    image: String,
    built_by: String,
    services: Vec<Service>,
    prometheus: Option<Monitor>,
    grafana: Option<Monitor>,
    alertmanager: Option<Alertmanager>,
    subnet: String,
    gateway: String,
    secrets: Vec<(String, String)>,
}

/// `1000` millis → `1`, `500` → `0.5`.
fn cpus(millis: u32) -> String {
    let whole = millis / 1000;
    let frac = millis % 1000;
    if frac == 0 {
        whole.to_string()
    } else {
        format!("{whole}.{}", format!("{frac:03}").trim_end_matches('0'))
    }
}

/// How compose runs nodes: containers of the one image on a static-IP network, dialling
/// each other by IP.
pub struct ComposeRuntime;

impl TargetRuntime for ComposeRuntime {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    fn peer_host(&self, _net: &Network, _from: &Node, peer: &Node) -> PeerHost {
        PeerHost::At(Text::lit(peer.compose_ip.to_string()))
    }
    fn external_address(&self, _net: &Network, node: &Node) -> Option<Text> {
        let p2p = node.port("p2p")?;
        Some(Text::lit(format!("{}:{}", node.compose_ip, p2p.container)))
    }
    /// Each container has its own static address on the project network.
    fn source_cidr(&self, _net: &Network, node: &Node) -> Option<Text> {
        Some(Text::lit(format!("{}/32", node.compose_ip)))
    }
}

/// A process text as a compose scalar: compose knows no deploy-time expressions.
fn qt(t: &Text) -> anyhow::Result<String> {
    t.literal()
        .map(|s| q(&s))
        .ok_or_else(|| anyhow::anyhow!("internal error: a compose value holds a target expression"))
}

/// The healthcheck `test` of a probe, exec form.
fn healthcheck(p: &Probe) -> String {
    let mut all = vec![q("CMD"), q(docker::HEALTHCHECK)];
    all.extend(p.check_args().iter().map(|a| q(a)));
    format!("[{}]", all.join(", "))
}

/// The compose service of node `n` (the first one builds the image); its secret files join
/// `all_secrets`.
fn node_service(
    net: &Network,
    procs: &BTreeMap<&str, NodeProcess>,
    n: &Node,
    host_ip: &str,
    secrets_root: &str,
    all_secrets: &mut Vec<(String, String)>,
    build: bool,
) -> anyhow::Result<Service> {
    let group = net
        .group(&n.group)
        .ok_or_else(|| anyhow::anyhow!("internal error: node {} has no group", n.name))?;
    let proc = &procs[n.name.as_str()];
    let mut command = vec![qt(&proc.program)?];
    for a in &proc.args {
        command.push(qt(a)?);
    }
    let mut environment = Vec::new();
    for (k, v) in &proc.env {
        environment.push((k.clone(), qt(v)?));
    }

    let mut ports = Vec::new();
    for p in &n.ports {
        if let Some(host) = p.compose_host {
            ports.push(q(&format!("{host_ip}{host}:{}/tcp", p.container)));
            if p.protocol == Protocol::TcpUdp {
                ports.push(q(&format!("{host_ip}{host}:{}/udp", p.container)));
            }
        }
    }

    let mut secrets = Vec::new();
    for s in &proc.secret_files {
        let name = format!("{}-{}-{}", net.name, n.name, s.key);
        secrets.push((name.clone(), s.key.clone()));
        all_secrets.push((name, q(&format!("{secrets_root}/{}", s.source))));
    }

    let mut deps: Vec<&Node> = Vec::new();
    if n.role != Role::Seed {
        deps.extend(net.nodes.iter().filter(|o| o.role == Role::Seed));
    }
    if group.behind.is_some() {
        // Its sentries: every node of the sentry group, or its dedicated one.
        deps.extend(n.peers.persistent.iter().filter_map(|s| net.node(s)));
    }
    deps.sort_by_key(|d| d.index);
    deps.dedup_by_key(|d| d.index);
    let depends_on = deps
        .into_iter()
        .filter(|d| d.name != n.name)
        .map(|d| {
            let cond = if procs[d.name.as_str()].probe.is_some() {
                "service_healthy"
            } else {
                "service_started"
            };
            (d.name.clone(), cond)
        })
        .collect();

    let volume_name = format!("{}-data", n.name);
    Ok(Service {
        name: n.name.clone(),
        q_name: q(&n.name),
        build,
        command,
        environment,
        ip: n.compose_ip.to_string(),
        ports,
        volume: q(&format!("{volume_name}:{}", proc.data_dir)),
        volume_name,
        secrets,
        healthcheck: proc.probe.as_ref().map(healthcheck),
        depends_on,
        cpus: cpus(group.resources.cpu_millis),
        memory: format!("{}M", group.resources.memory_mib),
        companions: companion_services(net, n, proc),
        own_image: proc.image.as_deref().map(q),
    })
}

/// Prometheus, Alertmanager and Grafana configuration, when the spec turns them on.
fn monitoring_files(net: &Network, out: &mut FileSet) -> anyhow::Result<()> {
    if net.monitoring.prometheus {
        out.insert(
            "compose/prometheus/prometheus.yml".into(),
            FileEntry::text(monitoring::prometheus_config(
                net,
                &|n, port| format!("{}:{port}", n.name),
                Some("alertmanager:9093"),
            )?),
        );
        out.insert(
            "compose/prometheus/alerts.yml".into(),
            FileEntry::text(monitoring::alert_rules(net)?),
        );
        out.insert(
            "compose/alertmanager/alertmanager.yml".into(),
            FileEntry::text(monitoring::alertmanager_config(net)),
        );
    }
    if net.monitoring.grafana {
        out.insert(
            "compose/grafana/provisioning/datasources/prometheus.yaml".into(),
            FileEntry::text(monitoring::grafana_datasource("http://prometheus:9090")),
        );
        out.insert(
            "compose/grafana/provisioning/dashboards/chainfleet.yaml".into(),
            FileEntry::text(monitoring::grafana_dashboards_provider(
                "/etc/grafana/dashboards",
            )),
        );
        out.insert(
            "compose/grafana/dashboards/chainfleet.json".into(),
            FileEntry::text(monitoring::dashboard_json(net)),
        );
    }
    Ok(())
}

/// Emit the compose project.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let net = cx.net;
    let Some(target) = &net.targets.compose else {
        anyhow::bail!("internal error: compose emitter called without targets.compose");
    };
    let image = docker::image_ref(cx)?;
    let secrets_root = format!("../{}", cx.secrets_rel.trim_end_matches('/'));
    let procs: BTreeMap<&str, NodeProcess> = net
        .nodes
        .iter()
        .map(|n| {
            (
                n.name.as_str(),
                process(net, cx.artifacts, n, &ComposeRuntime),
            )
        })
        .collect();
    let mut all_secrets = Vec::new();
    let mut services = Vec::new();
    let host_ip = target
        .host_ip
        .map(|ip| format!("{ip}:"))
        .unwrap_or_default();
    // The first node that runs the network's image builds it (test services run their own).
    let builder = net
        .nodes
        .iter()
        .find(|n| procs[n.name.as_str()].image.is_none())
        .map(|n| n.name.clone())
        .unwrap_or_default();
    for n in &net.nodes {
        services.push(node_service(
            net,
            &procs,
            n,
            &host_ip,
            &secrets_root,
            &mut all_secrets,
            n.name == builder,
        )?);
    }

    // The same numbers the README and the `generate` summary show.
    let ui_ports = endpoints::compose_monitor_ports(net);
    let prometheus = net.monitoring.prometheus.then(|| Monitor {
        image: monitoring::PROMETHEUS_IMAGE,
        ip: target.prometheus_ip.to_string(),
        host_port: ui_ports.prometheus,
        retention_days: net.monitoring.log_retention_days,
    });
    let grafana = net.monitoring.grafana.then(|| Monitor {
        image: monitoring::GRAFANA_IMAGE,
        ip: target.grafana_ip.to_string(),
        host_port: ui_ports.grafana,
        retention_days: net.monitoring.log_retention_days,
    });
    // Alertmanager runs with Prometheus; its receivers' credentials are compose secrets
    // from the secrets tree (files the operator places there), never in the project.
    let alertmanager = net.monitoring.prometheus.then(|| {
        let secrets = monitoring::alert_secret_files(net)
            .into_iter()
            .map(|(file, source)| {
                let name = format!("{}-alertmanager-{file}", net.name);
                all_secrets.push((name.clone(), q(&format!("{secrets_root}/{source}"))));
                (name, file.to_string())
            })
            .collect();
        Alertmanager {
            image: monitoring::ALERTMANAGER_IMAGE,
            ip: target.alertmanager_ip.to_string(),
            host_port: ui_ports.alertmanager,
            secrets,
        }
    });

    let view = View {
        network: net.name.clone(),
        q_network: q(&net.name),
        image: q(&image),
        built_by: builder,
        services,
        prometheus,
        grafana,
        alertmanager,
        subnet: q(&target.subnet),
        gateway: q(&target.gateway.to_string()),
        secrets: all_secrets,
    };
    let mut out = FileSet::new();
    out.insert(
        "compose/docker-compose.yaml".into(),
        FileEntry::text(templates::render("compose/docker-compose.yaml.j2", &view)?),
    );
    monitoring_files(net, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_millis_to_compose_cpus() {
        assert_eq!(cpus(1000), "1");
        assert_eq!(cpus(500), "0.5");
        assert_eq!(cpus(2250), "2.25");
        assert_eq!(cpus(1), "0.001");
    }

    #[test]
    fn quoting_escapes_interpolation() {
        assert_eq!(q("a$b"), "\"a$$b\"");
        assert_eq!(q("x\"y"), "\"x\\\"y\"");
    }
}
