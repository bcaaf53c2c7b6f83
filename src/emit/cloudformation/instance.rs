//! EC2 launch type: the region's AMI and instance-type parameters, the container instances'
//! role, and each node's own container instance with the alarm that recovers it.

use serde_json::{json, Value};

use super::builder::{r, sub, tags, Tpl};
use super::names::{full_param, instance_type_param, lid, runs_condition};
use super::node::{group_resources, scalable};
use super::shared::Shared;
use crate::model::{ec2, Network, Node};

/// ECS container instance attribute naming the node an EC2 instance runs.
pub(super) const NODE_ATTRIBUTE: &str = "chainfleet.node";

/// EC2 launch type: the node's container instance on its own network interface, and an
/// alarm that recovers it (same interface, addresses and volume) when the host fails.
pub(super) fn container_instance(
    net: &Network,
    node: &Node,
    eni: &str,
    public: bool,
    tpl: &mut Tpl,
    shared: &mut Shared,
) {
    let n = lid(&node.name);
    let condition = scalable(node.role).then(|| {
        let c = runs_condition(&node.group);
        let count = shared.r(&full_param(&node.group));
        tpl.conditions.insert(
            c.clone(),
            json!({ "Fn::Not": [{ "Fn::Equals": [count, "0"] }] }),
        );
        c
    });
    // Joins the cluster with the node's name as an attribute (the service's placement
    // constraint); nothing secret: keys reach the task from Secrets Manager.
    let user_data = json!({ "Fn::Base64": { "Fn::Join": ["", [
        "#!/bin/bash\nset -eu\ncat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=",
        shared.r("Cluster"),
        format!("\nECS_INSTANCE_ATTRIBUTES={{\"{NODE_ATTRIBUTE}\":\"{}\"}}\nECS_ENABLE_CONTAINER_METADATA=true\nECS_CONTAINER_STOP_TIMEOUT=2m\nEOF\n", node.name),
    ]] } });
    let instance = format!("{n}Instance");
    let res = tpl.res(
        &instance,
        "AWS::EC2::Instance",
        json!({
            "ImageId": shared.r("EcsAmi"),
            "InstanceType": shared.r(&instance_type_param(&node.group)),
            "IamInstanceProfile": shared.r("InstanceProfile"),
            "NetworkInterfaces": [{ "NetworkInterfaceId": r(eni), "DeviceIndex": "0" }],
            "MetadataOptions": { "HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1 },
            "BlockDeviceMappings": [{
                "DeviceName": "/dev/xvda",
                "Ebs": { "VolumeSize": 30, "VolumeType": "gp3", "Encrypted": true, "DeleteOnTermination": true }
            }],
            "Monitoring": true,
            "EbsOptimized": true,
            "UserData": user_data,
            "Tags": tags(net, &format!("{}-{}", net.name, node.name)),
        }),
    );
    if let Some(c) = &condition {
        res.insert("Condition".into(), json!(c));
    }
    if public {
        // Boot with the public address in place: the ECS agent's first calls leave through it.
        res.insert("DependsOn".into(), json!([format!("{n}EipAssociation")]));
    }
    let mut actions = vec![sub(
        "arn:${AWS::Partition}:automate:${AWS::Region}:ec2:recover",
    )];
    if let Value::Array(a) = shared.alarm_actions(net) {
        actions.extend(a);
    }
    let res = tpl.res(
        &format!("{n}RecoverAlarm"),
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": format!("{}-{}-HostRecovery", net.name, node.name),
            "AlarmDescription": format!("The container instance of {} failed its system status check: recover it onto healthy hardware (same interface, Elastic IP and volume)", node.name),
            "Namespace": "AWS/EC2",
            "MetricName": "StatusCheckFailed_System",
            "Dimensions": [{ "Name": "InstanceId", "Value": r(&instance) }],
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": 2,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "missing",
            "AlarmActions": actions,
            "Tags": tags(net, &format!("{}-{}-HostRecovery", net.name, node.name)),
        }),
    );
    if let Some(c) = &condition {
        res.insert("Condition".into(), json!(c));
    }
}

/// EC2 launch type parameters: the ECS-optimised AMI (from its public SSM parameter) and an
/// instance type per group, defaulting to the spec's type or the group's size.
pub(super) fn ec2_parameters(net: &Network, groups: &[&str], tpl: &mut Tpl) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let arm = aws.instance_type.as_deref().is_some_and(ec2::is_arm64);
    let (arch, ami) = if arm {
        (
            "arm64",
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
        )
    } else {
        (
            "x86_64",
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
        )
    };
    tpl.param(
        "Instances",
        "EcsAmi",
        json!({
            "Type": "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>",
            "Description": format!("ECS-optimised Amazon Linux 2023 AMI ({arch}; the image must be built for {arch}), read from its public SSM parameter at deploy time"),
            "Default": ami,
        }),
    );
    for g in groups {
        let ty = aws
            .instance_type
            .clone()
            .unwrap_or_else(|| ec2::default_for(group_resources(net, g)));
        tpl.param(
            "Instances",
            &instance_type_param(g),
            json!({
                "Type": "String",
                "Description": format!("EC2 instance type of each {g} node's container instance ({arch})"),
                "Default": ty,
                "AllowedPattern": "^[a-z][a-z0-9-]*\\.[a-z0-9]+$",
                "ConstraintDescription": "an EC2 instance type such as m6i.xlarge",
            }),
        );
    }
}

/// EC2 launch type: the role of the container instances (join the cluster, be reachable by
/// Session Manager) and its instance profile.
pub(super) fn instance_role(net: &Network, tpl: &mut Tpl) {
    tpl.res(
        "InstanceRole",
        "AWS::IAM::Role",
        json!({
            "Description": format!("Container instances of {}: register with ECS, pull images, Session Manager; tasks use their own roles", net.name),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" }]
            },
            "ManagedPolicyArns": [
                sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"),
                sub("arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"),
            ],
            "Tags": tags(net, &format!("{}-instance", net.name)),
        }),
    );
    tpl.res(
        "InstanceProfile",
        "AWS::IAM::InstanceProfile",
        json!({ "Roles": [r("InstanceRole")] }),
    );
}
