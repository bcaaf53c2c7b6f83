//! Addressing: which ports a node serves and how (behind its own NLB, the region's ALB, or
//! only inside the VPC), how a node reaches a peer (Cloud Map name, Route 53 name, or a
//! `PeerHost<Node>` stack parameter) and which peers it can reach at all.

use std::collections::BTreeSet;

use super::names::peer_host_param;
use crate::chain::Endpoint;
use crate::model::{Exposure, Network, Node, Port};

/// Ports served over HTTP behind the Application Load Balancer when public.
const HTTP_PORTS: &[&str] = &["rpc", "api", "graphql"];

/// True for a port served over HTTP (behind the ALB when public).
pub(super) fn is_http(name: &str) -> bool {
    HTTP_PORTS.contains(&name)
}

/// Ports a container publishes (pprof stays on loopback).
pub(super) fn served(node: &Node) -> impl Iterator<Item = &Port> {
    node.ports.iter().filter(|p| p.name != "pprof")
}

/// Public ports reached through the region's ALB (HTTP).
pub(super) fn alb_served(node: &Node) -> impl Iterator<Item = &Port> {
    served(node).filter(|p| p.exposure == Exposure::Public && is_http(&p.name))
}

/// Public ports reached through the node's own NLB (p2p and any non-HTTP public port).
pub(super) fn nlb_ports(node: &Node) -> Vec<&Port> {
    served(node)
        .filter(|p| p.exposure == Exposure::Public && !is_http(&p.name))
        .collect()
}

/// How a node in `from_region` reaches `peer`: host and p2p port.
pub(super) fn endpoint(net: &Network, from_region: &str, peer: &Node) -> Endpoint {
    let port = peer.port("p2p").map_or(0, |p| p.container);
    let host = if peer.region == from_region {
        format!("{}.{}.internal", peer.name, net.name)
    } else if let Some((zone, _)) = net.targets.aws.as_ref().and_then(|a| a.dns_zone.as_ref()) {
        format!("{}.{zone}", peer.name)
    } else {
        format!("${{{}}}", peer_host_param(&peer.name))
    };
    Endpoint { host, port }
}

/// Nodes in other regions whose address is a stack parameter (no DNS zone).
pub(super) fn placeholder_peers<'a>(net: &'a Network, node: &Node) -> Vec<&'a Node> {
    if net
        .targets
        .aws
        .as_ref()
        .is_some_and(|a| a.dns_zone.is_some())
    {
        return Vec::new();
    }
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for p in node.peers.persistent.iter().chain(&node.peers.seeds) {
        names.insert(p);
    }
    names
        .into_iter()
        .filter_map(|n| net.node(n))
        .filter(|p| p.region != node.region && reachable(node, p))
        .collect()
}

/// True when `from` can dial `peer`: same region (Cloud Map), or public p2p.
pub(super) fn reachable(from: &Node, peer: &Node) -> bool {
    peer.region == from.region || nlb_ports(peer).iter().any(|p| p.name == "p2p")
}
