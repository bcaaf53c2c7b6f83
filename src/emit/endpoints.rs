//! Where a user reaches a generated network, per target: each node's service ports (RPC,
//! API, gRPC, metrics, GraphQL, ...) and the monitoring UIs, at their real host address when
//! the target fixes one (compose: `host_ip` + published port; local: 127.0.0.1 + the node's
//! local port), else at the name the target gives it and how to reach that from outside.
//! Computed once here; the generated README and the `generate` summary both render it.

use std::collections::BTreeSet;

use serde::Serialize;

use super::Target;
use crate::model::{Exposure, Network, Node, Port};

/// Ports a user calls: everything but peer-to-peer traffic and loopback-only profiling.
fn called(p: &Port) -> bool {
    p.name != "p2p" && p.name != "pprof"
}

/// Ports spoken over HTTP (an address gets an `http://` scheme).
fn is_http(name: &str) -> bool {
    matches!(name, "rpc" | "api" | "graphql" | "metrics")
}

/// Ports the AWS target serves through the region's Application Load Balancer when public
/// (the same set as `cloudformation::addressing::HTTP_PORTS`).
fn behind_alb(p: &Port) -> bool {
    p.exposure == Exposure::Public && matches!(p.name.as_str(), "rpc" | "api" | "graphql")
}

fn address(host: &str, port: u16, service: &str) -> String {
    if is_http(service) {
        format!("http://{host}:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// One thing a user can call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoint {
    /// The node, or the monitoring service (`prometheus`, `grafana`, `alertmanager`).
    pub node: String,
    /// The port's name (`rpc`, `api`, `grpc`, `metrics`, ...) or `ui` for a monitoring UI.
    pub service: String,
    /// Where to call it (`http://127.0.0.1:26641`), when the target fixes an address.
    pub address: Option<String>,
    /// How to reach it when the address is only known after deployment.
    pub via: Option<String>,
}

/// Every endpoint of one target.
#[derive(Debug, Clone, Serialize)]
pub struct TargetEndpoints {
    /// The target.
    pub target: Target,
    /// Where the addresses are valid, and how to reach them from elsewhere.
    pub reach: String,
    /// Monitoring UIs first, then nodes in network order, ports in the family's order.
    pub endpoints: Vec<Endpoint>,
}

impl TargetEndpoints {
    /// The endpoints of `node`.
    pub fn of<'a>(&'a self, node: &'a str) -> impl Iterator<Item = &'a Endpoint> + 'a {
        self.endpoints.iter().filter(move |e| e.node == node)
    }
}

/// Host ports of the compose project's monitoring UIs (on 127.0.0.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorPorts {
    /// Prometheus.
    pub prometheus: u16,
    /// Grafana.
    pub grafana: u16,
    /// Alertmanager.
    pub alertmanager: u16,
}

/// The first port from `want` that `used` does not hold.
fn free_port(used: &BTreeSet<u16>, want: u16) -> u16 {
    (want..=u16::MAX)
        .find(|p| !used.contains(p))
        .unwrap_or(want)
}

/// The compose monitoring UIs' host ports: their usual numbers, moved up past any port a
/// node publishes. The compose emitter publishes exactly these.
pub fn compose_monitor_ports(net: &Network) -> MonitorPorts {
    let mut used: BTreeSet<u16> = net
        .nodes
        .iter()
        .flat_map(|n| n.ports.iter().filter_map(|p| p.compose_host))
        .collect();
    let prometheus = free_port(&used, 9090);
    used.insert(prometheus);
    let grafana = free_port(&used, 3000);
    used.insert(grafana);
    let alertmanager = free_port(&used, 9093);
    MonitorPorts {
        prometheus,
        grafana,
        alertmanager,
    }
}

/// The host the compose project publishes node ports on, as a client dials it.
fn compose_host(net: &Network) -> String {
    match net.targets.compose.as_ref().and_then(|c| c.host_ip) {
        Some(ip) if !ip.is_unspecified() => ip.to_string(),
        _ => "127.0.0.1".into(),
    }
}

fn at(node: &Node, p: &Port, host: &str, port: u16) -> Endpoint {
    Endpoint {
        node: node.name.clone(),
        service: p.name.clone(),
        address: Some(address(host, port, &p.name)),
        via: None,
    }
}

fn ui(name: &str, port: u16) -> Endpoint {
    Endpoint {
        node: name.into(),
        service: "ui".into(),
        address: Some(format!("http://127.0.0.1:{port}")),
        via: None,
    }
}

/// The endpoints of `net` on `target`.
pub fn endpoints(net: &Network, target: Target) -> TargetEndpoints {
    let mut endpoints = Vec::new();
    let reach = match target {
        Target::Compose => {
            let host = compose_host(net);
            if net.monitoring.prometheus {
                let m = compose_monitor_ports(net);
                endpoints.push(ui("prometheus", m.prometheus));
                if net.monitoring.grafana {
                    endpoints.push(ui("grafana", m.grafana));
                }
                endpoints.push(ui("alertmanager", m.alertmanager));
            } else if net.monitoring.grafana {
                endpoints.push(ui("grafana", compose_monitor_ports(net).grafana));
            }
            for n in &net.nodes {
                for p in n.ports.iter().filter(|p| called(p)) {
                    if let Some(hp) = p.compose_host {
                        endpoints.push(at(n, p, &host, hp));
                    }
                }
            }
            format!(
                "on this host once `docker compose up` runs; only public ports are published (on {}), the others stay inside the project network",
                net.targets
                    .compose
                    .as_ref()
                    .and_then(|c| c.host_ip)
                    .map_or("every interface".to_string(), |ip| ip.to_string())
            )
        }
        Target::Hosts => {
            if let Some(hosts) = &net.targets.hosts {
                for n in &net.nodes {
                    let Some((m, _)) = hosts.placement(&n.name) else {
                        continue;
                    };
                    for p in n.ports.iter().filter(|p| called(p)) {
                        let port = u16::try_from(hosts.port(&n.name, p)).unwrap_or(u16::MAX);
                        endpoints.push(at(n, p, &m.address, port));
                    }
                }
            }
            "at each node's machine once `ansible-playbook site.yml` ran; public ports are open to everyone, the others to the network's machines and `allow_from` only".into()
        }
        Target::Local => {
            for n in &net.nodes {
                for p in n.ports.iter().filter(|p| called(p)) {
                    endpoints.push(at(n, p, "127.0.0.1", p.local));
                }
            }
            "on 127.0.0.1 while `local/run.sh` runs the nodes".into()
        }
        Target::Kubernetes => {
            let (ns, domain) = net
                .targets
                .kubernetes
                .as_ref()
                .map(|k| (k.namespace.as_str(), k.cluster_domain.as_str()))
                .unwrap_or(("default", "cluster.local"));
            for n in &net.nodes {
                for p in n.ports.iter().filter(|p| called(p)) {
                    endpoints.push(at(
                        n,
                        p,
                        &format!("{}.{ns}.svc.{domain}", n.name),
                        p.container,
                    ));
                }
            }
            format!(
                "inside the cluster; from your machine: `kubectl -n {ns} port-forward svc/<node> <port>` and call 127.0.0.1:<port>; public ports also have a `<node>-public` Service (`kubectl -n {ns} get svc`)"
            )
        }
        Target::Aws => {
            for n in &net.nodes {
                for p in n.ports.iter().filter(|p| called(p)) {
                    if behind_alb(p) {
                        endpoints.push(Endpoint {
                            node: n.name.clone(),
                            service: p.name.clone(),
                            address: None,
                            via: Some(format!(
                                "load balancer of stack {}-{}, port {}",
                                net.name, n.region, p.container
                            )),
                        });
                    } else {
                        endpoints.push(at(
                            n,
                            p,
                            &format!("{}.{}.internal", n.name, net.name),
                            p.container,
                        ));
                    }
                }
            }
            let regions: Vec<&str> = net.regions.iter().map(String::as_str).collect();
            format!(
                "inside the VPC by Cloud Map name; public RPC/API through each region's load balancer, whose URLs are the stack outputs: `aws cloudformation describe-stacks --region <region> --stack-name {}-<region> --query 'Stacks[0].Outputs'` (regions: {}); metrics and alarms in CloudWatch",
                net.name,
                regions.join(", ")
            )
        }
    };
    TargetEndpoints {
        target,
        reach,
        endpoints,
    }
}

/// Every endpoint as one line per node: `rpc http://127.0.0.1:26657, api ...`.
pub fn node_line<'a>(list: impl Iterator<Item = &'a Endpoint>) -> String {
    list.map(|e| {
        let at = e.address.as_deref().or(e.via.as_deref()).unwrap_or("-");
        if e.service == "ui" {
            at.to_string()
        } else {
            format!("{} {at}", e.service)
        }
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// The same, shorter for long host names: `host: rpc 26657, api 1317`, one host group
/// after the other, then anything reached another way (`rpc via ...`).
pub fn compact_line<'a>(list: impl Iterator<Item = &'a Endpoint>) -> String {
    let mut hosts: Vec<(String, Vec<String>)> = Vec::new();
    let mut other = Vec::new();
    for e in list {
        let split = e.address.as_deref().and_then(|a| {
            let bare = a.strip_prefix("http://").unwrap_or(a);
            bare.rsplit_once(':')
                .map(|(h, p)| (h.to_string(), p.to_string()))
        });
        match split {
            Some((host, port)) => {
                let item = format!("{} {port}", e.service);
                match hosts.iter_mut().find(|(h, _)| *h == host) {
                    Some((_, items)) => items.push(item),
                    None => hosts.push((host, vec![item])),
                }
            }
            None => other.push(format!(
                "{} via {}",
                e.service,
                e.via.as_deref().unwrap_or("-")
            )),
        }
    }
    let mut parts: Vec<String> = hosts
        .into_iter()
        .map(|(h, items)| format!("{h}: {}", items.join(", ")))
        .collect();
    parts.extend(other);
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_network as net;

    const SPEC: &str = "name: t\nchain: { family: cometbft, chain_id: t-1, binary: cometbft, image: cometbft/cometbft:v0.38.26 }\ngroups:\n  - { name: validator, role: validator, count: 2 }\n  - { name: full, role: full, expose: { rpc: public } }\nmonitoring: { prometheus: true }\ntargets:\n  compose: { subnet: 172.30.0.0/24, base_port: 26600, host_ip: 127.0.0.2 }\n  local: { base_port: 42000 }\n";

    #[test]
    fn compose_lists_published_ports_at_host_ip_and_the_monitoring_uis() {
        let n = net(SPEC);
        let e = endpoints(&n, Target::Compose);
        let rpc = n.node("full-0").unwrap().port("rpc").unwrap();
        let host = rpc.compose_host.expect("public rpc is published");
        assert!(e.endpoints.contains(&Endpoint {
            node: "full-0".into(),
            service: "rpc".into(),
            address: Some(format!("http://127.0.0.2:{host}")),
            via: None,
        }));
        assert_eq!(e.of("validator-0").count(), 0, "nothing published");
        let m = compose_monitor_ports(&n);
        assert!(e.endpoints.contains(&ui("prometheus", m.prometheus)));
        assert!(e.endpoints.contains(&ui("alertmanager", m.alertmanager)));
    }

    #[test]
    fn local_lists_every_called_port_on_loopback() {
        let n = net(SPEC);
        let e = endpoints(&n, Target::Local);
        let v = n.node("validator-1").unwrap();
        let want: Vec<String> = v
            .ports
            .iter()
            .filter(|p| called(p))
            .map(|p| format!("{}:{}", p.name, p.local))
            .collect();
        let got: Vec<String> = e
            .of("validator-1")
            .map(|x| {
                format!(
                    "{}:{}",
                    x.service,
                    x.address.as_ref().unwrap().rsplit(':').next().unwrap()
                )
            })
            .collect();
        assert_eq!(got, want);
        assert!(e.endpoints.iter().all(|x| x.service != "p2p"));
    }

    #[test]
    fn compact_line_groups_by_host() {
        let e = |s: &str, a: Option<&str>, v: Option<&str>| Endpoint {
            node: "n".into(),
            service: s.into(),
            address: a.map(String::from),
            via: v.map(String::from),
        };
        let list = [
            e("rpc", None, Some("the ALB")),
            e("grpc", Some("n.x.internal:9090"), None),
            e("metrics", Some("http://n.x.internal:26660"), None),
        ];
        assert_eq!(
            compact_line(list.iter()),
            "n.x.internal: grpc 9090, metrics 26660; rpc via the ALB"
        );
    }

    #[test]
    fn monitor_ports_move_past_published_ones() {
        let used: BTreeSet<u16> = [9090, 9091].into();
        assert_eq!(free_port(&used, 9090), 9092);
        assert_eq!(free_port(&used, 3000), 3000);
    }
}
