//! The region's Application Load Balancer for public HTTP ports (RPC, API, GraphQL): its
//! security group, one target group per (group, port) with the family's health check, and
//! one listener per port (HTTPS when the spec gives a certificate), and its Route 53 name
//! `api-<region>.<zone>` when the spec names a zone (the name a certificate can match).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::RegionCx;
use crate::emit::cloudformation::addressing::{alb_served, vpc_cidr};
use crate::emit::cloudformation::builder::{ga, r, skip, tags, Tpl};
use crate::emit::cloudformation::names::{alb_listener, alb_record, alb_tg};
use crate::emit::cloudformation::shared::Shared;

/// The load balancer, its security group, target groups and listeners.
pub(super) fn alb_resources(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let (net, aws, alb_ports) = (cx.net, cx.aws, &cx.alb_ports);
    let ingress: Vec<Value> = alb_ports
        .keys()
        .map(|p| json!({ "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": "0.0.0.0/0", "Description": format!("public RPC/API on {p}") }))
        .collect();
    let vpc = shared.vpc(net);
    let egress: Vec<Value> = alb_ports
        .keys()
        .map(|p| json!({ "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": vpc_cidr(net), "Description": format!("to node port {p}") }))
        .collect();
    tpl.res(
        "AlbSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": format!("Public RPC/API load balancer of {}", net.name),
            "VpcId": vpc,
            "SecurityGroupIngress": ingress,
            "SecurityGroupEgress": egress,
            "Tags": tags(net, &format!("{}-alb", net.name)),
        }),
    );
    let subnets = vec![
        shared.subnet(net, "Public", 0),
        shared.subnet(net, "Public", 1),
    ];
    let mut skips = vec![
        ("CKV_AWS_91", "Access logs need a log bucket with its own policy per region; the RPC/API is read-only public chain data and Container Insights plus node logs cover operations."),
        ("CKV_AWS_150", "Deletion protection would block `aws cloudformation delete-stack` of a test network."),
        ("CKV2_AWS_28", "A WAF web ACL is a policy decision of the operator (rate limits per API); attach one to this load balancer when the RPC is used beyond testing."),
    ];
    if aws.certificate_arn.is_none() {
        skips.push(("CKV_AWS_2", "The spec gives no certificate_arn, so RPC/API listeners are plain HTTP; set targets.aws.certificate_arn to get HTTPS listeners."));
        skips.push(("CKV_AWS_103", "The spec gives no certificate_arn, so there is no TLS listener to configure; set targets.aws.certificate_arn."));
    }
    tpl.res(
        "Alb",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        json!({
            "Type": "application",
            "Scheme": "internet-facing",
            "Subnets": subnets,
            "SecurityGroups": [ga("AlbSecurityGroup", "GroupId")],
            "LoadBalancerAttributes": [
                { "Key": "routing.http.drop_invalid_header_fields.enabled", "Value": "true" },
                { "Key": "deletion_protection.enabled", "Value": "false" }
            ],
            "Tags": tags(net, &format!("{}-rpc", net.name)),
        }),
    )
    .insert("Metadata".into(), skip(&skips));
    target_groups(cx, tpl, shared);
    listeners(cx, tpl);
    if let Some((zone, zone_id)) = &aws.dns_zone {
        // The name the URL outputs give: an ALB's own DNS name can never match a certificate.
        tpl.res(
            "AlbRecord",
            "AWS::Route53::RecordSet",
            json!({
                "HostedZoneId": zone_id,
                "Name": format!("{}.", alb_record(cx.region, zone)),
                "Type": "A",
                "AliasTarget": {
                    "DNSName": ga("Alb", "DNSName"),
                    "HostedZoneId": ga("Alb", "CanonicalHostedZoneID"),
                    "EvaluateTargetHealth": false,
                },
            }),
        );
    }
}

/// One target group per (group, port), health-checked on the family's health path.
fn target_groups(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let net = cx.net;
    let mut tgs: BTreeMap<String, (String, String, u16)> = BTreeMap::new();
    for n in &cx.nodes {
        for p in alb_served(n) {
            tgs.insert(
                alb_tg(&n.group, &p.name),
                (n.group.clone(), p.name.clone(), p.container),
            );
        }
    }
    let fam = crate::chain::family(net.chain.family);
    for (id, (group, port, number)) in &tgs {
        let (path, matcher) = match fam.http_health_path(port) {
            Some(path) => (path, "200"),
            None => ("/", "200-499"),
        };
        tpl.res(
            id,
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            json!({
                // awsvpc tasks register their own address; host-mode tasks their instance.
                "TargetType": if cx.ec2 { "instance" } else { "ip" },
                "Protocol": "HTTP",
                "Port": number,
                "VpcId": shared.vpc(net),
                "HealthCheckProtocol": "HTTP",
                "HealthCheckPath": path,
                "Matcher": { "HttpCode": matcher },
                "HealthCheckIntervalSeconds": 30,
                "HealthyThresholdCount": 2,
                "UnhealthyThresholdCount": 3,
                "TargetGroupAttributes": [{ "Key": "deregistration_delay.timeout_seconds", "Value": "30" }],
                "Tags": tags(net, &format!("{}-{group}-{port}", net.name)),
            }),
        );
    }
}

/// One listener per public HTTP port, forwarding to the target groups of its users.
fn listeners(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    for (number, users) in &cx.alb_ports {
        let targets: Vec<Value> = users
            .iter()
            .map(|(g, p)| json!({ "TargetGroupArn": r(&alb_tg(g, p)), "Weight": 1 }))
            .collect();
        let mut props = json!({
            "LoadBalancerArn": r("Alb"),
            "Port": number,
            "DefaultActions": [if users.len() == 1 {
                json!({ "Type": "forward", "TargetGroupArn": r(&alb_tg(&users[0].0, &users[0].1)) })
            } else {
                json!({ "Type": "forward", "ForwardConfig": { "TargetGroups": targets } })
            }],
        });
        if let Some(cert) = &cx.aws.certificate_arn {
            props["Protocol"] = json!("HTTPS");
            props["SslPolicy"] = json!("ELBSecurityPolicy-TLS13-1-2-2021-06");
            props["Certificates"] = json!([{ "CertificateArn": cert }]);
        } else {
            props["Protocol"] = json!("HTTP");
        }
        let lis = tpl.res(
            &alb_listener(*number),
            "AWS::ElasticLoadBalancingV2::Listener",
            props,
        );
        if cx.aws.certificate_arn.is_none() {
            lis.insert(
                "Metadata".into(),
                skip(&[
                    ("CKV_AWS_2", "No certificate_arn in the spec: plain HTTP on the RPC/API port; set targets.aws.certificate_arn for HTTPS."),
                    ("CKV_AWS_103", "No certificate_arn in the spec, so no TLS policy applies."),
                ]),
            );
        }
    }
}
