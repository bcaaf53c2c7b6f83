//! Security groups: one per node group, with one ingress rule per (group, port, protocol,
//! source): public ports from anywhere, HTTP ports from the ALB, p2p between peers in the
//! region, ports a role dials (`model::Reach::FromRole`) from that role's groups, a SNARK coordinator's ports from its worker pool, and GraphQL from the test services of a group.

use std::collections::BTreeMap;

use serde_json::json;

use super::RegionCx;
use crate::emit::cloudformation::addressing::{alb_served, nlb_ports, served};
use crate::emit::cloudformation::builder::{ga, tags, Tpl};
use crate::emit::cloudformation::names::group_sg;
use crate::emit::cloudformation::shared::Shared;
use crate::model::{Node, Port, Protocol};

/// Ingress rules: (target group, port, protocol, source) with a reason. A source is a CIDR
/// or `sg:<logical id>` of a security group.
type Rules = BTreeMap<(String, u16, &'static str, String), String>;

/// The protocols a port is reached by.
fn protocols(p: &Port) -> &'static [&'static str] {
    if p.protocol == Protocol::TcpUdp {
        &["tcp", "udp"][..]
    } else {
        &["tcp"][..]
    }
}

/// One security group per node group and every ingress rule of the region.
pub(super) fn security_groups(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let net = cx.net;
    let vpc = shared.vpc(net);
    for g in &cx.groups {
        tpl.res(
            &group_sg(g),
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{} nodes of {}", g, net.name),
                "VpcId": vpc,
                "Tags": tags(net, &format!("{}-{g}", net.name)),
            }),
        );
    }
    let mut per_sg: BTreeMap<&str, usize> = BTreeMap::new();
    for ((g, port, proto, src), why) in &ingress_rules(cx) {
        let i = per_sg.entry(g.as_str()).or_default();
        *i += 1;
        let mut props = json!({
            "GroupId": ga(&group_sg(g), "GroupId"),
            "IpProtocol": proto,
            "FromPort": port,
            "ToPort": port,
            "Description": why,
        });
        if let Some(sg) = src.strip_prefix("sg:") {
            props["SourceSecurityGroupId"] = ga(sg, "GroupId");
        } else {
            props["CidrIp"] = json!(src);
        }
        tpl.res(
            &format!("{}Ingress{i}", group_sg(g)),
            "AWS::EC2::SecurityGroupIngress",
            props,
        );
    }
}

/// Every ingress rule of the region's nodes.
fn ingress_rules(cx: &RegionCx<'_>) -> Rules {
    let mut rules = Rules::new();
    let by_name: BTreeMap<&str, &Node> = cx.nodes.iter().map(|n| (n.name.as_str(), *n)).collect();
    for n in &cx.nodes {
        public_rules(cx, n, &mut rules);
        peer_rules(n, &by_name, &mut rules);
        role_rules(cx, n, &mut rules);
        coordinator_rules(cx, n, &mut rules);
        test_service_rules(cx, n, &mut rules);
    }
    rules
}

/// Public ports: from anywhere (Elastic IP / NLB) or from the ALB (HTTP).
fn public_rules(cx: &RegionCx<'_>, n: &Node, rules: &mut Rules) {
    for p in nlb_ports(n) {
        for proto in protocols(p) {
            rules.insert(
                (n.group.clone(), p.container, proto, "0.0.0.0/0".into()),
                if cx.ec2 {
                    format!("public {} on the node's Elastic IP", p.name)
                } else {
                    format!("public {} through the node's network load balancer", p.name)
                },
            );
        }
    }
    for p in alb_served(n) {
        rules.insert(
            (
                n.group.clone(),
                p.container,
                "tcp",
                "sg:AlbSecurityGroup".into(),
            ),
            format!("{} from the application load balancer", p.name),
        );
    }
}

/// p2p both ways between peers in this region.
fn peer_rules(n: &Node, by_name: &BTreeMap<&str, &Node>, rules: &mut Rules) {
    let peers = n
        .peers
        .persistent
        .iter()
        .chain(&n.peers.seeds)
        .chain(&n.peers.unconditional);
    for peer in peers.filter_map(|p| by_name.get(p.as_str())) {
        for (dst, src) in [(n, *peer), (*peer, n)] {
            for p in dst.peer_ports() {
                for proto in protocols(p) {
                    rules.insert(
                        (
                            dst.group.clone(),
                            p.container,
                            proto,
                            format!("sg:{}", group_sg(&src.group)),
                        ),
                        format!("{} from {} peers", p.name, src.group),
                    );
                }
            }
        }
    }
}

/// Ports every node of a role dials (`Reach::FromRole`: a Komodo notary's calls to
/// assetchain RPC and to other notaries' dPoW port), from each such group in the region.
fn role_rules(cx: &RegionCx<'_>, n: &Node, rules: &mut Rules) {
    for src in &cx.nodes {
        for p in n.ports_dialled_by(src.role) {
            if src.name == n.name {
                continue;
            }
            for proto in protocols(p) {
                rules.insert(
                    (
                        n.group.clone(),
                        p.container,
                        proto,
                        format!("sg:{}", group_sg(&src.group)),
                    ),
                    format!("{} from {} nodes", p.name, src.group),
                );
            }
        }
    }
}

/// SNARK workers reach their coordinator's internal ports.
/// A test service reaches the GraphQL port of the group it tests (in its region).
fn test_service_rules(cx: &RegionCx<'_>, n: &Node, rules: &mut Rules) {
    if let Some(tested) = cx.net.group(&n.group).and_then(|g| g.tests.clone()) {
        for t in cx.nodes.iter().filter(|t| t.group == tested) {
            if let Some(p) = t.port("graphql") {
                rules.insert(
                    (
                        t.group.clone(),
                        p.container,
                        "tcp",
                        format!("sg:{}", group_sg(&n.group)),
                    ),
                    format!("graphql from the {} test service", n.group),
                );
            }
        }
    }
}

fn coordinator_rules(cx: &RegionCx<'_>, n: &Node, rules: &mut Rules) {
    if let Some(coord) = cx.net.group(&n.group).and_then(|g| g.coordinator.clone()) {
        for c in cx.nodes.iter().filter(|c| c.group == coord) {
            for p in served(c).filter(|p| p.name != "p2p" && p.name != "metrics") {
                rules.insert(
                    (
                        c.group.clone(),
                        p.container,
                        "tcp",
                        format!("sg:{}", group_sg(&n.group)),
                    ),
                    format!("{} from the {} pool", p.name, n.group),
                );
            }
        }
    }
}
