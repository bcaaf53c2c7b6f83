//! One node's IAM roles: an execution role that may read only that node's own Secrets
//! Manager secrets, and a task role that may mount the file system only through that node's
//! own EFS access point (the file system's policy refuses any other way in).

use serde_json::{json, Value};

use super::metrics_agent::has_agent;
use super::NodeCx;
use crate::chain::Artifacts;
use crate::emit::cloudformation::builder::{assumed_by, ga, sub, tags, Tpl};
use crate::emit::cloudformation::names::secret_export;
use crate::emit::cloudformation::shared::Shared;

/// Logical IDs of a node's (execution role, task role).
pub(super) fn role_ids(cx: &NodeCx<'_>) -> (String, String) {
    (
        format!("{}ExecutionRole", cx.n),
        format!("{}TaskRole", cx.n),
    )
}

/// The node's execution and task roles, into `tpl`.
pub(super) fn node_roles(
    cx: &NodeCx<'_>,
    artifacts: &Artifacts,
    tpl: &mut Tpl,
    shared: &mut Shared,
    access_point: &str,
) {
    let (net, node) = (cx.net, cx.node);
    let (exec, task) = role_ids(cx);
    // The ARNs of this node's secrets only: the execution role of one node cannot fetch
    // another node's keys, whatever a task definition names.
    let arns: Vec<Value> = artifacts
        .nodes
        .get(&node.name)
        .map(|a| {
            a.secret_files
                .iter()
                .map(|s| json!({ "Fn::ImportValue": secret_export(net, &node.name, &s.key) }))
                .collect()
        })
        .unwrap_or_default();
    let mut exec_props = json!({
        "Description": format!("ECS task execution role of {} in {}: pull the image, write logs, read this node's secrets only", node.name, net.name),
        "AssumeRolePolicyDocument": assumed_by("ecs-tasks.amazonaws.com"),
        "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")],
        "Tags": tags(net, &format!("{}-{}-execution", net.name, node.name)),
    });
    if !arns.is_empty() {
        exec_props["Policies"] = json!([{
            "PolicyName": "read-own-secrets",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": arns,
                }]
            }
        }]);
    }
    tpl.res(&exec, "AWS::IAM::Role", exec_props);

    // EFS authorises NFS clients by the task role (IAM ENABLED in the task's volume). The
    // access point enforces uid 0, which EFS honours only with ClientRootAccess.
    // `${FileSystem}` is the resource in the region stack and the parameter of that name in a
    // nested node stack.
    shared.r("FileSystem");
    let fs_arn = sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/${FileSystem}");
    let mut policies = vec![json!({
        "PolicyName": "mount-own-access-point",
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
                "Resource": fs_arn,
                "Condition": { "StringEquals": { "elasticfilesystem:AccessPointArn": ga(access_point, "Arn") } },
            }]
        }
    })];
    if has_agent(net, node) {
        // The CloudWatch agent beside the node writes embedded-metric records to its log group.
        policies.push(json!({
            "PolicyName": "publish-node-metrics",
            "PolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    "Resource": shared.ga("MetricsLogGroup", "Arn"),
                }]
            }
        }));
    }
    tpl.res(
        &task,
        "AWS::IAM::Role",
        json!({
            "Description": format!("ECS task role of {} in {}: mount its own EFS access point, nothing else", node.name, net.name),
            "AssumeRolePolicyDocument": assumed_by("ecs-tasks.amazonaws.com"),
            "Policies": policies,
            "Tags": tags(net, &format!("{}-{}-task", net.name, node.name)),
        }),
    );
}
