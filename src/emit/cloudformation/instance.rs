//! EC2 launch type: the region's AMI and instance-type parameters, and each node's own
//! container instance (its role, the hand-over of the node's network interface at boot) with
//! the alarm that recovers it.

use serde_json::{json, Value};

use super::builder::{r, sub, tags, Tpl};
use super::names::group_sg;
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

/// Tag naming the node an instance and its network interface belong to: the instance role
/// may attach and detach only interfaces and instances carrying its own node's value.
pub(super) const NODE_TAG: &str = "chainfleet:node";

/// The program that hands the node's own network interface (its private address in Cloud
/// Map, its Elastic IP) to this instance as device 1, at every boot before the ECS agent
/// starts: if a previous instance of the node still holds it (CloudFormation creates a
/// replacement, e.g. for a new AMI, before it terminates the old instance), it is detached
/// from there (forced after two minutes: the old instance is on its way out), then attached
/// here; amazon-ec2-net-utils (part of the ECS-optimised AL2023 AMI) configures it with a
/// policy route, so replies leave through the interface they arrived on. It waits as long as
/// it takes (an interface that is another instance's primary is freed only when that instance
/// terminates); until then the ECS agent does not start and the node's NodeDown alarm fires.
/// Arguments: the interface ID and the region.
pub(super) const ATTACH_ENI: &str = r#"#!/bin/bash
# chainfleet: attach this node's own network interface to this instance (device 1).
set -uo pipefail
eni=$1
region=$2
imds() {
  local token
  token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' http://169.254.169.254/latest/api/token) &&
    curl -sf -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}
until me=$(imds instance-id); do sleep 5; done
# The ECS-optimised AMI is built on AL2023 minimal, without the AWS CLI.
until command -v aws >/dev/null || dnf install -y awscli-2; do sleep 10; done
detach_tries=0
while :; do
  if ! state=$(aws --region "$region" ec2 describe-network-interfaces --network-interface-ids "$eni"     --query 'NetworkInterfaces[0].[Status,Attachment.InstanceId,Attachment.AttachmentId,PrivateIpAddress]' --output text); then
    sleep 10
    continue
  fi
  read -r status owner attachment ip <<<"$state"
  if [ "$status" = in-use ] && [ "$owner" = "$me" ]; then
    for _ in $(seq 1 90); do
      if ip -o -4 addr show | grep -qF "inet $ip/"; then
        echo "chainfleet: $eni ($ip) is attached to $me"
        exit 0
      fi
      sleep 2
    done
    echo "chainfleet: $eni is attached but $ip was not configured" >&2
    exit 1
  elif [ "$status" = available ]; then
    echo "chainfleet: attaching $eni to $me"
    aws --region "$region" ec2 attach-network-interface --network-interface-id "$eni"       --instance-id "$me" --device-index 1 >/dev/null || true
  elif [ "$status" = in-use ] && [ "$owner" != "$me" ]; then
    detach_tries=$((detach_tries + 1))
    force=()
    if [ "$detach_tries" -gt 12 ]; then
      force=(--force)
    fi
    echo "chainfleet: detaching $eni from $owner ${force[*]}"
    aws --region "$region" ec2 detach-network-interface --attachment-id "$attachment" "${force[@]}" || true
  fi
  sleep 10
done
"#;

/// The systemd unit running [`ATTACH_ENI`] at every boot, before the ECS agent (which needs
/// it: no node task without its addresses). `@ENI@` and `@REGION@` are filled in.
const ATTACH_UNIT: &str = "[Unit]
Description=chainfleet: attach the node's own network interface
Wants=network-online.target
After=network-online.target
Before=ecs.service
[Service]
Type=oneshot
RemainAfterExit=yes
TimeoutStartSec=infinity
ExecStart=/usr/local/sbin/chainfleet-attach-eni @ENI@ @REGION@
[Install]
WantedBy=multi-user.target
RequiredBy=ecs.service
";

/// EC2 launch type: the node's container instance, on a primary interface of its own (in the
/// node's AZ, private subnet: its own traffic, the ECS agent's and the node's outgoing dials,
/// leaves through the NAT gateway) with the node's own interface attached at boot as device
/// 1, its own role, and an alarm that recovers it (same interfaces, addresses and volume)
/// when the host fails.
pub(super) fn container_instance(
    net: &Network,
    node: &Node,
    eni: &str,
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
    let profile = instance_role(net, node, eni, tpl);
    // Joins the cluster with the node's name as an attribute (the service's placement
    // constraint); nothing secret: keys reach the task from Secrets Manager.
    let (unit_head, unit_rest) = ATTACH_UNIT.split_once("@ENI@").expect("ENI slot");
    let (unit_mid, unit_tail) = unit_rest.split_once("@REGION@").expect("region slot");
    let user_data = json!({ "Fn::Base64": { "Fn::Join": ["", [
        "#!/bin/bash\nset -eu\ncat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=",
        shared.r("Cluster"),
        format!("\nECS_INSTANCE_ATTRIBUTES={{\"{NODE_ATTRIBUTE}\":\"{}\"}}\nECS_ENABLE_CONTAINER_METADATA=true\nECS_CONTAINER_STOP_TIMEOUT=2m\nEOF\n{IMDS_BLOCK}cat > /usr/local/sbin/chainfleet-attach-eni <<'SCRIPT'\n{ATTACH_ENI}SCRIPT\nchmod 0755 /usr/local/sbin/chainfleet-attach-eni\ncat > /etc/systemd/system/chainfleet-eni.service <<'UNIT'\n{unit_head}", node.name),
        r(eni),
        unit_mid,
        r("AWS::Region"),
        format!("{unit_tail}UNIT\nsystemctl daemon-reload\nsystemctl enable chainfleet-eni.service\n# Not waited for here: the ECS agent (after cloud-init) waits for it.\nsystemctl start --no-block chainfleet-eni.service\n"),
    ]] } });
    let instance = format!("{n}Instance");
    let mut instance_tags = tags(net, &format!("{}-{}", net.name, node.name));
    if let Value::Array(a) = &mut instance_tags {
        a.push(json!({ "Key": NODE_TAG, "Value": node.name }));
    }
    let zone = net.zone_slot(node, 2);
    let res = tpl.res(
        &instance,
        "AWS::EC2::Instance",
        json!({
            "ImageId": shared.r("EcsAmi"),
            "InstanceType": shared.r(&instance_type_param(&node.group)),
            "IamInstanceProfile": r(&profile),
            // Its own primary interface: a replacement instance can exist beside the old one,
            // which frees the node's interface for it (see ATTACH_ENI).
            "NetworkInterfaces": [{
                "DeviceIndex": "0",
                "SubnetId": shared.subnet(net, "Private", zone),
                "GroupSet": [shared.r(&group_sg(&node.group))],
                "AssociatePublicIpAddress": false,
                "DeleteOnTermination": true,
                "Description": format!("{} of {}: primary interface of this instance (the node's own is attached as device 1)", node.name, net.name),
            }],
            "MetadataOptions": { "HttpTokens": "required", "HttpEndpoint": "enabled", "HttpPutResponseHopLimit": 1 },
            "BlockDeviceMappings": [{
                "DeviceName": "/dev/xvda",
                "Ebs": { "VolumeSize": 30, "VolumeType": "gp3", "Encrypted": true, "DeleteOnTermination": true }
            }],
            "Monitoring": true,
            "EbsOptimized": true,
            "UserData": user_data,
            "Tags": instance_tags,
        }),
    );
    if let Some(c) = &condition {
        res.insert("Condition".into(), json!(c));
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
            "AlarmDescription": format!("HostRecovery (critical): the container instance of {} failed its system status check: recover it onto healthy hardware (same instance, interfaces, Elastic IP and volume)", node.name),
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

/// EC2 launch type: the role of one node's container instances and its instance profile
/// (returned). A node shares its instance's network, so this role holds only what the ECS
/// agent, the Session Manager agent and the interface hand-over need: ECS actions scoped to
/// this cluster, attaching and detaching only this node's own interface on this node's own
/// instances (by its ARN and the `chainfleet:node` tag; a role per node, so one node's
/// instance can never take another node's addresses), no image pulls and no log writes (the
/// agent does both with each node's execution role), none of the managed policies'
/// account-wide `ssm:GetParameter`, `ecr:*` or `logs:*`.
fn instance_role(net: &Network, node: &Node, eni: &str, tpl: &mut Tpl) -> String {
    let n = lid(&node.name);
    let cluster = sub(&format!(
        "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:cluster/{}",
        net.name
    ));
    let instances = sub(&format!(
        "arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:container-instance/{}/*",
        net.name
    ));
    let (role, profile) = (format!("{n}InstanceRole"), format!("{n}InstanceProfile"));
    tpl.res(
        &role,
        "AWS::IAM::Role",
        json!({
            "Description": format!("Container instances of {} in {}: join this ECS cluster and Session Manager, take over the node's own network interface, nothing else; tasks use their own roles", node.name, net.name),
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
                        {
                            // Both resources of each call carry the node's tag: its own
                            // interface (also named by ARN) and its own instances, old or new.
                            "Sid": "OwnInterfaceOnOwnInstances",
                            "Effect": "Allow",
                            "Action": ["ec2:AttachNetworkInterface", "ec2:DetachNetworkInterface"],
                            "Resource": [
                                sub(&format!("arn:${{AWS::Partition}}:ec2:${{AWS::Region}}:${{AWS::AccountId}}:network-interface/${{{eni}}}")),
                                sub("arn:${AWS::Partition}:ec2:${AWS::Region}:${AWS::AccountId}:instance/*"),
                            ],
                            "Condition": { "StringEquals": { format!("aws:ResourceTag/{NODE_TAG}"): node.name } },
                        },
                        {
                            // Describe actions take no resource-level permissions.
                            "Sid": "SeeInterfaces",
                            "Effect": "Allow",
                            "Action": "ec2:DescribeNetworkInterfaces",
                            "Resource": "*",
                        },
                    ]
                }
            }],
            "Tags": tags(net, &format!("{}-{}-instance", net.name, node.name)),
        }),
    );
    tpl.res(
        &profile,
        "AWS::IAM::InstanceProfile",
        json!({ "Roles": [r(&role)] }),
    );
    profile
}
