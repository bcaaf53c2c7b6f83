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

/// UserData lines that keep host-networked tasks away from the instance metadata service:
/// the node shares the instance's network stack, so the IMDS hop limit does not stop it.
/// Only root may reach 169.254.169.254 (ecs-init and the ECS agent run as root); a node
/// process running as any other user is dropped. A systemd unit re-applies the rule at every
/// boot (a recovered instance reboots), before the ECS agent starts a task. Images that run
/// their node as root are not held back by it: for them the instance role itself grants
/// nothing a node could use (`instance_role`).
const IMDS_BLOCK: &str = "cat > /etc/systemd/system/chainfleet-imds-block.service <<'UNIT'
[Unit]
Description=chainfleet: only root reaches the instance metadata service
Before=ecs.service docker.service
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/sh -c 'iptables -C OUTPUT -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j DROP 2>/dev/null || iptables -I OUTPUT 1 -d 169.254.169.254/32 -m owner ! --uid-owner 0 -j DROP'
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now chainfleet-imds-block.service
";

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
        format!("\nECS_INSTANCE_ATTRIBUTES={{\"{NODE_ATTRIBUTE}\":\"{}\"}}\nECS_ENABLE_CONTAINER_METADATA=true\nECS_CONTAINER_STOP_TIMEOUT=2m\nEOF\n{IMDS_BLOCK}", node.name),
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
            "AlarmDescription": format!("HostRecovery (critical): the container instance of {} failed its system status check: recover it onto healthy hardware (same interface, Elastic IP and volume)", node.name),
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

/// The public SSM parameter naming today's recommended ECS-optimised Amazon Linux 2023 AMI
/// for the network's architecture, and that architecture.
pub(super) fn ami_parameter(net: &Network) -> (&'static str, &'static str) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    if aws.instance_type.as_deref().is_some_and(ec2::is_arm64) {
        (
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/arm64/recommended/image_id",
            "arm64",
        )
    } else {
        (
            "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id",
            "x86_64",
        )
    }
}

/// EC2 launch type parameters: the AMI (an explicit ID, never a public SSM parameter that
/// CloudFormation would resolve again on every deploy and so replace every instance when AWS
/// publishes a new AMI) and an instance type per group, defaulting to the spec's type or the
/// group's size.
pub(super) fn ec2_parameters(net: &Network, groups: &[&str], tpl: &mut Tpl) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let (ami, arch) = ami_parameter(net);
    tpl.param(
        "Instances",
        "EcsAmi",
        json!({
            "Type": "AWS::EC2::Image::Id",
            "Description": format!("ECS-optimised Amazon Linux 2023 AMI ({arch}; the image must be built for {arch}). deploy.sh pins it at the first deploy from {ami} and keeps it afterwards; a new AMI is your explicit change (CHAINFLEET_ECS_AMI_<REGION>, in the order the network README gives)"),
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

/// EC2 launch type: the role of the container instances and its instance profile. A node
/// shares its instance's network, so this role holds only what the ECS agent and the Session
/// Manager agent need, scoped to this cluster: no image pulls and no log writes (the agent
/// does both with each node's execution role), none of the managed policies' account-wide
/// `ssm:GetParameter`, `ecr:*` or `logs:*`.
pub(super) fn instance_role(net: &Network, tpl: &mut Tpl) {
    let cluster = sub(&format!(
        "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:cluster/{}",
        net.name
    ));
    let instances = sub(&format!(
        "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:container-instance/{}/*",
        net.name
    ));
    tpl.res(
        "InstanceRole",
        "AWS::IAM::Role",
        json!({
            "Description": format!("Container instances of {}: join this ECS cluster and Session Manager, nothing else; tasks use their own roles", net.name),
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{ "Effect": "Allow", "Principal": { "Service": "ec2.amazonaws.com" }, "Action": "sts:AssumeRole" }]
            },
            "Policies": [{
                "PolicyName": "ecs-agent-and-session-manager",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "EcsAgentInThisCluster",
                            "Effect": "Allow",
                            "Action": [
                                "ecs:RegisterContainerInstance", "ecs:DeregisterContainerInstance",
                                "ecs:SubmitAttachmentStateChanges", "ecs:SubmitContainerStateChange",
                                "ecs:SubmitTaskStateChange", "ecs:Poll", "ecs:StartTelemetrySession",
                                "ecs:UpdateContainerInstancesState",
                            ],
                            "Resource": [cluster, instances],
                        },
                        {
                            // These actions take no resource-level permissions.
                            "Sid": "EcsEndpointAndSessionManager",
                            "Effect": "Allow",
                            "Action": [
                                "ecs:DiscoverPollEndpoint",
                                "ssmmessages:CreateControlChannel", "ssmmessages:CreateDataChannel",
                                "ssmmessages:OpenControlChannel", "ssmmessages:OpenDataChannel",
                            ],
                            "Resource": "*",
                        },
                        {
                            "Sid": "SessionManagerInstance",
                            "Effect": "Allow",
                            "Action": "ssm:UpdateInstanceInformation",
                            "Resource": sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"),
                        },
                    ]
                }
            }],
            "Tags": tags(net, &format!("{}-instance", net.name)),
        }),
    );
    tpl.res(
        "InstanceProfile",
        "AWS::IAM::InstanceProfile",
        json!({ "Roles": [r("InstanceRole")] }),
    );
}
