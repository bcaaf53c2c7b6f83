//! A node's public ingress: its Elastic IP (on its own NLB on Fargate, on its own interface
//! on EC2) with target groups and listeners per public port, its Route 53 record or exported
//! address, and its links to the region ALB's target groups for public HTTP ports.

use serde_json::{json, Value};

use super::NodeCx;
use crate::emit::cloudformation::addressing::alb_served;
use crate::emit::cloudformation::builder::{ga, keep_on_delete, r, skip, tags, Tpl};
use crate::emit::cloudformation::names::{alb_listener, alb_tg, ip_export, lid};
use crate::emit::cloudformation::shared::Shared;
use crate::model::{Port, Protocol};

/// What the node's task and service need from its public ingress.
#[derive(Default)]
pub(super) struct PublicIngress {
    /// The service's `LoadBalancers` entries.
    pub(super) lb_links: Vec<Value>,
    /// Listeners the service waits for.
    pub(super) depends: Vec<Value>,
}

/// Add the node's public ingress resources to `tpl`.
pub(super) fn public_ingress(cx: &NodeCx<'_>, tpl: &mut Tpl, shared: &mut Shared) -> PublicIngress {
    let mut ingress = PublicIngress::default();
    if !cx.nlb.is_empty() {
        elastic_ip(cx, tpl);
        if !cx.ec2 {
            network_load_balancer(cx, tpl, shared, &mut ingress);
        }
        public_address(cx, tpl);
    }
    // Public HTTP ports: the region's ALB target groups.
    for p in alb_served(cx.node) {
        ingress.lb_links.push(json!({
            "ContainerName": "node", "ContainerPort": p.container,
            "TargetGroupArn": shared.r(&alb_tg(&cx.node.group, &p.name)),
        }));
        if !shared.child {
            ingress.depends.push(json!(alb_listener(p.container)));
        }
    }
    ingress
}

/// Public p2p: an Elastic IP, on the node's NLB (Fargate) or its interface (EC2).
fn elastic_ip(cx: &NodeCx<'_>, tpl: &mut Tpl) {
    let eip = cx.eip();
    let res = tpl.res(
        &eip,
        "AWS::EC2::EIP",
        json!({ "Domain": "vpc", "Tags": tags(cx.net, &cx.tag_name()) }),
    );
    keep_on_delete(res, cx.net);
    if cx.ec2 {
        tpl.res(
            &format!("{}EipAssociation", cx.n),
            "AWS::EC2::EIPAssociation",
            json!({ "AllocationId": ga(&eip, "AllocationId"), "NetworkInterfaceId": r(&cx.eni()) }),
        );
    }
}

/// Fargate: the node's own Network Load Balancer on its Elastic IP, with a target group and
/// listener per public port.
fn network_load_balancer(
    cx: &NodeCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    ingress: &mut PublicIngress,
) {
    let (net, node) = (cx.net, cx.node);
    let lb = format!("{}Nlb", cx.n);
    let az = cx.net.zone_slot(node, 2);
    let res = tpl.res(
        &lb,
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
            "Type": "network",
            "Scheme": "internet-facing",
            "SubnetMappings": [{ "SubnetId": shared.subnet(net, "Public", az), "AllocationId": ga(&cx.eip(), "AllocationId") }],
            "LoadBalancerAttributes": [
                { "Key": "load_balancing.cross_zone.enabled", "Value": "true" },
                { "Key": "deletion_protection.enabled", "Value": "false" }
            ],
            "Tags": tags(net, &cx.tag_name()),
        }),
    );
    res.insert(
        "Metadata".into(),
        skip(&[
            ("CKV_AWS_91", "Access logs of a TCP pass-through for p2p traffic carry no request data worth the bucket; Container Insights and the node logs cover the node."),
            ("CKV_AWS_150", "Deletion protection would block `aws cloudformation delete-stack` of a test network; the Elastic IP, not the load balancer, is the stable address."),
        ]),
    );
    for p in &cx.nlb {
        nlb_port(cx, tpl, shared, &lb, p, ingress);
    }
}

/// One public port on the node's NLB: target group and listener.
fn nlb_port(
    cx: &NodeCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    lb: &str,
    p: &Port,
    ingress: &mut PublicIngress,
) {
    let (net, node) = (cx.net, cx.node);
    let proto = if p.protocol == Protocol::TcpUdp {
        "TCP_UDP"
    } else {
        "TCP"
    };
    let tg = format!("{}Tg{}", cx.n, lid(&p.name));
    tpl.res(
        &tg,
        "AWS::ElasticLoadBalancingV2::TargetGroup",
        json!({
            "TargetType": "ip",
            "Protocol": proto,
            "Port": p.container,
            "VpcId": shared.vpc(net),
            "HealthCheckProtocol": "TCP",
            "HealthCheckPort": p.container.to_string(),
            "TargetGroupAttributes": [{ "Key": "deregistration_delay.timeout_seconds", "Value": "30" }],
            "Tags": tags(net, &format!("{}-{}-{}", net.name, node.name, p.name)),
        }),
    );
    let lis = format!("{}Listener{}", cx.n, lid(&p.name));
    tpl.res(
        &lis,
        "AWS::ElasticLoadBalancingV2::Listener",
        json!({
            "LoadBalancerArn": r(lb),
            "Port": p.container,
            "Protocol": proto,
            "DefaultActions": [{ "Type": "forward", "TargetGroupArn": r(&tg) }],
        }),
    );
    ingress.depends.push(json!(lis));
    ingress.lb_links.push(
        json!({ "ContainerName": "node", "ContainerPort": p.container, "TargetGroupArn": r(&tg) }),
    );
}

/// The node's exported Elastic IP and the `host:port` peers outside dial: its Route 53 name
/// when the spec names a zone, else the Elastic IP itself.
fn public_address(cx: &NodeCx<'_>, tpl: &mut Tpl) {
    let (net, node) = (cx.net, cx.node);
    let eip = cx.eip();
    tpl.output(
        &format!("{}PublicIp", cx.n),
        &format!("Elastic IP of {}", node.name),
        r(&eip),
        Some(ip_export(net, &node.name)),
    );
    // The address peers dial is `CfnRuntime::external_address`; the record makes its name
    // resolve.
    if let Some((zone, zone_id)) = &cx.aws.dns_zone {
        tpl.res(
            &format!("{}Record", cx.n),
            "AWS::Route53::RecordSet",
            json!({
                "HostedZoneId": zone_id,
                "Name": format!("{}.{zone}.", node.name),
                "Type": "A",
                "TTL": "300",
                "ResourceRecords": [r(&eip)],
            }),
        );
    }
}
