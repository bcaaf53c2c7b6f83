//! A new VPC for the region: two public and two private subnets carved from the spec's CIDR,
//! internet and NAT gateways, route tables, and flow logs.

use std::net::Ipv4Addr;

use serde_json::json;

use super::retention_days;
use crate::emit::cloudformation::builder::{assumed_by, ga, r, skip, tags, Tpl};
use crate::model::Network;

/// Subnets carved from the VPC CIDR: four blocks 4 bits longer than the VPC prefix.
fn subnets(cidr: &str) -> Vec<String> {
    let (ip, len) = cidr.split_once('/').unwrap_or((cidr, "16"));
    let ip: Ipv4Addr = ip.parse().unwrap_or(Ipv4Addr::new(10, 42, 0, 0));
    let len: u32 = len.parse().unwrap_or(16).min(24);
    let base = u32::from(ip) & (u32::MAX.checked_shl(32 - len).unwrap_or(0));
    let sub_len = len + 4;
    (0..4)
        .map(|i| format!("{}/{sub_len}", Ipv4Addr::from(base + (i << (32 - sub_len)))))
        .collect()
}

/// The VPC with flow logs, its gateways, and public and private subnets in two AZs.
pub(super) fn vpc_resources(net: &Network, cidr: &str, tpl: &mut Tpl) {
    let blocks = subnets(cidr);
    tpl.res(
        "Vpc",
        "AWS::EC2::VPC",
        json!({ "CidrBlock": cidr, "EnableDnsHostnames": true, "EnableDnsSupport": true, "Tags": tags(net, &net.name) }),
    );
    flow_logs(net, tpl);
    tpl.res(
        "InternetGateway",
        "AWS::EC2::InternetGateway",
        json!({ "Tags": tags(net, &net.name) }),
    );
    tpl.res(
        "GatewayAttachment",
        "AWS::EC2::VPCGatewayAttachment",
        json!({ "VpcId": r("Vpc"), "InternetGatewayId": r("InternetGateway") }),
    );
    tpl.res(
        "PublicRouteTable",
        "AWS::EC2::RouteTable",
        json!({ "VpcId": r("Vpc"), "Tags": tags(net, &format!("{}-public", net.name)) }),
    );
    tpl.res(
        "PublicRoute",
        "AWS::EC2::Route",
        json!({ "RouteTableId": r("PublicRouteTable"), "DestinationCidrBlock": "0.0.0.0/0", "GatewayId": r("InternetGateway") }),
    )
    .insert("DependsOn".into(), json!("GatewayAttachment"));
    for i in 0..2 {
        let k = i + 1;
        let az = json!({ "Fn::Select": [i, { "Fn::GetAZs": "" }] });
        tpl.res(
            &format!("PublicSubnet{k}"),
            "AWS::EC2::Subnet",
            json!({ "VpcId": r("Vpc"), "CidrBlock": blocks[i], "AvailabilityZone": az, "MapPublicIpOnLaunch": false, "Tags": tags(net, &format!("{}-public-{k}", net.name)) }),
        );
        tpl.res(
            &format!("PrivateSubnet{k}"),
            "AWS::EC2::Subnet",
            json!({ "VpcId": r("Vpc"), "CidrBlock": blocks[i + 2], "AvailabilityZone": az, "MapPublicIpOnLaunch": false, "Tags": tags(net, &format!("{}-private-{k}", net.name)) }),
        );
        tpl.res(
            &format!("PublicSubnet{k}Routes"),
            "AWS::EC2::SubnetRouteTableAssociation",
            json!({ "SubnetId": r(&format!("PublicSubnet{k}")), "RouteTableId": r("PublicRouteTable") }),
        );
        tpl.res(
            &format!("NatEip{k}"),
            "AWS::EC2::EIP",
            json!({ "Domain": "vpc", "Tags": tags(net, &format!("{}-nat-{k}", net.name)) }),
        )
        .insert("DependsOn".into(), json!("GatewayAttachment"));
        tpl.res(
            &format!("NatGateway{k}"),
            "AWS::EC2::NatGateway",
            json!({ "AllocationId": ga(&format!("NatEip{k}"), "AllocationId"), "SubnetId": r(&format!("PublicSubnet{k}")), "Tags": tags(net, &format!("{}-nat-{k}", net.name)) }),
        );
        tpl.res(
            &format!("PrivateRouteTable{k}"),
            "AWS::EC2::RouteTable",
            json!({ "VpcId": r("Vpc"), "Tags": tags(net, &format!("{}-private-{k}", net.name)) }),
        );
        tpl.res(
            &format!("PrivateRoute{k}"),
            "AWS::EC2::Route",
            json!({ "RouteTableId": r(&format!("PrivateRouteTable{k}")), "DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": r(&format!("NatGateway{k}")) }),
        );
        tpl.res(
            &format!("PrivateSubnet{k}Routes"),
            "AWS::EC2::SubnetRouteTableAssociation",
            json!({ "SubnetId": r(&format!("PrivateSubnet{k}")), "RouteTableId": r(&format!("PrivateRouteTable{k}")) }),
        );
    }
}

/// VPC flow logs into their own log group, through a role that may write only there.
fn flow_logs(net: &Network, tpl: &mut Tpl) {
    tpl.res(
        "FlowLogGroup",
        "AWS::Logs::LogGroup",
        json!({ "RetentionInDays": retention_days(net.monitoring.log_retention_days), "Tags": tags(net, &format!("{}-flow-logs", net.name)) }),
    )
    .insert(
        "Metadata".into(),
        skip(&[("CKV_AWS_158", "VPC flow records hold addresses and ports only; CloudWatch Logs' own encryption at rest is enough.")]),
    );
    tpl.res(
        "FlowLogRole",
        "AWS::IAM::Role",
        json!({
            "Description": "Lets VPC flow logs write to their log group",
            "AssumeRolePolicyDocument": assumed_by("vpc-flow-logs.amazonaws.com"),
            "Policies": [{
                "PolicyName": "write-flow-logs",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                        "Resource": ga("FlowLogGroup", "Arn"),
                    }]
                }
            }],
            "Tags": tags(net, &format!("{}-flow-logs", net.name)),
        }),
    );
    tpl.res(
        "FlowLog",
        "AWS::EC2::FlowLog",
        json!({
            "ResourceId": r("Vpc"), "ResourceType": "VPC", "TrafficType": "ALL",
            "LogDestinationType": "cloud-watch-logs",
            "LogGroupName": r("FlowLogGroup"),
            "DeliverLogsPermissionArn": ga("FlowLogRole", "Arn"),
            "Tags": tags(net, &format!("{}-flow-log", net.name)),
        }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subnets_split_the_vpc() {
        assert_eq!(
            subnets("10.42.0.0/16"),
            [
                "10.42.0.0/20",
                "10.42.16.0/20",
                "10.42.32.0/20",
                "10.42.48.0/20"
            ]
        );
    }
}
