//! One region's stack `<region>.yaml`: parameters, ECS cluster, logs and EFS here (IAM roles
//! are per node, `node::iam`);
//! VPC (`vpc`), security groups (`security`), the RPC/API load balancer (`alb`), alerts
//! (`alerts`) and the placement of node resources inline or in nested stacks (`layout`).

mod alb;
mod alerts;
mod layout;
mod security;
mod vpc;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::addressing::{alb_served, placeholder_peers};
use super::builder::{ga, keep_on_delete, r, skip, tags, Tpl};
use super::instance::ec2_parameters;
use super::names::{alb_record, full_param, group_sg, ip_export, lid, peer_host_param};
use super::node::metrics_agent::{has_agent, metrics_log_group, AGENT_IMAGE};
use super::node::scalable;
use super::shared::Shared;
use crate::chain::Artifacts;
use crate::model::{Aws, LaunchType, Network, Node};

// Cross-region peer parameters per region stack: the checks refuse a spec over the limit
// first (`model::check`), so reaching it here is a bug.
use crate::model::check::MAX_CROSS_REGION_PEERS as MAX_PEER_PARAMS;

/// CloudWatch Logs accepts only these retention periods; round up.
pub fn retention_days(days: u32) -> u32 {
    const ALLOWED: &[u32] = &[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    ALLOWED.iter().copied().find(|&a| a >= days).unwrap_or(3653)
}

/// What every part of one region's stack needs.
struct RegionCx<'a> {
    net: &'a Network,
    artifacts: &'a Artifacts,
    aws: &'a Aws,
    region: &'a str,
    /// The region's nodes, in network order.
    nodes: Vec<&'a Node>,
    /// Groups with nodes in the region, in order of first appearance.
    groups: Vec<&'a str>,
    /// EC2 launch type (else Fargate).
    ec2: bool,
    /// Public HTTP ports on the region's ALB: port → its users (group, port name).
    alb_ports: BTreeMap<u16, Vec<(String, String)>>,
    /// Some node runs a CloudWatch metrics agent (its image parameter, log group and the
    /// task role's permission to write there).
    metrics_agents: bool,
}

impl<'a> RegionCx<'a> {
    fn new(net: &'a Network, artifacts: &'a Artifacts, region: &'a str) -> RegionCx<'a> {
        let aws = net.targets.aws.as_ref().expect("aws target");
        let nodes: Vec<&Node> = net.nodes_in(region).collect();
        let mut groups: Vec<&str> = Vec::new();
        for n in &nodes {
            if !groups.contains(&n.group.as_str()) {
                groups.push(&n.group);
            }
        }
        let mut alb_ports: BTreeMap<u16, Vec<(String, String)>> = BTreeMap::new();
        for n in &nodes {
            for p in alb_served(n) {
                let e = alb_ports.entry(p.container).or_default();
                let k = (n.group.clone(), p.name.clone());
                if !e.contains(&k) {
                    e.push(k);
                }
            }
        }
        RegionCx {
            net,
            artifacts,
            aws,
            region,
            groups,
            ec2: aws.launch_type == LaunchType::Ec2,
            alb_ports,
            metrics_agents: nodes.iter().any(|n| has_agent(net, n)),
            nodes,
        }
    }
}

/// The stack of `region` (and its nested node stacks), into `out`.
pub(super) fn region_templates(
    net: &Network,
    artifacts: &Artifacts,
    region: &str,
    out: &mut BTreeMap<String, Value>,
) -> anyhow::Result<()> {
    let cx = RegionCx::new(net, artifacts, region);
    let mut tpl = Tpl::new(format!(
        "chainfleet network {} in {region}: VPC, ECS cluster with Container Insights, {}, EFS, Cloud Map, load balancers, alarms and dashboard",
        net.name,
        if cx.ec2 {
            "one EC2 container instance and service per node"
        } else {
            "one Fargate service per node"
        }
    ));
    parameters(&cx, &mut tpl)?;
    // Network: a new VPC or an existing one.
    if let Some(cidr) = &cx.aws.vpc_cidr {
        vpc::vpc_resources(net, cidr, &mut tpl);
    } else {
        existing_vpc_parameters(&cx, &mut tpl);
    }
    let mut shared = Shared::region();
    cluster_and_logs(&cx, &mut tpl);
    security::security_groups(&cx, &mut tpl, &mut shared);
    file_system(&cx, &mut tpl, &mut shared);
    // Cloud Map namespace for peers in this region.
    tpl.res(
        "Namespace",
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        json!({
            "Name": format!("{}.internal", net.name),
            "Description": format!("Peer names of {} in this region", net.name),
            "Vpc": shared.vpc(net),
            "Tags": tags(net, &format!("{}.internal", net.name)),
        }),
    );
    // Application Load Balancer for public RPC/API.
    if !cx.alb_ports.is_empty() {
        alb::alb_resources(&cx, &mut tpl, &mut shared);
    }
    alerts::alerts(&cx, &mut tpl, &mut shared);
    layout::node_stacks(&cx, &mut tpl, &mut shared, out);
    outputs(&cx, &mut tpl);
    out.insert(format!("{region}.yaml"), tpl.build());
    Ok(())
}

/// Parameters: the image, desired counts of scalable groups, EC2 instances and the
/// addresses of cross-region peers.
fn parameters(cx: &RegionCx<'_>, tpl: &mut Tpl) -> anyhow::Result<()> {
    tpl.param(
        "Image",
        "Image",
        json!({
            "Type": "String",
            "Description": "The chainfleet image built from docker/Dockerfile of this network (registry/repository:tag or @digest)",
            "AllowedPattern": "^[a-z0-9][a-z0-9._/:@-]{0,254}$",
            "ConstraintDescription": "an image reference such as 123456789012.dkr.ecr.us-east-1.amazonaws.com/chain:1.0",
        }),
    );
    if cx.metrics_agents {
        tpl.param(
            "Image",
            "MetricsAgentImage",
            json!({
                "Type": "String",
                "Default": AGENT_IMAGE,
                "Description": "The CloudWatch agent image beside each node with metrics (publishes what the chain alarms read); a mirror of it in your registry works too",
                "AllowedPattern": "^[a-z0-9][a-z0-9._/:@-]{0,254}$",
            }),
        );
    }
    let mut scalable_groups = BTreeSet::new();
    for n in &cx.nodes {
        if scalable(n.role) {
            scalable_groups.insert(n.group.clone());
        }
    }
    for g in &scalable_groups {
        tpl.param(
            "Scaling",
            &full_param(g),
            json!({
                "Type": "Number",
                "Description": format!("Tasks per node of group {g}: 1 runs it, 0 stops it (each node owns one data directory, so never more than 1)"),
                "Default": 1, "MinValue": 0, "MaxValue": 1,
            }),
        );
    }
    if cx.ec2 {
        ec2_parameters(cx.net, &cx.groups, tpl);
    }
    peer_parameters(cx, tpl)
}

/// One `PeerHost<Node>` parameter per node in another region whose address is known only
/// after deploy; an error when there would be too many.
fn peer_parameters(cx: &RegionCx<'_>, tpl: &mut Tpl) -> anyhow::Result<()> {
    let (net, region) = (cx.net, cx.region);
    let mut peer_params: BTreeSet<String> = BTreeSet::new();
    for n in &cx.nodes {
        for p in placeholder_peers(net, n) {
            peer_params.insert(p.name.clone());
        }
    }
    if peer_params.len() > MAX_PEER_PARAMS {
        return Err(anyhow::anyhow!(
            "nodes in {region} peer with {} nodes in other regions whose public addresses are only known after deploy (one stack parameter each, at most {MAX_PEER_PARAMS}); set targets.aws.dns_zone so cross-region peers are Route 53 names known at generation time",
            peer_params.len()
        ));
    }
    for p in &peer_params {
        tpl.param(
            "Cross-region peers",
            &peer_host_param(p),
            json!({
                "Type": "String",
                "Description": format!("Public address of {p} in another region (its exported Elastic IP {}; deploy.sh fills it in a second pass)", ip_export(net, p)),
                "Default": "0.0.0.0",
                "AllowedPattern": "^[A-Za-z0-9.-]{1,253}$",
                "ConstraintDescription": "an IPv4 address or DNS name",
            }),
        );
    }
    Ok(())
}

/// Parameters naming an existing VPC and its subnets.
fn existing_vpc_parameters(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    tpl.param(
        "Network",
        "VpcId",
        json!({ "Type": "AWS::EC2::VPC::Id", "Description": "Existing VPC" }),
    );
    tpl.param("Network", "PublicSubnets", json!({ "Type": "List<AWS::EC2::Subnet::Id>", "Description": if cx.ec2 { "Two public subnets in different AZs (load balancers, instances of nodes with public p2p)" } else { "Two public subnets in different AZs (load balancers)" } }));
    tpl.param("Network", "PrivateSubnets", json!({ "Type": "List<AWS::EC2::Subnet::Id>", "Description": "Two private subnets with NAT egress in different AZs (tasks, EFS)" }));
}

/// The ECS cluster (Container Insights on) and the log group of every node.
fn cluster_and_logs(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let (net, region) = (cx.net, cx.region);
    tpl.res(
        "Cluster",
        "AWS::ECS::Cluster",
        json!({
            "ClusterName": net.name,
            "ClusterSettings": [{ "Name": "containerInsights", "Value": "enabled" }],
            "Tags": tags(net, &net.name),
        }),
    );
    let retention = retention_days(net.monitoring.log_retention_days);
    let log_skip = skip(&[(
        "CKV_AWS_158",
        "CloudWatch Logs encrypts at rest with its own keys; node logs hold no secrets (keys reach the container as environment, never in logs), so a customer managed key is not needed.",
    )]);
    let lg = tpl.res(
        "LogGroup",
        "AWS::Logs::LogGroup",
        json!({
            "LogGroupName": format!("/chainfleet/{}/{region}", net.name),
            "RetentionInDays": retention,
            "Tags": tags(net, &net.name),
        }),
    );
    lg.insert("Metadata".into(), log_skip.clone());
    if cx.metrics_agents {
        let mg = tpl.res(
            "MetricsLogGroup",
            "AWS::Logs::LogGroup",
            json!({
                "LogGroupName": metrics_log_group(net, region),
                "RetentionInDays": retention,
                "Tags": tags(net, &format!("{}-metrics", net.name)),
            }),
        );
        mg.insert("Metadata".into(), log_skip);
    }
}

/// EFS: encrypted, mount targets in the private subnets, NFS only from node groups (each
/// node mounts its own access point), TLS and an access point required by the policy.
fn file_system(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let net = cx.net;
    let efs_sg_rules: Vec<Value> = cx
        .groups
        .iter()
        .map(|g| json!({ "IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "SourceSecurityGroupId": ga(&group_sg(g), "GroupId"), "Description": format!("NFS from {g} nodes") }))
        .collect();
    tpl.res(
        "EfsSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": format!("EFS mount targets of {}", net.name),
            "VpcId": shared.vpc(net),
            "SecurityGroupIngress": efs_sg_rules,
            "Tags": tags(net, &format!("{}-efs", net.name)),
        }),
    );
    let fs = tpl.res(
        "FileSystem",
        "AWS::EFS::FileSystem",
        json!({
            "Encrypted": true,
            "PerformanceMode": "generalPurpose",
            "ThroughputMode": "elastic",
            "BackupPolicy": { "Status": "ENABLED" },
            // Without a policy EFS lets any client that reaches a mount target in. With this
            // one, a client must use TLS and an access point; each node's task role may use
            // only its own (`node::iam`), so no node can mount another's directory.
            "FileSystemPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "DenyWithoutTls",
                        "Effect": "Deny",
                        "Principal": { "AWS": "*" },
                        "Action": "*",
                        "Condition": { "Bool": { "aws:SecureTransport": "false" } },
                    },
                    {
                        "Sid": "DenyWithoutAccessPoint",
                        "Effect": "Deny",
                        "Principal": { "AWS": "*" },
                        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
                        "Condition": { "Null": { "elasticfilesystem:AccessPointArn": "true" } },
                    },
                ]
            },
            "FileSystemTags": tags(net, &format!("{}-data", net.name)),
        }),
    );
    keep_on_delete(fs, net);
    fs.insert(
        "Metadata".into(),
        skip(&[(
            "CKV_AWS_184",
            "Encrypted at rest with the AWS managed aws/elasticfilesystem key; chain data is public state, keys live in Secrets Manager.",
        )]),
    );
    for i in 0..2 {
        let subnet = shared.subnet(net, "Private", i);
        tpl.res(
            &format!("MountTarget{}", i + 1),
            "AWS::EFS::MountTarget",
            json!({ "FileSystemId": r("FileSystem"), "SubnetId": subnet, "SecurityGroups": [ga("EfsSecurityGroup", "GroupId")] }),
        );
    }
}

/// Outputs of the region: ALB name and URLs, cluster, alert topic.
fn outputs(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let (net, region) = (cx.net, cx.region);
    if !cx.alb_ports.is_empty() {
        tpl.output(
            "AlbDnsName",
            "DNS name of the RPC/API load balancer",
            ga("Alb", "DNSName"),
            Some(format!("{}-{region}-alb-dns", net.name)),
        );
        let scheme = if cx.aws.certificate_arn.is_some() {
            "https"
        } else {
            "http"
        };
        // With a zone the URLs name the ALB's record (the checks refuse a certificate without
        // one: no certificate can match the ALB's own DNS name).
        let host = match &cx.aws.dns_zone {
            Some((zone, _)) => json!(alb_record(region, zone)),
            None => ga("Alb", "DNSName"),
        };
        for (port, users) in &cx.alb_ports {
            let names: Vec<&str> = users.iter().map(|(_, p)| p.as_str()).collect();
            tpl.output(
                &format!("Url{}", lid(&names.join("-"))),
                &format!("Public {} URL", names.join("/")),
                json!({ "Fn::Join": ["", [format!("{scheme}://"), host.clone(), format!(":{port}")]] }),
                Some(format!("{}-{region}-{}-url", net.name, names.join("-"))),
            );
        }
    }
    tpl.output(
        "ClusterName",
        "ECS cluster",
        r("Cluster"),
        Some(format!("{}-{region}-cluster", net.name)),
    );
    tpl.output(
        "AlertTopicArn",
        "SNS topic receiving every alarm",
        r("AlertTopic"),
        Some(format!("{}-{region}-alerts", net.name)),
    );
}
