//! Addressing: which ports a node serves and how (behind its own NLB, the region's ALB, or
//! only inside the VPC), how a node reaches a peer (Cloud Map name, Route 53 name, or a
//! `PeerHost<Node>` stack parameter) and which peers it can reach at all.

use std::collections::BTreeSet;

use serde_json::json;

use super::builder::r;
use super::names::{lid, peer_host_param};
use crate::chain::{PeerHost, TargetRuntime, Text};
use crate::model::{Exposure, Network, Node, Port, HTTP_PORT_NAMES};

/// True for a port served over HTTP (behind the ALB when public).
pub(super) fn is_http(name: &str) -> bool {
    HTTP_PORT_NAMES.contains(&name)
}

/// Ports a container publishes (pprof stays on loopback).
pub(super) fn served(node: &Node) -> impl Iterator<Item = &Port> {
    node.served_ports()
}

/// Public ports reached through the region's ALB (HTTP).
pub(super) fn alb_served(node: &Node) -> impl Iterator<Item = &Port> {
    served(node).filter(|p| p.exposure == Exposure::Public && is_http(&p.name))
}

/// Public ports reached through the node's own NLB (p2p and any non-HTTP public port).
pub(super) fn nlb_ports(node: &Node) -> Vec<&Port> {
    node.public_stream_ports().collect()
}

/// How ECS runs nodes: tasks of the one image, same-region peers by Cloud Map name, other
/// regions' public nodes by Route 53 name or a peer-host stack parameter.
pub struct CfnRuntime;

impl TargetRuntime for CfnRuntime {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    /// Peers in another region without public p2p cannot be dialled: they are left out, or
    /// the start-up would wait forever for a name that never resolves.
    fn peer_host(&self, net: &Network, from: &Node, peer: &Node) -> PeerHost {
        if !reachable(from, peer) {
            return PeerHost::Unreachable;
        }
        if peer.region == from.region {
            PeerHost::At(Text::lit(format!("{}.{}.internal", peer.name, net.name)))
        } else if let Some((zone, _)) = net.targets.aws.as_ref().and_then(|a| a.dns_zone.as_ref()) {
            PeerHost::At(Text::lit(format!("{}.{zone}", peer.name)))
        } else {
            PeerHost::At(Text::expr(format!("${{{}}}", peer_host_param(&peer.name))))
        }
    }
    /// A public node's Elastic IP (or its Route 53 name), known only once the stack exists.
    fn external_address(&self, net: &Network, node: &Node) -> Option<Text> {
        if nlb_ports(node).is_empty() {
            return None;
        }
        let p2p = node.port("p2p").map_or(0, |p| p.container);
        Some(
            match net.targets.aws.as_ref().and_then(|a| a.dns_zone.as_ref()) {
                Some((zone, _)) => Text::lit(format!("{}.{zone}:{p2p}", node.name)),
                None => {
                    let eip = format!("{}Eip", lid(&node.name));
                    Text::expr(json!({ "Fn::Join": [":", [r(&eip), p2p.to_string()]] }).to_string())
                }
            },
        )
    }
    fn names_home(&self) -> bool {
        true
    }
    fn spans_regions(&self) -> bool {
        true
    }
    /// Tasks and instances take addresses from the VPC (an existing VPC: the private range
    /// the load balancer rules assume too).
    fn source_cidr(&self, net: &Network, _node: &Node) -> Option<Text> {
        Some(Text::lit(vpc_cidr(net)))
    }
    fn dials_by_name(&self) -> bool {
        true
    }
}

/// The VPC's CIDR: the one chainfleet creates, or for an existing VPC the private range
/// `10.0.0.0/8` (its CIDR is not a stack input).
pub(super) fn vpc_cidr(net: &Network) -> String {
    net.targets
        .aws
        .as_ref()
        .and_then(|a| a.vpc_cidr.clone())
        .unwrap_or_else(|| "10.0.0.0/8".into())
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
