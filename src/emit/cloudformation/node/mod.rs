//! One node's resources, in the region stack or a nested node stack: its storage (EFS access
//! point), IAM roles of its own (`iam`), discovery (Cloud Map, and its own network interface on EC2), public ingress
//! (`ingress`), task (`task`), ECS service, container instance (EC2) and alarms.

pub(super) mod alarms;
mod iam;
mod ingress;
pub(super) mod metrics_agent;
mod task;

use serde_json::{json, Value};

use super::addressing::{nlb_ports, placeholder_peers};
use super::builder::{ga, r, tags, Tpl};
use super::instance::{container_instance, NODE_ATTRIBUTE, NODE_TAG};
use super::names::{full_param, group_sg, lid, peer_host_param};
use super::shared::Shared;
use crate::chain::Artifacts;
use crate::model::{Aws, LaunchType, Network, Node, Port, Role};

pub use task::fargate_size;

/// What every part of one node's resources needs.
struct NodeCx<'a> {
    net: &'a Network,
    aws: &'a Aws,
    node: &'a Node,
    /// Logical-ID stem of the node's resources (`lid` of its name).
    n: String,
    /// EC2 launch type (else Fargate).
    ec2: bool,
    /// Public ports behind the node's Elastic IP (`addressing::nlb_ports`).
    nlb: Vec<&'a Port>,
}

impl NodeCx<'_> {
    /// Logical ID of the node's Elastic IP (when it has public p2p).
    fn eip(&self) -> String {
        format!("{}Eip", self.n)
    }

    /// Logical ID of the node's own network interface (EC2 launch type).
    fn eni(&self) -> String {
        format!("{}Eni", self.n)
    }

    /// `<network>-<node>`, the Name tag of most of the node's resources.
    fn tag_name(&self) -> String {
        format!("{}-{}", self.net.name, self.node.name)
    }
}

/// A group's resources (the spec's defaults if the group were unknown).
pub(super) fn group_resources(net: &Network, group: &str) -> crate::model::Resources {
    net.group(group).map_or_else(
        || crate::model::resolve::resources_of(None),
        |g| g.resources,
    )
}

/// Roles whose nodes a desired-count parameter can stop (no keys that must keep signing).
pub(super) fn scalable(role: Role) -> bool {
    matches!(role, Role::Full | Role::Archive | Role::SnarkWorker)
}

/// Add the resources of one node to `tpl`.
pub(super) fn node_resources(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
    tpl: &mut Tpl,
    shared: &mut Shared,
) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let cx = NodeCx {
        net,
        aws,
        node,
        n: lid(&node.name),
        ec2: aws.launch_type == LaunchType::Ec2,
        nlb: nlb_ports(node),
    };
    let access_point = storage(&cx, tpl, shared);
    iam::node_roles(&cx, artifacts, tpl, shared, &access_point);
    let discovery = discovery(&cx, tpl, shared);
    if cx.ec2 {
        network_interface(&cx, tpl, shared, &discovery);
    }
    let ingress = ingress::public_ingress(&cx, tpl, shared);
    let (command, environment) = task::container_launch(net, artifacts, node);
    let mut containers = vec![task::container_definition(
        &cx,
        artifacts,
        shared,
        command,
        environment,
    )];
    let (companions, volumes) = task::companion_containers(&cx, artifacts, shared);
    containers.extend(companions);
    containers.extend(metrics_agent::agent_container(net, node, shared));
    let task = task::task_definition(&cx, tpl, shared, &access_point, containers, volumes);
    service(&cx, tpl, shared, &task, &discovery, ingress);
    if cx.ec2 {
        container_instance(net, node, &cx.eni(), tpl, shared);
    }
    alarms::alarms(&cx, tpl, shared);
    for peer in placeholder_peers(net, node) {
        let p = peer_host_param(&peer.name);
        shared.used.insert(p.clone(), r(&p));
    }
}

/// EFS access point: the node's own data directory. Returns its logical ID.
fn storage(cx: &NodeCx<'_>, tpl: &mut Tpl, shared: &mut Shared) -> String {
    let ap = format!("{}AccessPoint", cx.n);
    tpl.res(
        &ap,
        "AWS::EFS::AccessPoint",
        json!({
            "FileSystemId": shared.r("FileSystem"),
            "PosixUser": { "Uid": "0", "Gid": "0" },
            "RootDirectory": {
                "Path": format!("/{}", cx.node.name),
                "CreationInfo": { "OwnerUid": "0", "OwnerGid": "0", "Permissions": "0750" }
            },
            "AccessPointTags": tags(cx.net, &cx.tag_name()),
        }),
    );
    ap
}

/// Cloud Map: `<node>.<network>.internal` for peers in this region. Returns the service's
/// logical ID.
fn discovery(cx: &NodeCx<'_>, tpl: &mut Tpl, shared: &mut Shared) -> String {
    let node = cx.node;
    let sd = format!("{}Discovery", cx.n);
    let mut discovery = json!({
        "Name": node.name,
        "Description": format!("{} peers in this region dial this name", node.name),
        "NamespaceId": shared.r("Namespace"),
        "DnsConfig": { "DnsRecords": [{ "Type": "A", "TTL": 10 }], "RoutingPolicy": "MULTIVALUE" },
        "Tags": tags(cx.net, &node.name),
    });
    if !cx.ec2 {
        // ECS registers each Fargate task and reports its health.
        discovery["HealthCheckCustomConfig"] = json!({ "FailureThreshold": 1 });
    }
    tpl.res(&sd, "AWS::ServiceDiscovery::Service", discovery);
    sd
}

/// EC2: the node's own network interface, so its private address (the Cloud Map record)
/// and its Elastic IP outlive any instance; each instance of the node attaches it at boot as
/// its second interface (`instance::ATTACH_ENI`), taking it from a replaced instance.
fn network_interface(cx: &NodeCx<'_>, tpl: &mut Tpl, shared: &mut Shared, discovery: &str) {
    let (net, node) = (cx.net, cx.node);
    let eni = cx.eni();
    let kind = if cx.nlb.is_empty() {
        "Private"
    } else {
        "Public"
    };
    let mut eni_tags = tags(net, &cx.tag_name());
    if let Value::Array(a) = &mut eni_tags {
        // The instance role may attach and detach only the interface with its node's tag.
        a.push(json!({ "Key": NODE_TAG, "Value": node.name }));
    }
    tpl.res(
        &eni,
        "AWS::EC2::NetworkInterface",
        json!({
            "Description": format!("{} of {}: the node's own addresses, attached by its container instance at boot", node.name, net.name),
            "SubnetId": shared.subnet(net, kind, net.zone_slot(node, 2)),
            "GroupSet": [shared.r(&group_sg(&node.group))],
            "Tags": eni_tags,
        }),
    );
    tpl.res(
        &format!("{}DiscoveryInstance", cx.n),
        "AWS::ServiceDiscovery::Instance",
        json!({
            "ServiceId": r(discovery),
            "InstanceId": node.name,
            "InstanceAttributes": { "AWS_INSTANCE_IPV4": ga(&eni, "PrimaryPrivateIpAddress") },
        }),
    );
}

/// The node's ECS service: at most one task, never two at once, placed on the node's own
/// instance (EC2) or in its subnet (Fargate), registered with its load balancers.
fn service(
    cx: &NodeCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    task: &str,
    discovery: &str,
    ingress: ingress::PublicIngress,
) {
    let (net, node) = (cx.net, cx.node);
    let desired = if scalable(node.role) {
        shared.r(&full_param(&node.group))
    } else {
        json!(1)
    };
    let mut props = json!({
        "ServiceName": node.name,
        "Cluster": shared.r("Cluster"),
        "LaunchType": if cx.ec2 { "EC2" } else { "FARGATE" },
        "TaskDefinition": r(task),
        "DesiredCount": desired,
        // Never two copies of one node: stop the old task before the new one starts.
        // A new task definition whose tasks never turn healthy rolls back instead of
        // replacing tasks forever.
        "DeploymentConfiguration": {
            "MinimumHealthyPercent": 0,
            "MaximumPercent": 100,
            "DeploymentCircuitBreaker": { "Enable": true, "Rollback": true },
        },
        "PropagateTags": "SERVICE",
        "EnableECSManagedTags": true,
        "Tags": tags(net, &node.name),
    });
    if cx.ec2 {
        // The node runs only on its own instance, which carries its name as an attribute.
        props["PlacementConstraints"] = json!([{
            "Type": "memberOf",
            "Expression": format!("attribute:{NODE_ATTRIBUTE} == {}", node.name),
        }]);
    } else {
        // A node behind its own NLB runs in the NLB's AZ: an NLB sends traffic only to targets
        // in the zones it is enabled in.
        let task_subnets = if cx.nlb.is_empty() {
            json!([
                shared.subnet(net, "Private", 0),
                shared.subnet(net, "Private", 1)
            ])
        } else {
            json!([shared.subnet(net, "Private", net.zone_slot(node, 2))])
        };
        props["NetworkConfiguration"] = json!({ "AwsvpcConfiguration": {
            "AssignPublicIp": "DISABLED",
            "SecurityGroups": [shared.r(&group_sg(&node.group))],
            "Subnets": task_subnets,
        }});
        props["ServiceRegistries"] = json!([{ "RegistryArn": ga(discovery, "Arn") }]);
    }
    if !ingress.lb_links.is_empty() {
        props["LoadBalancers"] = Value::Array(ingress.lb_links);
        props["HealthCheckGracePeriodSeconds"] = json!(600);
    }
    let svc_res = tpl.res(&format!("{}Service", cx.n), "AWS::ECS::Service", props);
    if !ingress.depends.is_empty() {
        svc_res.insert("DependsOn".into(), Value::Array(ingress.depends));
    }
}
