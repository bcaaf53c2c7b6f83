//! The AWS target on the resolved network: the EC2 instance type holds every group's node,
//! and a region stack stays within CloudFormation's parameter limit for peers in other
//! regions whose addresses are only known after deploy.

use std::collections::BTreeSet;

use super::{nodes_by_name, written, Checker};
use crate::model::{ec2, Aws, Exposure, LaunchType, Network};

/// Cross-region peer address parameters one region stack may take (CloudFormation allows
/// 200 parameters in all). `emit::cloudformation` uses this limit too.
pub const MAX_CROSS_REGION_PEERS: usize = 120;

/// Check the AWS target.
pub(super) fn check(c: &mut Checker<'_>, net: &Network) {
    let Some(aws) = &net.targets.aws else { return };
    instance_type(c, net, aws);
    cross_region_peers(c, net, aws);
    elastic_ip_quota(c, net, aws);
}

/// AWS's default quota of Elastic IPs per region and account ("EC2-VPC Elastic IPs").
pub const DEFAULT_ELASTIC_IP_QUOTA: usize = 5;

/// A region needing more Elastic IPs than the default quota deploys half-way: warn with the
/// count, so the operator requests the quota first.
fn elastic_ip_quota(c: &mut Checker<'_>, net: &Network, aws: &Aws) {
    // A new VPC has a NAT gateway, with its Elastic IP, in each of its two AZs.
    let nat = if aws.vpc_cidr.is_some() { 2 } else { 0 };
    for (i, region) in net.regions.iter().enumerate() {
        let public = net
            .nodes_in(region)
            .filter(|n| n.public_stream_ports().next().is_some())
            .count();
        let needed = public + nat;
        if needed > DEFAULT_ELASTIC_IP_QUOTA {
            c.warn(
                &format!("/regions/{i}"),
                format!(
                    "`{region}` needs {needed} Elastic IPs ({public} nodes with public p2p, {nat} NAT gateways); AWS's default quota is {DEFAULT_ELASTIC_IP_QUOTA} per region"
                ),
                format!("request \"EC2-VPC Elastic IPs\" (quota L-0263D0A3) of at least {needed} in Service Quotas for {region} before deploying, or expose p2p publicly on fewer nodes"),
            );
        }
    }
}

/// The EC2 instance type: only with `launch_type: ec2`, well formed, and big enough for
/// every group when its size is known. Without one, each group needs a default size.
fn instance_type(c: &mut Checker<'_>, net: &Network, aws: &Aws) {
    let ec2_launch = aws.launch_type == LaunchType::Ec2;
    let Some(ty) = &aws.instance_type else {
        if ec2_launch {
            default_sizes(c, net);
        }
        return;
    };
    let at = "/targets/aws/instance_type";
    if !ec2_launch {
        c.error(
            at,
            "`instance_type` applies only to `launch_type: ec2`",
            ty.as_str(),
            "remove `instance_type` (Fargate sizes each task from the group's resources), or set `launch_type: ec2`",
        );
        return;
    }
    if !ec2::is_instance_type(ty) {
        c.error(
            at,
            format!("`{ty}` is not an EC2 instance type"),
            ty.as_str(),
            "write family.size in lower case, e.g. `m6i.xlarge`",
        );
        return;
    }
    let Some(size) = ec2::size_of(ty) else {
        return;
    };
    for g in &net.groups {
        let res = g.resources;
        if !ec2::fits(size, res) {
            c.error(
                at,
                format!(
                    "`{ty}` ({} vCPUs, {} MiB for tasks) cannot hold one node of group `{}` ({} vCPUs, {} MiB)",
                    size.vcpus,
                    ec2::task_memory_mib(size),
                    g.name,
                    f64::from(res.cpu_millis) / 1000.0,
                    res.memory_mib
                ),
                ty.as_str(),
                format!(
                    "choose a larger type, or remove `instance_type` to size each group (`{}` for this one)",
                    ec2::default_for(res)
                ),
            );
        }
    }
}

/// Without an instance type each group gets a default one: no group may outgrow the
/// largest.
fn default_sizes(c: &mut Checker<'_>, net: &Network) {
    let largest = format!("{}.32xlarge", ec2::DEFAULT_FAMILY);
    let Some(size) = ec2::size_of(&largest) else {
        return;
    };
    for g in &net.groups {
        let res = g.resources;
        if ec2::fits(size, res) {
            continue;
        }
        let key = if ec2::task_memory_mib(size) < res.memory_mib {
            "memory"
        } else {
            "cpu"
        };
        let ptr = format!("{}/resources/{key}", g.source);
        let value = written(c, &ptr);
        c.error(
            &ptr,
            format!(
                "group `{}` needs more {key} than any {} instance has",
                g.name,
                ec2::DEFAULT_FAMILY
            ),
            value,
            format!("lower its cpu/memory, or set `targets.aws.instance_type` to a type that holds it (largest default: {largest}, {} vCPUs, {} MiB for tasks)", size.vcpus, ec2::task_memory_mib(size)),
        );
    }
}

/// Without a Route 53 zone, a node's peer in another region is reached at its Elastic IP,
/// known only after that region deploys: each such peer is one parameter of the region's
/// stack. The peers counted are the ones the CloudFormation emitter turns into parameters:
/// persistent peers and seeds in another region whose p2p port is public.
fn cross_region_peers(c: &mut Checker<'_>, net: &Network, aws: &Aws) {
    if aws.dns_zone.is_some() {
        return;
    }
    let nodes = nodes_by_name(net);
    for (i, region) in net.regions.iter().enumerate() {
        let mut peers: BTreeSet<&str> = BTreeSet::new();
        for n in net.nodes_in(region) {
            for name in n.peers.persistent.iter().chain(&n.peers.seeds) {
                let Some(peer) = nodes.get(name.as_str()) else {
                    continue;
                };
                let public_p2p = peer
                    .port("p2p")
                    .is_some_and(|p| p.exposure == Exposure::Public);
                if peer.region != n.region && public_p2p {
                    peers.insert(name);
                }
            }
        }
        if peers.len() > MAX_CROSS_REGION_PEERS {
            c.error(
                &format!("/regions/{i}"),
                format!(
                    "nodes in `{region}` peer with {} nodes in other regions whose public addresses are only known after deploy; a region stack takes at most {MAX_CROSS_REGION_PEERS} of them",
                    peers.len()
                ),
                region.as_str(),
                "set `targets.aws.dns_zone`, so peers in other regions get Route 53 names known at generation time, or expose p2p publicly on fewer nodes",
            );
        }
    }
}
