//! The AWS target: CloudFormation templates (`cloudformation/network.yaml` for the secrets
//! every region needs, `cloudformation/<region>.yaml` per region, nested `<region>/nodes-N.yaml`
//! and `network/secrets-N.yaml` children when a stack would pass CloudFormation's limits) and
//! `cloudformation/deploy.sh` with the exact `aws cloudformation package/deploy` commands.
//!
//! Templates are built as JSON values (sorted keys, so deterministic) and written as YAML by
//! `yaml::to_yaml`. Design choices, each one a constraint of real AWS:
//! - Secrets Manager secrets are regional and their ARNs end in a random suffix, and
//!   `Fn::ImportValue` works only inside one region. So `network.yaml` is deployed once per
//!   region (stack `<network>-network`) and creates, by `Condition` on `AWS::Region`, only the
//!   secrets of that region's nodes, exporting their ARNs for the region stack.
//! - Keyed nodes must never run twice (double signing, one data directory on EFS): every node
//!   is its own ECS service with desired count 1 (0/1 by parameter for full-node groups) and a
//!   deployment that stops the old task before starting the new one.
//! - Public p2p is one Elastic IP per public node, so the node's external address is that IP
//!   (or its Route 53 name) and stable across restarts. On Fargate it fronts a Network Load
//!   Balancer of the node; on the EC2 launch type it is associated with the node's own network
//!   interface, which its container instance (host networking, one per node, placed by a
//!   `memberOf` attribute constraint) attaches as its primary interface. The interface, not the
//!   instance, owns the private address registered in Cloud Map, so an instance recovered or
//!   replaced keeps both addresses.
//! - Peers in one region are Cloud Map names `<node>.<network>.internal`; peers in another
//!   region are Route 53 names when the spec names a zone, else stack parameters
//!   `PeerHost<Node>` which `deploy.sh` fills from the peers' exported Elastic IPs in a second
//!   pass (the IPs do not exist before the first deploy). Peers in another region without
//!   public p2p are unreachable on AWS and left out of the node's peer list.
//! - moto (the test suite's AWS) cannot take NLB listeners, `SubnetMappings`, secrets, Cloud
//!   Map or alarms; tests/cfn_target.rs lists what it takes out before deploying there.

mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use serde_json::{json, Map, Value};

use super::{Context, FileEntry, FileSet};
use crate::chain::{process, Artifacts, PeerHost, Piece, TargetRuntime, Text};
use crate::model::{ec2, Exposure, LaunchType, Network, Node, Protocol, Role};

pub use yaml::to_yaml;

/// Per-stack resource budget (CloudFormation allows 500); leaves room for shared resources.
const MAX_RESOURCES: usize = 400;
/// Per-stack output budget (CloudFormation allows 200).
const MAX_OUTPUTS: usize = 150;
/// Template size budget in bytes (CloudFormation allows 1 MB from S3).
const MAX_BYTES: usize = 1_000_000;
/// YAML bytes of node resources per stack before splitting.
const CHUNK_BYTES: usize = 600_000;
/// Nodes per nested node stack when a region is split.
const NODES_PER_CHILD: usize = 40;
/// Secrets per nested secrets stack (one output each).
const SECRETS_PER_CHILD: usize = 150;
/// Cross-region peer address parameters per region stack (CloudFormation allows 200
/// parameters in all).
const MAX_PEER_PARAMS: usize = 120;
/// Ports served over HTTP behind the Application Load Balancer when public.
const HTTP_PORTS: &[&str] = &["rpc", "api", "graphql"];

/// The CloudFormation files of the network: templates as YAML and `deploy.sh`.
pub fn emit(cx: &Context<'_>) -> anyhow::Result<FileSet> {
    let mut files = FileSet::new();
    for (path, tpl) in templates(cx.net, cx.artifacts)? {
        files.insert(
            format!("cloudformation/{path}"),
            FileEntry::text(to_yaml(&tpl)),
        );
    }
    files.insert(
        "cloudformation/deploy.sh".into(),
        FileEntry::script(deploy_script(cx.net, cx.artifacts, cx.secrets_rel)),
    );
    Ok(files)
}

/// Every template by path below `cloudformation/`, as JSON values.
pub fn templates(net: &Network, artifacts: &Artifacts) -> anyhow::Result<BTreeMap<String, Value>> {
    if net.targets.aws.is_none() {
        anyhow::bail!("internal error: the aws target is not configured");
    }
    let mut out = BTreeMap::new();
    network_templates(net, artifacts, &mut out);
    for region in &net.regions {
        if net.nodes_in(region).next().is_none() {
            continue;
        }
        region_templates(net, artifacts, region, &mut out)?;
    }
    for (path, tpl) in &out {
        let size = to_yaml(tpl).len();
        if size > MAX_BYTES {
            anyhow::bail!("internal error: template {path} is {size} bytes, over the budget");
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Small helpers

/// A CloudFormation logical ID from a name: `snark-worker-1` → `SnarkWorker1`.
pub fn lid(name: &str) -> String {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

fn r(x: &str) -> Value {
    json!({ "Ref": x })
}

fn ga(x: &str, attr: &str) -> Value {
    json!({ "Fn::GetAtt": [x, attr] })
}

fn sub(s: &str) -> Value {
    json!({ "Fn::Sub": s })
}

fn tags(net: &Network, name: &str) -> Value {
    json!([
        { "Key": "Name", "Value": name },
        { "Key": "chainfleet:network", "Value": net.name },
    ])
}

fn skip(checks: &[(&str, &str)]) -> Value {
    let list: Vec<Value> = checks
        .iter()
        .map(|(id, comment)| json!({ "id": id, "comment": comment }))
        .collect();
    json!({ "checkov": { "skip": list } })
}

/// Nested stacks name their child by a local path that `aws cloudformation package` (run
/// by deploy.sh) uploads and rewrites to an S3 URL; cfn-lint's W3002 says exactly that.
fn nested_stack_metadata() -> Value {
    json!({ "cfn-lint": { "config": { "ignore_checks": ["W3002"] } },
            "comment": "TemplateURL is a local path; deploy.sh runs `aws cloudformation package` first" })
}

/// Secret name in Secrets Manager: `<network>/<node>/<key>`, so one IAM pattern
/// `secret:<network>/*` covers this network's secrets and nothing else.
pub fn secret_name(net: &Network, node: &str, key: &str) -> String {
    format!("{}/{node}/{key}", net.name)
}

/// Export name of a secret's ARN.
pub fn secret_export(net: &Network, node: &str, key: &str) -> String {
    format!("{}-{node}-{key}-arn", net.name)
}

/// Export name of a public node's Elastic IP.
pub fn ip_export(net: &Network, node: &str) -> String {
    format!("{}-{node}-public-ip", net.name)
}

fn region_condition(region: &str) -> String {
    format!("In{}", lid(region))
}

/// A CloudFormation template under construction.
#[derive(Default)]
struct Tpl {
    description: String,
    params: Map<String, Value>,
    param_groups: Vec<(String, Vec<String>)>,
    conditions: Map<String, Value>,
    resources: Map<String, Value>,
    outputs: Map<String, Value>,
}

impl Tpl {
    fn res(&mut self, id: &str, ty: &str, props: Value) -> &mut Map<String, Value> {
        self.resources
            .insert(id.into(), json!({ "Type": ty, "Properties": props }));
        self.resources[id].as_object_mut().expect("object")
    }

    fn param(&mut self, group: &str, id: &str, spec: Value) {
        self.params.insert(id.into(), spec);
        match self.param_groups.iter_mut().find(|(g, _)| g == group) {
            Some((_, ids)) => ids.push(id.into()),
            None => self.param_groups.push((group.into(), vec![id.into()])),
        }
    }

    fn output(&mut self, id: &str, desc: &str, value: Value, export: Option<String>) {
        let mut o = json!({ "Description": desc, "Value": value });
        if let Some(e) = export {
            o["Export"] = json!({ "Name": e });
        }
        self.outputs.insert(id.into(), o);
    }

    fn build(self) -> Value {
        let mut t = Map::new();
        t.insert("AWSTemplateFormatVersion".into(), json!("2010-09-09"));
        t.insert("Description".into(), json!(self.description));
        if !self.params.is_empty() {
            let groups: Vec<Value> = self
                .param_groups
                .iter()
                .map(|(g, ids)| json!({ "Label": { "default": g }, "Parameters": ids }))
                .collect();
            let labels: Map<String, Value> = self
                .params
                .iter()
                .map(|(id, p)| {
                    let d = p["Description"].as_str().unwrap_or(id).to_string();
                    (id.clone(), json!({ "default": d }))
                })
                .collect();
            t.insert(
                "Metadata".into(),
                json!({ "AWS::CloudFormation::Interface": {
                    "ParameterGroups": groups, "ParameterLabels": labels } }),
            );
            t.insert("Parameters".into(), Value::Object(self.params));
        }
        if !self.conditions.is_empty() {
            t.insert("Conditions".into(), Value::Object(self.conditions));
        }
        t.insert("Resources".into(), Value::Object(self.resources));
        if !self.outputs.is_empty() {
            t.insert("Outputs".into(), Value::Object(self.outputs));
        }
        Value::Object(t)
    }
}

// ---------------------------------------------------------------------------------------
// network.yaml: secrets and DNS references

struct SecretRef {
    node: String,
    region: String,
    key: String,
    source: String,
}

fn secrets_of(net: &Network, artifacts: &Artifacts) -> Vec<SecretRef> {
    let mut v = Vec::new();
    for node in &net.nodes {
        if let Some(a) = artifacts.nodes.get(&node.name) {
            for s in &a.secret_files {
                v.push(SecretRef {
                    node: node.name.clone(),
                    region: node.region.clone(),
                    key: s.key.clone(),
                    source: s.source.clone(),
                });
            }
        }
    }
    v
}

const SECRET_SKIPS: &[(&str, &str)] = &[
    (
        "CKV_AWS_149",
        "Encrypted with the account's aws/secretsmanager key; a customer managed key adds cost and key policy work without changing who may read the value, which the execution role's secret:<network>/* policy limits.",
    ),
    (
        "CKV2_AWS_57",
        "Node and validator keys are the chain identity derived from the network seed; rotating them would change node IDs and consensus keys, so automatic rotation must stay off.",
    ),
];

fn add_secret(net: &Network, tpl: &mut Tpl, s: &SecretRef, condition: Option<&str>) {
    let id = format!("Secret{}{}", lid(&s.node), lid(&s.key));
    let res = tpl.res(
        &id,
        "AWS::SecretsManager::Secret",
        json!({
            "Name": secret_name(net, &s.node, &s.key),
            "Description": format!("{} of node {} ({}); value pushed by deploy.sh from the secrets tree", s.key, s.node, s.source),
            "Tags": tags(net, &secret_name(net, &s.node, &s.key)),
        }),
    );
    res.insert("Metadata".into(), skip(SECRET_SKIPS));
    if let Some(c) = condition {
        res.insert("Condition".into(), json!(c));
    }
    tpl.output(
        &format!("{id}Arn"),
        &format!("ARN of secret {}", secret_name(net, &s.node, &s.key)),
        r(&id),
        Some(secret_export(net, &s.node, &s.key)),
    );
    if let Some(c) = condition {
        tpl.outputs[&format!("{id}Arn")]["Condition"] = json!(c);
    }
}

fn network_templates(net: &Network, artifacts: &Artifacts, out: &mut BTreeMap<String, Value>) {
    let secrets = secrets_of(net, artifacts);
    let mut tpl = Tpl {
        description: format!(
            "chainfleet network {}: Secrets Manager secrets (values pushed by deploy.sh) and DNS references. Deploy once per region; only that region's nodes' secrets are created.",
            net.name
        ),
        ..Tpl::default()
    };
    let regions: BTreeSet<&str> = secrets.iter().map(|s| s.region.as_str()).collect();
    for region in &regions {
        tpl.conditions.insert(
            region_condition(region),
            json!({ "Fn::Equals": [r("AWS::Region"), region] }),
        );
    }
    let split = secrets.len() > SECRETS_PER_CHILD;
    if split {
        for region in &regions {
            let mine: Vec<&SecretRef> = secrets.iter().filter(|s| s.region == *region).collect();
            for (k, chunk) in mine.chunks(SECRETS_PER_CHILD).enumerate() {
                let mut child = Tpl {
                    description: format!(
                        "chainfleet network {}: secrets of nodes in {region}, part {}",
                        net.name,
                        k + 1
                    ),
                    ..Tpl::default()
                };
                for s in chunk {
                    add_secret(net, &mut child, s, None);
                }
                let path = format!("network/secrets-{region}-{}.yaml", k + 1);
                let id = format!("Secrets{}Part{}", lid(region), k + 1);
                let res = tpl.res(
                    &id,
                    "AWS::CloudFormation::Stack",
                    json!({ "TemplateURL": path, "Tags": tags(net, &format!("{}-secrets", net.name)) }),
                );
                res.insert("Condition".into(), json!(region_condition(region)));
                res.insert("Metadata".into(), nested_stack_metadata());
                out.insert(path, child.build());
            }
        }
    } else {
        for s in &secrets {
            add_secret(net, &mut tpl, s, Some(&region_condition(&s.region)));
        }
    }
    if let Some((zone, zone_id)) = &net.targets.aws.as_ref().and_then(|a| a.dns_zone.clone()) {
        tpl.output(
            "HostedZoneId",
            &format!("Route 53 hosted zone of {zone}, where public node names live"),
            json!(zone_id),
            Some(format!("{}-hosted-zone-id", net.name)),
        );
        tpl.output(
            "HostedZoneName",
            "Route 53 zone name",
            json!(zone),
            Some(format!("{}-hosted-zone-name", net.name)),
        );
    }
    if tpl.resources.is_empty() {
        // A stack needs one resource: a chain without secret files gets a no-op handle (no
        // cost, nothing to tag), so deploy.sh's order stays the same for every network.
        tpl.resources.insert(
            "NoSecrets".into(),
            json!({ "Type": "AWS::CloudFormation::WaitConditionHandle" }),
        );
    }
    out.insert("network.yaml".into(), tpl.build());
}

// ---------------------------------------------------------------------------------------
// Region stacks

/// Fargate task size: the smallest valid (cpu units, memory MiB) holding the request.
pub fn fargate_size(cpu_millis: u32, memory_mib: u64) -> (u32, u64) {
    let table: &[(u32, u64, u64, u64)] = &[
        // cpu, min mem, max mem, step
        (256, 512, 2048, 512),
        (512, 1024, 4096, 1024),
        (1024, 2048, 8192, 1024),
        (2048, 4096, 16384, 1024),
        (4096, 8192, 30720, 1024),
        (8192, 16384, 61440, 4096),
        (16384, 32768, 122880, 8192),
    ];
    for &(cpu, min, max, step) in table {
        if cpu < cpu_millis.saturating_mul(1024) / 1000 && cpu != 16384 {
            continue;
        }
        if memory_mib > max && cpu != 16384 {
            continue;
        }
        let mem = memory_mib.clamp(min, max);
        let mem = mem.div_ceil(step) * step;
        return (cpu, mem.min(max));
    }
    (16384, 122880)
}

/// CloudWatch Logs accepts only these retention periods; round up.
pub fn retention_days(days: u32) -> u32 {
    const ALLOWED: &[u32] = &[
        1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
        2922, 3288, 3653,
    ];
    ALLOWED.iter().copied().find(|&a| a >= days).unwrap_or(3653)
}

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

fn is_http(name: &str) -> bool {
    HTTP_PORTS.contains(&name)
}

/// Ports a container publishes (pprof stays on loopback).
fn served(node: &Node) -> impl Iterator<Item = &crate::model::Port> {
    node.ports.iter().filter(|p| p.name != "pprof")
}

/// Public ports reached through the node's own NLB (p2p and any non-HTTP public port).
fn nlb_ports(node: &Node) -> Vec<&crate::model::Port> {
    served(node)
        .filter(|p| p.exposure == Exposure::Public && !is_http(&p.name))
        .collect()
}

/// Nodes in other regions whose address is a stack parameter (no DNS zone).
fn placeholder_peers<'a>(net: &'a Network, node: &Node) -> Vec<&'a Node> {
    if net
        .targets
        .aws
        .as_ref()
        .is_some_and(|a| a.dns_zone.is_some())
    {
        return Vec::new();
    }
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for p in node.peers.persistent.iter().chain(&node.peers.seeds) {
        names.insert(p);
    }
    names
        .into_iter()
        .filter_map(|n| net.node(n))
        .filter(|p| p.region != node.region && reachable(node, p))
        .collect()
}

/// True when `from` can dial `peer`: same region (Cloud Map), or public p2p.
fn reachable(from: &Node, peer: &Node) -> bool {
    peer.region == from.region || nlb_ports(peer).iter().any(|p| p.name == "p2p")
}

/// How ECS runs nodes: tasks of the one image, same-region peers by Cloud Map name, other
/// regions' public nodes by Route 53 name or a peer-host stack parameter.
pub struct CfnRuntime;

impl TargetRuntime for CfnRuntime {
    fn home(&self, net: &Network) -> Text {
        Text::lit(net.chain.home.clone())
    }
    /// Peers in another region without public p2p cannot be dialled: they are left out, or
    /// the start-up would wait forever for a name that never resolves.
    fn peer_host(&self, net: &Network, from: &Node, peer: &Node) -> PeerHost {
        if !reachable(from, peer) {
            return PeerHost::Unreachable;
        }
        if peer.region == from.region {
            PeerHost::At(Text::lit(format!("{}.{}.internal", peer.name, net.name)))
        } else if let Some((zone, _)) = net.targets.aws.as_ref().and_then(|a| a.dns_zone.as_ref()) {
            PeerHost::At(Text::lit(format!("{}.{zone}", peer.name)))
        } else {
            PeerHost::At(Text::expr(format!("${{PeerHost{}}}", lid(&peer.name))))
        }
    }
    /// A public node's Elastic IP (or its Route 53 name), known only once the stack exists.
    fn external_address(&self, net: &Network, node: &Node) -> Option<Text> {
        if nlb_ports(node).is_empty() {
            return None;
        }
        let p2p = node.port("p2p").map_or(0, |p| p.container);
        Some(
            match net.targets.aws.as_ref().and_then(|a| a.dns_zone.as_ref()) {
                Some((zone, _)) => Text::lit(format!("{}.{zone}:{p2p}", node.name)),
                None => {
                    let eip = format!("{}Eip", lid(&node.name));
                    Text::expr(json!({ "Fn::Join": [":", [r(&eip), p2p.to_string()]] }).to_string())
                }
            },
        )
    }
    fn names_home(&self) -> bool {
        true
    }
    fn dials_by_name(&self) -> bool {
        true
    }
}

/// A process text as a CloudFormation value: a string; `Fn::Sub` when it names peer-host
/// parameters (`${PeerHost…}`; any other `${` is the container shell's and is escaped);
/// `Fn::Join` around intrinsics.
fn cfn_value(t: &Text) -> Value {
    let intrinsic = |e: &str| !e.starts_with("${");
    let has_intrinsic = t
        .pieces()
        .iter()
        .any(|p| matches!(p, Piece::Expr(e) if intrinsic(e)));
    if has_intrinsic {
        let parts: Vec<Value> = t
            .pieces()
            .iter()
            .map(|p| match p {
                Piece::Expr(e) if intrinsic(e) => {
                    serde_json::from_str(e).unwrap_or_else(|_| json!(e))
                }
                other => cfn_value(&Text::from_pieces(vec![other.clone()])),
            })
            .collect();
        return match <[Value; 1]>::try_from(parts) {
            Ok([one]) => one,
            Err(parts) => json!({ "Fn::Join": ["", parts] }),
        };
    }
    if let Some(s) = t.literal() {
        return json!(s);
    }
    let sub = t.render(
        &|s| s.replace("${", "${!"),
        &|e| e.to_string(),
        &|_, body| body,
    );
    json!({ "Fn::Sub": sub })
}

/// The container's command and environment (`Name`/`Value` pairs) of `node`.
fn container_launch(net: &Network, artifacts: &Artifacts, node: &Node) -> (Vec<Value>, Vec<Value>) {
    let proc = process(net, artifacts, node, &CfnRuntime);
    let mut command = vec![cfn_value(&proc.program)];
    command.extend(proc.args.iter().map(cfn_value));
    let environment = proc
        .env
        .iter()
        .map(|(k, v)| json!({ "Name": k, "Value": cfn_value(v) }))
        .collect();
    (command, environment)
}

/// Where node resources find shared region resources: directly, or as parameters of a
/// nested stack (same name) passed by the parent.
struct Shared {
    child: bool,
    used: BTreeMap<String, Value>,
}

impl Shared {
    /// `Ref id` in the region stack; a parameter `id` in a child.
    fn r(&mut self, id: &str) -> Value {
        if self.child {
            self.used.insert(id.into(), r(id));
        }
        r(id)
    }

    /// `Fn::GetAtt id.attr` in the region stack; a parameter `<id><attr>` in a child.
    fn ga(&mut self, id: &str, attr: &str) -> Value {
        if self.child {
            let p = format!("{id}{}", attr.replace('.', ""));
            self.used.insert(p.clone(), ga(id, attr));
            r(&p)
        } else {
            ga(id, attr)
        }
    }

    /// A subnet ID (`PublicSubnet1`, `PrivateSubnet2`).
    fn subnet(&mut self, net: &Network, kind: &str, i: usize) -> Value {
        if existing_vpc(net) {
            let p = format!("{kind}Subnets");
            json!({ "Fn::Select": [i, self.r(&p)] })
        } else {
            self.r(&format!("{kind}Subnet{}", i + 1))
        }
    }

    fn vpc(&mut self, net: &Network) -> Value {
        if existing_vpc(net) {
            self.r("VpcId")
        } else {
            self.r("Vpc")
        }
    }
}

fn existing_vpc(net: &Network) -> bool {
    net.targets
        .aws
        .as_ref()
        .is_some_and(|a| a.vpc_cidr.is_none())
}

fn alarm_actions(net: &Network, shared: &mut Shared) -> Value {
    let mut v = vec![shared.r("AlertTopic")];
    v.extend(net.monitoring.sns_topics.iter().map(|t| json!(t)));
    Value::Array(v)
}

/// Logical ID of a (group, port) ALB target group.
fn alb_tg(group: &str, port: &str) -> String {
    format!("Tg{}{}", lid(group), lid(port))
}

/// A trust policy letting one AWS service assume a role.
fn assumed_by(service: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{ "Effect": "Allow", "Principal": { "Service": service }, "Action": "sts:AssumeRole" }]
    })
}

fn group_sg(group: &str) -> String {
    format!("Sg{}", lid(group))
}

fn full_param(group: &str) -> String {
    format!("{}DesiredCount", lid(group))
}

/// A group's resources (the spec's defaults if the group were unknown).
fn group_resources(net: &Network, group: &str) -> crate::model::Resources {
    net.group(group).map_or_else(
        || crate::model::resolve::resources_of(None),
        |g| g.resources,
    )
}

fn scalable(role: Role) -> bool {
    matches!(role, Role::Full | Role::Archive | Role::SnarkWorker)
}

/// Add the resources of one node to `tpl`.
fn node_resources(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
    tpl: &mut Tpl,
    shared: &mut Shared,
) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let n = lid(&node.name);
    let chain = &net.chain;
    let na = artifacts.nodes.get(&node.name).cloned().unwrap_or_default();

    // EFS access point: the node's own data directory.
    let ap = format!("{n}AccessPoint");
    tpl.res(
        &ap,
        "AWS::EFS::AccessPoint",
        json!({
            "FileSystemId": shared.r("FileSystem"),
            "PosixUser": { "Uid": "0", "Gid": "0" },
            "RootDirectory": {
                "Path": format!("/{}", node.name),
                "CreationInfo": { "OwnerUid": "0", "OwnerGid": "0", "Permissions": "0750" }
            },
            "AccessPointTags": tags(net, &format!("{}-{}", net.name, node.name)),
        }),
    );

    // Cloud Map: <node>.<network>.internal for peers in this region.
    let sd = format!("{n}Discovery");
    let mut discovery = json!({
        "Name": node.name,
        "Description": format!("{} peers in this region dial this name", node.name),
        "NamespaceId": shared.r("Namespace"),
        "DnsConfig": { "DnsRecords": [{ "Type": "A", "TTL": 10 }], "RoutingPolicy": "MULTIVALUE" },
        "Tags": tags(net, &node.name),
    });
    let ec2 = aws.launch_type == LaunchType::Ec2;
    if !ec2 {
        // ECS registers each Fargate task and reports its health.
        discovery["HealthCheckCustomConfig"] = json!({ "FailureThreshold": 1 });
    }
    tpl.res(&sd, "AWS::ServiceDiscovery::Service", discovery);

    // EC2: the node's own network interface, so its private address (the Cloud Map record)
    // and its Elastic IP outlive any instance; the instance attaches it as its primary one.
    let nlb = nlb_ports(node);
    let eni = format!("{n}Eni");
    if ec2 {
        let kind = if nlb.is_empty() { "Private" } else { "Public" };
        tpl.res(
            &eni,
            "AWS::EC2::NetworkInterface",
            json!({
                "Description": format!("{} of {}: primary interface of its container instance", node.name, net.name),
                "SubnetId": shared.subnet(net, kind, node.ordinal as usize % 2),
                "GroupSet": [shared.r(&group_sg(&node.group))],
                "Tags": tags(net, &format!("{}-{}", net.name, node.name)),
            }),
        );
        tpl.res(
            &format!("{n}DiscoveryInstance"),
            "AWS::ServiceDiscovery::Instance",
            json!({
                "ServiceId": r(&sd),
                "InstanceId": node.name,
                "InstanceAttributes": { "AWS_INSTANCE_IPV4": ga(&eni, "PrimaryPrivateIpAddress") },
            }),
        );
    }

    // Public p2p: an Elastic IP, on the node's NLB (Fargate) or its interface (EC2).
    let mut lb_links: Vec<Value> = Vec::new();
    let mut depends: Vec<Value> = Vec::new();
    if !nlb.is_empty() {
        let eip = format!("{n}Eip");
        tpl.res(
            &eip,
            "AWS::EC2::EIP",
            json!({ "Domain": "vpc", "Tags": tags(net, &format!("{}-{}", net.name, node.name)) }),
        );
        if ec2 {
            tpl.res(
                &format!("{n}EipAssociation"),
                "AWS::EC2::EIPAssociation",
                json!({ "AllocationId": ga(&eip, "AllocationId"), "NetworkInterfaceId": r(&eni) }),
            );
        }
    }
    if !nlb.is_empty() && !ec2 {
        let eip = format!("{n}Eip");
        let lb = format!("{n}Nlb");
        let az = node.ordinal as usize % 2;
        let res = tpl.res(
            &lb,
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            json!({
                "Type": "network",
                "Scheme": "internet-facing",
                "SubnetMappings": [{ "SubnetId": shared.subnet(net, "Public", az), "AllocationId": ga(&eip, "AllocationId") }],
                "LoadBalancerAttributes": [
                    { "Key": "load_balancing.cross_zone.enabled", "Value": "true" },
                    { "Key": "deletion_protection.enabled", "Value": "false" }
                ],
                "Tags": tags(net, &format!("{}-{}", net.name, node.name)),
            }),
        );
        res.insert(
            "Metadata".into(),
            skip(&[
                ("CKV_AWS_91", "Access logs of a TCP pass-through for p2p traffic carry no request data worth the bucket; Container Insights and the node logs cover the node."),
                ("CKV_AWS_150", "Deletion protection would block `aws cloudformation delete-stack` of a test network; the Elastic IP, not the load balancer, is the stable address."),
            ]),
        );
        for p in &nlb {
            let proto = if p.protocol == Protocol::TcpUdp {
                "TCP_UDP"
            } else {
                "TCP"
            };
            let tg = format!("{n}Tg{}", lid(&p.name));
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
            let lis = format!("{n}Listener{}", lid(&p.name));
            tpl.res(
                &lis,
                "AWS::ElasticLoadBalancingV2::Listener",
                json!({
                    "LoadBalancerArn": r(&lb),
                    "Port": p.container,
                    "Protocol": proto,
                    "DefaultActions": [{ "Type": "forward", "TargetGroupArn": r(&tg) }],
                }),
            );
            depends.push(json!(lis));
            lb_links.push(json!({ "ContainerName": "node", "ContainerPort": p.container, "TargetGroupArn": r(&tg) }));
        }
    }
    if !nlb.is_empty() {
        let eip = format!("{n}Eip");
        tpl.output(
            &format!("{n}PublicIp"),
            &format!("Elastic IP of {}", node.name),
            r(&eip),
            Some(ip_export(net, &node.name)),
        );
        // The address peers dial is the runtime's (`CfnRuntime::external_address`); the
        // record here is what makes its name resolve.
        if let Some((zone, zone_id)) = &aws.dns_zone {
            let rec = format!("{n}Record");
            tpl.res(
                &rec,
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
    // Public HTTP ports: the region's ALB target groups.
    for p in served(node).filter(|p| p.exposure == Exposure::Public && is_http(&p.name)) {
        lb_links.push(json!({
            "ContainerName": "node", "ContainerPort": p.container,
            "TargetGroupArn": shared.r(&alb_tg(&node.group, &p.name)),
        }));
        let lis = format!("AlbListener{}", p.container);
        if !shared.child {
            depends.push(json!(lis));
        }
    }

    // The node's process, as every target runs it.
    let (command, environment) = container_launch(net, artifacts, node);
    let secrets: Vec<Value> = na
        .secret_files
        .iter()
        .map(|s| {
            json!({
                "Name": format!("CHAINFLEET_SECRET_{}", s.key.to_uppercase()),
                "ValueFrom": { "Fn::ImportValue": secret_export(net, &node.name, &s.key) },
            })
        })
        .collect();
    let mut port_mappings = Vec::new();
    for p in served(node) {
        let protos: &[&str] = if p.protocol == Protocol::TcpUdp {
            &["tcp", "udp"]
        } else {
            &["tcp"]
        };
        for proto in protos {
            let mut m = json!({ "ContainerPort": p.container, "Protocol": proto });
            if ec2 {
                // Host networking: the container's ports are the instance's.
                m["HostPort"] = json!(p.container);
            }
            port_mappings.push(m);
        }
    }
    let res = group_resources(net, &node.group);
    let (cpu, mem) = if ec2 {
        // Exact reservations: 1024 CPU units per vCPU; the instance is sized to hold them.
        (
            res.cpu_millis.saturating_mul(1024).div_ceil(1000),
            res.memory_mib,
        )
    } else {
        fargate_size(res.cpu_millis, res.memory_mib)
    };
    let mut container = json!({
        "Name": "node",
        "Image": shared.r("Image"),
        "Essential": true,
        "Command": command,
        "Environment": environment,
        "PortMappings": port_mappings,
        "MountPoints": [{ "SourceVolume": "data", "ContainerPath": chain.home, "ReadOnly": false }],
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": shared.r("LogGroup"),
                "awslogs-region": r("AWS::Region"),
                "awslogs-stream-prefix": node.name,
            }
        },
        "StopTimeout": 120,
    });
    if !secrets.is_empty() {
        container["Secrets"] = Value::Array(secrets);
    }
    let td = format!("{n}Task");
    let res_td = tpl.res(
        &td,
        "AWS::ECS::TaskDefinition",
        json!({
            "Family": format!("{}-{}", net.name, node.name),
            "Cpu": cpu.to_string(),
            "Memory": mem.to_string(),
            "NetworkMode": if ec2 { "host" } else { "awsvpc" },
            "RequiresCompatibilities": [if ec2 { "EC2" } else { "FARGATE" }],
            "ExecutionRoleArn": shared.ga("ExecutionRole", "Arn"),
            "TaskRoleArn": shared.ga("TaskRole", "Arn"),
            "ContainerDefinitions": [container],
            "Volumes": [{
                "Name": "data",
                "EFSVolumeConfiguration": {
                    "FilesystemId": shared.r("FileSystem"),
                    "TransitEncryption": "ENABLED",
                    "AuthorizationConfig": { "AccessPointId": r(&ap), "IAM": "ENABLED" }
                }
            }],
            "Tags": tags(net, &format!("{}-{}", net.name, node.name)),
        }),
    );
    res_td.insert(
        "Metadata".into(),
        skip(&[(
            "CKV_AWS_336",
            "The entrypoint installs public files and secrets into the node home and the node writes its data there (an EFS volume) and to its own temp files; a read-only root file system would break chain binaries that write outside the volume.",
        )]),
    );

    let desired = if scalable(node.role) {
        shared.r(&full_param(&node.group))
    } else {
        json!(1)
    };
    let svc = format!("{n}Service");
    let mut props = json!({
        "ServiceName": node.name,
        "Cluster": shared.r("Cluster"),
        "LaunchType": if ec2 { "EC2" } else { "FARGATE" },
        "TaskDefinition": r(&td),
        "DesiredCount": desired,
        // Never two copies of one node: stop the old task before the new one starts.
        "DeploymentConfiguration": { "MinimumHealthyPercent": 0, "MaximumPercent": 100 },
        "PropagateTags": "SERVICE",
        "EnableECSManagedTags": true,
        "Tags": tags(net, &node.name),
    });
    if ec2 {
        // The node runs only on its own instance, which carries its name as an attribute.
        props["PlacementConstraints"] = json!([{
            "Type": "memberOf",
            "Expression": format!("attribute:{NODE_ATTRIBUTE} == {}", node.name),
        }]);
        container_instance(net, node, &eni, !nlb.is_empty(), tpl, shared);
    } else {
        // A node behind its own NLB runs in the NLB's AZ: an NLB sends traffic only to targets
        // in the zones it is enabled in.
        let task_subnets = if nlb.is_empty() {
            json!([
                shared.subnet(net, "Private", 0),
                shared.subnet(net, "Private", 1)
            ])
        } else {
            json!([shared.subnet(net, "Private", node.ordinal as usize % 2)])
        };
        props["NetworkConfiguration"] = json!({ "AwsvpcConfiguration": {
            "AssignPublicIp": "DISABLED",
            "SecurityGroups": [shared.r(&group_sg(&node.group))],
            "Subnets": task_subnets,
        }});
        props["ServiceRegistries"] = json!([{ "RegistryArn": ga(&sd, "Arn") }]);
    }
    if !lb_links.is_empty() {
        props["LoadBalancers"] = Value::Array(lb_links);
        props["HealthCheckGracePeriodSeconds"] = json!(600);
    }
    let svc_res = tpl.res(&svc, "AWS::ECS::Service", props);
    if !depends.is_empty() {
        svc_res.insert("DependsOn".into(), Value::Array(depends));
    }

    // Alarms: memory (the reason for leaving Elastic Beanstalk) and CPU, per service.
    for (metric, threshold, what) in [
        ("MemoryUtilization", net.monitoring.memory_percent, "memory"),
        ("CPUUtilization", net.monitoring.cpu_percent, "cpu"),
    ] {
        let actions = alarm_actions(net, shared);
        tpl.res(
            &format!("{n}{}Alarm", lid(what)),
            "AWS::CloudWatch::Alarm",
            json!({
                "AlarmName": format!("{}-{}-{what}", net.name, node.name),
                "AlarmDescription": format!("{} {what} above {threshold}% of its task size", node.name),
                "Namespace": "AWS/ECS",
                "MetricName": metric,
                "Dimensions": [
                    { "Name": "ClusterName", "Value": net.name },
                    { "Name": "ServiceName", "Value": node.name },
                ],
                "Statistic": "Maximum",
                "Period": 60,
                "EvaluationPeriods": 5,
                "DatapointsToAlarm": 3,
                "Threshold": threshold,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "missing",
                "AlarmActions": actions.clone(),
                "OKActions": actions,
                "Tags": tags(net, &format!("{}-{}-{what}", net.name, node.name)),
            }),
        );
    }
    for peer in placeholder_peers(net, node) {
        let p = format!("PeerHost{}", lid(&peer.name));
        shared.used.insert(p.clone(), r(&p));
    }
}

/// ECS container instance attribute naming the node an EC2 instance runs.
const NODE_ATTRIBUTE: &str = "chainfleet.node";

/// Stack parameter with the instance type of a group's container instances.
fn instance_type_param(group: &str) -> String {
    format!("{}InstanceType", lid(group))
}

/// Condition true when a scalable group runs (its desired-count parameter is not 0).
fn runs_condition(group: &str) -> String {
    format!("{}Runs", lid(group))
}

/// EC2 launch type: the node's container instance on its own network interface, and an
/// alarm that recovers it (same interface, addresses and volume) when the host fails.
fn container_instance(
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
    if let Value::Array(a) = alarm_actions(net, shared) {
        actions.extend(a);
    }
    let res = tpl.res(
        &format!("{n}RecoverAlarm"),
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": format!("{}-{}-host", net.name, node.name),
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
            "Tags": tags(net, &format!("{}-{}-host", net.name, node.name)),
        }),
    );
    if let Some(c) = &condition {
        res.insert("Condition".into(), json!(c));
    }
}

/// Resources and YAML bytes one node adds (for splitting), measured by building them.
fn measure(net: &Network, artifacts: &Artifacts, node: &Node) -> (usize, usize) {
    let mut t = Tpl::default();
    let mut sh = Shared {
        child: true,
        used: BTreeMap::new(),
    };
    node_resources(net, artifacts, node, &mut t, &mut sh);
    let n = t.resources.len();
    (
        n,
        to_yaml(&Value::Object(t.resources)).len() + to_yaml(&Value::Object(t.outputs)).len(),
    )
}

/// The template so far, to measure its size.
fn tpl_size_probe(t: &Tpl) -> Value {
    json!({ "Resources": t.resources, "Parameters": t.params, "Outputs": t.outputs })
}

fn region_templates(
    net: &Network,
    artifacts: &Artifacts,
    region: &str,
    out: &mut BTreeMap<String, Value>,
) -> anyhow::Result<()> {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let nodes: Vec<&Node> = net.nodes_in(region).collect();
    let groups: Vec<&str> = {
        let mut g: Vec<&str> = Vec::new();
        for n in &nodes {
            if !g.contains(&n.group.as_str()) {
                g.push(&n.group);
            }
        }
        g
    };
    let ec2 = aws.launch_type == LaunchType::Ec2;
    let mut tpl = Tpl {
        description: format!(
            "chainfleet network {} in {region}: VPC, ECS cluster with Container Insights, {}, EFS, Cloud Map, load balancers, alarms and dashboard",
            net.name,
            if ec2 {
                "one EC2 container instance and service per node"
            } else {
                "one Fargate service per node"
            }
        ),
        ..Tpl::default()
    };

    // Parameters.
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
    let mut scalable_groups = BTreeSet::new();
    for n in &nodes {
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
    if ec2 {
        ec2_parameters(net, &groups, &mut tpl);
    }
    let mut peer_params: BTreeSet<String> = BTreeSet::new();
    for n in &nodes {
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
            &format!("PeerHost{}", lid(p)),
            json!({
                "Type": "String",
                "Description": format!("Public address of {p} in another region (its exported Elastic IP {}; deploy.sh fills it in a second pass)", ip_export(net, p)),
                "Default": "0.0.0.0",
                "AllowedPattern": "^[A-Za-z0-9.-]{1,253}$",
                "ConstraintDescription": "an IPv4 address or DNS name",
            }),
        );
    }

    // Network: a new VPC or an existing one.
    if let Some(cidr) = &aws.vpc_cidr {
        vpc_resources(net, cidr, &mut tpl);
    } else {
        tpl.param(
            "Network",
            "VpcId",
            json!({ "Type": "AWS::EC2::VPC::Id", "Description": "Existing VPC" }),
        );
        tpl.param("Network", "PublicSubnets", json!({ "Type": "List<AWS::EC2::Subnet::Id>", "Description": if ec2 { "Two public subnets in different AZs (load balancers, instances of nodes with public p2p)" } else { "Two public subnets in different AZs (load balancers)" } }));
        tpl.param("Network", "PrivateSubnets", json!({ "Type": "List<AWS::EC2::Subnet::Id>", "Description": "Two private subnets with NAT egress in different AZs (tasks, EFS)" }));
    }
    let mut shared = Shared {
        child: false,
        used: BTreeMap::new(),
    };

    // ECS cluster.
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

    // IAM: the execution role reads only this network's secrets; the task role mounts EFS.
    tpl.res(
        "ExecutionRole",
        "AWS::IAM::Role",
        json!({
            "Description": format!("ECS task execution role of {}: pull the image, write logs, read secrets {}/*", net.name, net.name),
            "AssumeRolePolicyDocument": assumed_by("ecs-tasks.amazonaws.com"),
            "ManagedPolicyArns": [sub("arn:${AWS::Partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")],
            "Policies": [{
                "PolicyName": "read-network-secrets",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": sub(&format!("arn:${{AWS::Partition}}:secretsmanager:${{AWS::Region}}:${{AWS::AccountId}}:secret:{}/*", net.name)),
                    }]
                }
            }],
            "Tags": tags(net, &format!("{}-execution", net.name)),
        }),
    );
    tpl.res(
        "TaskRole",
        "AWS::IAM::Role",
        json!({
            "Description": format!("ECS task role of {} nodes: mount their EFS access points, nothing else", net.name),
            "AssumeRolePolicyDocument": assumed_by("ecs-tasks.amazonaws.com"),
            "Policies": [{
                "PolicyName": "mount-chain-data",
                "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{
                        "Effect": "Allow",
                        "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
                        "Resource": sub("arn:${AWS::Partition}:elasticfilesystem:${AWS::Region}:${AWS::AccountId}:file-system/${FileSystem}"),
                    }]
                }
            }],
            "Tags": tags(net, &format!("{}-task", net.name)),
        }),
    );

    if ec2 {
        instance_role(net, &mut tpl);
    }

    // Security groups: one per group; rules added below.
    let vpc = shared.vpc(net);
    for g in &groups {
        tpl.res(
            &group_sg(g),
            "AWS::EC2::SecurityGroup",
            json!({
                "GroupDescription": format!("{} nodes of {}", g, net.name),
                "VpcId": vpc,
                "Tags": tags(net, &format!("{}-{g}", net.name)),
            }),
        );
    }
    let alb_ports: BTreeMap<u16, Vec<(String, String)>> = {
        let mut m: BTreeMap<u16, Vec<(String, String)>> = BTreeMap::new();
        for n in &nodes {
            for p in served(n).filter(|p| p.exposure == Exposure::Public && is_http(&p.name)) {
                let e = m.entry(p.container).or_default();
                let k = (n.group.clone(), p.name.clone());
                if !e.contains(&k) {
                    e.push(k);
                }
            }
        }
        m
    };
    // Ingress rules: (target group, port, protocol, source) with a reason.
    let mut rules: BTreeMap<(String, u16, &str, String), String> = BTreeMap::new();
    let by_name: BTreeMap<&str, &Node> = nodes.iter().map(|n| (n.name.as_str(), *n)).collect();
    for n in &nodes {
        for p in nlb_ports(n) {
            for proto in if p.protocol == Protocol::TcpUdp {
                &["tcp", "udp"][..]
            } else {
                &["tcp"][..]
            } {
                rules.insert(
                    (n.group.clone(), p.container, proto, "0.0.0.0/0".into()),
                    if ec2 {
                        format!("public {} on the node's Elastic IP", p.name)
                    } else {
                        format!("public {} through the node's network load balancer", p.name)
                    },
                );
            }
        }
        for p in served(n).filter(|p| p.exposure == Exposure::Public && is_http(&p.name)) {
            rules.insert(
                (
                    n.group.clone(),
                    p.container,
                    "tcp",
                    "sg:AlbSecurityGroup".into(),
                ),
                format!("{} from the application load balancer", p.name),
            );
        }
        // p2p both ways between peers in this region.
        let peers = n
            .peers
            .persistent
            .iter()
            .chain(&n.peers.seeds)
            .chain(&n.peers.unconditional);
        for peer in peers.filter_map(|p| by_name.get(p.as_str())) {
            for (dst, src) in [(*n, *peer), (*peer, *n)] {
                if let Some(p) = dst.port("p2p") {
                    for proto in if p.protocol == Protocol::TcpUdp {
                        &["tcp", "udp"][..]
                    } else {
                        &["tcp"][..]
                    } {
                        rules.insert(
                            (
                                dst.group.clone(),
                                p.container,
                                proto,
                                format!("sg:{}", group_sg(&src.group)),
                            ),
                            format!("p2p from {} peers", src.group),
                        );
                    }
                }
            }
        }
        // SNARK workers reach their coordinator's internal ports.
        if let Some(coord) = net.group(&n.group).and_then(|g| g.coordinator.clone()) {
            for c in nodes.iter().filter(|c| c.group == coord) {
                for p in served(c).filter(|p| p.name != "p2p" && p.name != "metrics") {
                    rules.insert(
                        (
                            c.group.clone(),
                            p.container,
                            "tcp",
                            format!("sg:{}", group_sg(&n.group)),
                        ),
                        format!("{} from the {} pool", p.name, n.group),
                    );
                }
            }
        }
    }
    let mut per_sg: BTreeMap<&str, usize> = BTreeMap::new();
    for ((g, port, proto, src), why) in &rules {
        let i = per_sg.entry(g.as_str()).or_default();
        *i += 1;
        let mut props = json!({
            "GroupId": ga(&group_sg(g), "GroupId"),
            "IpProtocol": proto,
            "FromPort": port,
            "ToPort": port,
            "Description": why,
        });
        if let Some(sg) = src.strip_prefix("sg:") {
            props["SourceSecurityGroupId"] = ga(sg, "GroupId");
        } else {
            props["CidrIp"] = json!(src);
        }
        tpl.res(
            &format!("{}Ingress{i}", group_sg(g)),
            "AWS::EC2::SecurityGroupIngress",
            props,
        );
    }

    // EFS: encrypted, mount targets in the private subnets, NFS only from node groups.
    let efs_sg_rules: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049, "SourceSecurityGroupId": ga(&group_sg(g), "GroupId"), "Description": format!("NFS from {g} nodes") }))
        .collect();
    tpl.res(
        "EfsSecurityGroup",
        "AWS::EC2::SecurityGroup",
        json!({
            "GroupDescription": format!("EFS mount targets of {}", net.name),
            "VpcId": vpc,
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
            "FileSystemTags": tags(net, &format!("{}-data", net.name)),
        }),
    );
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

    // Cloud Map namespace for peers in this region.
    tpl.res(
        "Namespace",
        "AWS::ServiceDiscovery::PrivateDnsNamespace",
        json!({
            "Name": format!("{}.internal", net.name),
            "Description": format!("Peer names of {} in this region", net.name),
            "Vpc": vpc,
            "Tags": tags(net, &format!("{}.internal", net.name)),
        }),
    );

    // Application Load Balancer for public RPC/API.
    if !alb_ports.is_empty() {
        alb_resources(net, &nodes, &alb_ports, &mut tpl, &mut shared);
    }

    // Alerts: SNS topic with every target of the spec.
    tpl.res(
        "AlertTopic",
        "AWS::SNS::Topic",
        json!({
            "DisplayName": format!("{} alerts", net.name),
            "KmsMasterKeyId": "alias/aws/sns",
            "Tags": tags(net, &format!("{}-alerts", net.name)),
        }),
    );
    for (i, email) in net.monitoring.email.iter().enumerate() {
        tpl.res(
            &format!("AlertEmail{}", i + 1),
            "AWS::SNS::Subscription",
            json!({ "TopicArn": r("AlertTopic"), "Protocol": "email", "Endpoint": email }),
        );
    }
    for (i, hook) in net.monitoring.webhooks.iter().enumerate() {
        let proto = if hook.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        tpl.res(
            &format!("AlertWebhook{}", i + 1),
            "AWS::SNS::Subscription",
            json!({ "TopicArn": r("AlertTopic"), "Protocol": proto, "Endpoint": hook }),
        );
    }
    // Consensus errors and missed blocks in the node logs.
    let metric_ns = format!("Chainfleet/{}", net.name);
    tpl.res(
        "ConsensusErrorFilter",
        "AWS::Logs::MetricFilter",
        json!({
            "LogGroupName": r("LogGroup"),
            "FilterPattern": "?\"CONSENSUS FAILURE\" ?\"consensus failure\" ?\"missed block\" ?\"MissedBlock\" ?\"failed to verify\" ?\"panic:\"",
            "MetricTransformations": [{
                "MetricNamespace": metric_ns, "MetricName": "ConsensusErrors", "MetricValue": "1", "DefaultValue": 0
            }],
        }),
    );
    let actions = alarm_actions(net, &mut shared);
    tpl.res(
        "ConsensusErrorAlarm",
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": format!("{}-{region}-consensus-errors", net.name),
            "AlarmDescription": "Consensus failures, missed blocks or panics in node logs",
            "Namespace": metric_ns,
            "MetricName": "ConsensusErrors",
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions.clone(),
            "OKActions": actions,
            "Tags": tags(net, &format!("{}-{region}-consensus-errors", net.name)),
        }),
    );
    tpl.res(
        "Dashboard",
        "AWS::CloudWatch::Dashboard",
        json!({
            "DashboardName": format!("{}-{region}", net.name),
            "DashboardBody": sub(&dashboard_body(net, region, &nodes)),
        }),
    );

    // Node resources: inline, or in nested stacks when the region is big.
    let dns = aws.dns_zone.is_some();
    let _ = dns;
    let costs: Vec<(usize, usize)> = nodes.iter().map(|n| measure(net, artifacts, n)).collect();
    let cost: usize = costs.iter().map(|c| c.0).sum();
    let bytes: usize = costs.iter().map(|c| c.1).sum();
    let outputs: usize = nodes.iter().filter(|n| !nlb_ports(n).is_empty()).count();
    if cost + tpl.resources.len() <= MAX_RESOURCES
        && bytes + to_yaml(&tpl_size_probe(&tpl)).len() <= CHUNK_BYTES
        && outputs <= MAX_OUTPUTS
        && nodes.len() <= NODES_PER_CHILD * 2
    {
        for n in &nodes {
            node_resources(net, artifacts, n, &mut tpl, &mut shared);
        }
    } else {
        let mut chunks: Vec<Vec<&Node>> = vec![Vec::new()];
        let (mut load, mut size) = (0, 0);
        for (n, &(c, b)) in nodes.iter().zip(&costs) {
            let last = chunks.last_mut().expect("one chunk");
            if !last.is_empty()
                && (load + c > MAX_RESOURCES
                    || size + b > CHUNK_BYTES
                    || last.len() >= NODES_PER_CHILD)
            {
                chunks.push(Vec::new());
                load = 0;
                size = 0;
            }
            load += c;
            size += b;
            chunks.last_mut().expect("one chunk").push(n);
        }
        for (k, chunk) in chunks.iter().enumerate() {
            let mut child = Tpl {
                description: format!(
                    "chainfleet network {} in {region}: nodes {}..{}",
                    net.name,
                    chunk[0].name,
                    chunk[chunk.len() - 1].name
                ),
                ..Tpl::default()
            };
            let mut cs = Shared {
                child: true,
                used: BTreeMap::new(),
            };
            for n in chunk {
                node_resources(net, artifacts, n, &mut child, &mut cs);
            }
            let mut params = Map::new();
            for (p, value) in &cs.used {
                let ty = match p.as_str() {
                    "PublicSubnets" | "PrivateSubnets" => "CommaDelimitedList",
                    "EcsAmi" => "AWS::EC2::Image::Id",
                    _ => "String",
                };
                child.param(
                    "Shared",
                    p,
                    json!({ "Type": ty, "Description": format!("{p} of the region stack") }),
                );
                let v = if ty == "CommaDelimitedList" {
                    json!({ "Fn::Join": [",", value] })
                } else {
                    value.clone()
                };
                params.insert(p.clone(), v);
            }
            let path = format!("{region}/nodes-{}.yaml", k + 1);
            let id = format!("Nodes{}", k + 1);
            let mut depends: Vec<Value> = alb_ports
                .keys()
                .map(|p| json!(format!("AlbListener{p}")))
                .collect();
            depends.extend([json!("MountTarget1"), json!("MountTarget2")]);
            let res = tpl.res(
                &id,
                "AWS::CloudFormation::Stack",
                json!({ "TemplateURL": path, "Parameters": params, "Tags": tags(net, &format!("{}-{region}-nodes-{}", net.name, k + 1)) }),
            );
            res.insert("DependsOn".into(), Value::Array(depends));
            res.insert("Metadata".into(), nested_stack_metadata());
            out.insert(path, child.build());
        }
    }

    // Outputs of the region.
    if !alb_ports.is_empty() {
        tpl.output(
            "AlbDnsName",
            "DNS name of the RPC/API load balancer",
            ga("Alb", "DNSName"),
            Some(format!("{}-{region}-alb-dns", net.name)),
        );
        let scheme = if aws.certificate_arn.is_some() {
            "https"
        } else {
            "http"
        };
        for (port, users) in &alb_ports {
            let names: Vec<&str> = users.iter().map(|(_, p)| p.as_str()).collect();
            tpl.output(
                &format!("Url{}", lid(&names.join("-"))) ,
                &format!("Public {} URL", names.join("/")),
                json!({ "Fn::Join": ["", [format!("{scheme}://"), ga("Alb", "DNSName"), format!(":{port}")]] }),
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
    out.insert(format!("{region}.yaml"), tpl.build());
    Ok(())
}

/// EC2 launch type parameters: the ECS-optimised AMI (from its public SSM parameter) and an
/// instance type per group, defaulting to the spec's type or the group's size.
fn ec2_parameters(net: &Network, groups: &[&str], tpl: &mut Tpl) {
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
fn instance_role(net: &Network, tpl: &mut Tpl) {
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

fn vpc_resources(net: &Network, cidr: &str, tpl: &mut Tpl) {
    let blocks = subnets(cidr);
    tpl.res(
        "Vpc",
        "AWS::EC2::VPC",
        json!({ "CidrBlock": cidr, "EnableDnsHostnames": true, "EnableDnsSupport": true, "Tags": tags(net, &net.name) }),
    );
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

fn alb_resources(
    net: &Network,
    nodes: &[&Node],
    alb_ports: &BTreeMap<u16, Vec<(String, String)>>,
    tpl: &mut Tpl,
    shared: &mut Shared,
) {
    let aws = net.targets.aws.as_ref().expect("aws target");
    let ec2 = aws.launch_type == LaunchType::Ec2;
    let ingress: Vec<Value> = alb_ports
        .keys()
        .map(|p| json!({ "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": "0.0.0.0/0", "Description": format!("public RPC/API on {p}") }))
        .collect();
    let vpc = shared.vpc(net);
    let egress: Vec<Value> = alb_ports
        .keys()
        .map(|p| json!({ "IpProtocol": "tcp", "FromPort": p, "ToPort": p, "CidrIp": net.targets.aws.as_ref().and_then(|a| a.vpc_cidr.clone()).unwrap_or_else(|| "10.0.0.0/8".into()), "Description": format!("to node port {p}") }))
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
    let mut tgs: BTreeMap<String, (String, String, u16)> = BTreeMap::new();
    for n in nodes {
        for p in served(n).filter(|p| p.exposure == Exposure::Public && is_http(&p.name)) {
            tgs.insert(
                alb_tg(&n.group, &p.name),
                (n.group.clone(), p.name.clone(), p.container),
            );
        }
    }
    let cometbft = matches!(
        net.chain.family,
        crate::model::Family::Cosmos | crate::model::Family::Cometbft
    );
    for (id, (group, port, number)) in &tgs {
        let (path, matcher) = match (port.as_str(), cometbft) {
            ("rpc", true) => ("/health", "200"),
            ("api", true) => ("/cosmos/base/tendermint/v1beta1/syncing", "200"),
            _ => ("/", "200-499"),
        };
        tpl.res(
            id,
            "AWS::ElasticLoadBalancingV2::TargetGroup",
            json!({
                // awsvpc tasks register their own address; host-mode tasks their instance.
                "TargetType": if ec2 { "instance" } else { "ip" },
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
    for (number, users) in alb_ports {
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
        if let Some(cert) = &aws.certificate_arn {
            props["Protocol"] = json!("HTTPS");
            props["SslPolicy"] = json!("ELBSecurityPolicy-TLS13-1-2-2021-06");
            props["Certificates"] = json!([{ "CertificateArn": cert }]);
        } else {
            props["Protocol"] = json!("HTTP");
        }
        let lis = tpl.res(
            &format!("AlbListener{number}"),
            "AWS::ElasticLoadBalancingV2::Listener",
            props,
        );
        if aws.certificate_arn.is_none() {
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

/// The dashboard JSON: memory and CPU of every service, consensus errors, alarm states.
/// `${AWS::AccountId}`/`${AWS::Region}` are filled by `Fn::Sub`.
pub fn dashboard_body(net: &Network, region: &str, nodes: &[&Node]) -> String {
    let mut widgets = Vec::new();
    let mut y = 0;
    for (metric, title) in [
        ("MemoryUtilization", "Memory %"),
        ("CPUUtilization", "CPU %"),
    ] {
        widgets.push(json!({
            "type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
            "properties": {
                "title": format!("{title} per node"),
                "region": region,
                "view": "timeSeries",
                "stat": "Maximum",
                "period": 60,
                "metrics": [[{ "expression": format!("SEARCH('{{AWS/ECS,ClusterName,ServiceName}} MetricName=\"{metric}\" ClusterName=\"{}\"', 'Maximum', 60)", net.name), "id": "e1", "label": "" }]],
            }
        }));
        y += 6;
    }
    widgets.push(json!({
        "type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
        "properties": {
            "title": "Consensus errors in logs",
            "region": region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": 300,
            "metrics": [[format!("Chainfleet/{}", net.name), "ConsensusErrors"]],
        }
    }));
    y += 6;
    let mut alarms = vec![format!(
        "arn:aws:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{}-{region}-consensus-errors",
        net.name
    )];
    for n in nodes {
        for what in ["memory", "cpu"] {
            alarms.push(format!(
                "arn:aws:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{}-{}-{what}",
                net.name, n.name
            ));
        }
    }
    // An alarm status widget shows at most 100 alarms.
    for chunk in alarms.chunks(100) {
        widgets.push(json!({
            "type": "alarm", "x": 0, "y": y, "width": 24, "height": 6,
            "properties": { "title": "Alarm states", "alarms": chunk, "sortBy": "stateUpdatedTimestamp" }
        }));
        y += 6;
    }
    serde_json::to_string(&json!({ "widgets": widgets })).expect("dashboard JSON")
}

// ---------------------------------------------------------------------------------------
// deploy.sh

fn sh_quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The README section for the AWS target, also at the top of `deploy.sh`.
pub fn readme_section(net: &Network) -> String {
    let regions = deploy_regions(net).join(", ");
    format!(
        "## Deploy on AWS (CloudFormation)\n\n\
1. Build the node image from `docker/Dockerfile` and push it to a registry every region can pull\n   \
(e.g. ECR): `export CHAINFLEET_IMAGE=<account>.dkr.ecr.<region>.amazonaws.com/{name}:<tag>`.\n\
2. Choose a bucket prefix for packaged templates: `export CHAINFLEET_ARTIFACT_BUCKET_PREFIX=<prefix>`;\n   \
`deploy.sh` uses (and creates if missing) one bucket `<prefix>-<region>` per region.\n\
3. With credentials for the target account, run `cloudformation/deploy.sh`. Per region ({regions}) it\n   \
packages and deploys `network.yaml` as stack `{name}-network` (Secrets Manager secrets, without values),\n   \
pushes every secret value from the secrets tree with `aws secretsmanager put-secret-value`, then\n   \
packages and deploys `<region>.yaml` as stack `{name}-<region>`. Without a Route 53 zone, nodes that\n   \
peer across regions get each other's Elastic IPs in a second pass (stack parameters `PeerHost<Node>`).\n\
4. Alarms (memory, CPU, consensus errors) go to the SNS topic `{name} alerts`; confirm the e-mail\n   \
subscriptions. Dashboards: CloudWatch → Dashboards → `{name}-<region>`.\n\n\
{launch}Secrets are encrypted with the AWS managed key. Each node runs as one ECS service of at most\n\
one task: a node owns one data directory and one identity.\n",
        name = net.name,
        launch = launch_note(net),
    )
}

/// What the launch type means for operators, for the README section.
fn launch_note(net: &Network) -> &'static str {
    match net.targets.aws.as_ref().map(|a| a.launch_type) {
        Some(LaunchType::Ec2) => "Launch type `ec2`: each node has its own container instance (ECS-optimised Amazon Linux 2023,\n\
host networking) on its own network interface; a public node's Elastic IP is associated with that\n\
interface, so it survives instance recovery and replacement. Change an instance type with the\n\
stack parameter `<Group>InstanceType`; reach a host with Session Manager (no SSH, no key pair).\n\
A host that fails its system status check is recovered by its alarm `<network>-<node>-host`.\n\n",
        _ => "Launch type `fargate`: public p2p reaches each public node through its own Network Load\n\
Balancer on its Elastic IP.\n\n",
    }
}

fn deploy_regions(net: &Network) -> Vec<String> {
    net.regions
        .iter()
        .filter(|r| net.nodes_in(r).next().is_some())
        .cloned()
        .collect()
}

fn deploy_script(net: &Network, artifacts: &Artifacts, secrets_rel: &str) -> String {
    let mut s = String::new();
    s.push_str("#!/usr/bin/env bash\n");
    s.push_str(
        "# Generated by chainfleet; do not edit. Deploys this network with the AWS CLI.\n#\n",
    );
    for line in readme_section(net).lines() {
        s.push_str(format!("# {line}").trim_end());
        s.push('\n');
    }
    s.push_str("set -euo pipefail\n\n");
    s.push_str(": \"${CHAINFLEET_IMAGE:?set CHAINFLEET_IMAGE to the image built from docker/Dockerfile}\"\n");
    s.push_str(": \"${CHAINFLEET_ARTIFACT_BUCKET_PREFIX:?set CHAINFLEET_ARTIFACT_BUCKET_PREFIX; buckets are <prefix>-<region>}\"\n");
    s.push_str("here=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")\" && pwd)\"\n");
    let secrets = if secrets_rel.starts_with('/') {
        sh_quote(secrets_rel)
    } else {
        format!("\"$here\"/../{}", sh_quote(secrets_rel))
    };
    if !secrets_of(net, artifacts).is_empty() {
        s.push_str(&format!(
            "secrets=\"${{CHAINFLEET_SECRETS_DIR:-$(cd {secrets} && pwd)}}\"\n"
        ));
    }
    s.push_str("aws=\"${AWS_CLI:-aws}\"\n");
    s.push_str("packaged=\"$(mktemp -d)\"\ntrap 'rm -rf \"$packaged\"' EXIT\n\n");
    s.push_str(
        "# package REGION TEMPLATE: upload nested templates to the region's bucket, print the result path.\n\
package() {\n  \
local region=$1 template=$2 bucket=\"${CHAINFLEET_ARTIFACT_BUCKET_PREFIX}-$1\"\n  \
if ! \"$aws\" s3api head-bucket --bucket \"$bucket\" --region \"$region\" >/dev/null 2>&1; then\n    \
\"$aws\" s3 mb \"s3://$bucket\" --region \"$region\" >&2\n  \
fi\n  \
local out\n  \
out=\"$packaged/$region-$(basename \"$template\")\"\n  \
\"$aws\" cloudformation package --region \"$region\" --template-file \"$here/$template\" \\\n    \
--s3-bucket \"$bucket\" --output-template-file \"$out\" >&2\n  \
printf '%s\\n' \"$out\"\n\
}\n\n\
# export_value REGION NAME: the value of a CloudFormation export.\n\
export_value() {\n  \
\"$aws\" cloudformation list-exports --region \"$1\" --query \"Exports[?Name=='$2'].Value\" --output text\n\
}\n\n",
    );
    let name = &net.name;
    let regions = deploy_regions(net);
    for region in &regions {
        s.push_str(&format!(
            "# --- {region}: secrets stack, then secret values\n"
        ));
        s.push_str(&format!(
            "\"$aws\" cloudformation deploy --region {region} --stack-name {name}-network \\\n  --template-file \"$(package {region} network.yaml)\" \\\n  --s3-bucket \"${{CHAINFLEET_ARTIFACT_BUCKET_PREFIX}}-{region}\" --no-fail-on-empty-changeset \\\n  --tags chainfleet:network={name}\n"
        ));
        for s_ref in secrets_of(net, artifacts)
            .iter()
            .filter(|x| &x.region == region)
        {
            s.push_str(&format!(
                "\"$aws\" secretsmanager put-secret-value --region {region} --secret-id {} \\\n  --secret-string \"file://$secrets/{}\" >/dev/null\n",
                sh_quote(&secret_name(net, &s_ref.node, &s_ref.key)),
                sh_quote(&s_ref.source)
            ));
        }
        s.push('\n');
    }
    let peer_params: BTreeMap<&String, BTreeSet<String>> = regions
        .iter()
        .map(|region| {
            let set: BTreeSet<String> = net
                .nodes_in(region)
                .flat_map(|n| placeholder_peers(net, n))
                .map(|p| p.name.clone())
                .collect();
            (region, set)
        })
        .collect();
    let deploy_region = |s: &mut String, region: &str, with_peers: bool| {
        s.push_str(&format!(
            "\"$aws\" cloudformation deploy --region {region} --stack-name {name}-{region} \\\n  --template-file \"$(package {region} {region}.yaml)\" \\\n  --s3-bucket \"${{CHAINFLEET_ARTIFACT_BUCKET_PREFIX}}-{region}\" --no-fail-on-empty-changeset \\\n  --capabilities CAPABILITY_IAM --tags chainfleet:network={name} \\\n  --parameter-overrides \"Image=$CHAINFLEET_IMAGE\""
        ));
        if existing_vpc(net) {
            let r = region.to_uppercase().replace('-', "_");
            for (param, var, what) in [
                ("VpcId", "VPC_ID", "the VPC ID"),
                (
                    "PublicSubnets",
                    "PUBLIC_SUBNETS",
                    "two public subnet IDs, comma-separated",
                ),
                (
                    "PrivateSubnets",
                    "PRIVATE_SUBNETS",
                    "two private subnet IDs, comma-separated",
                ),
            ] {
                s.push_str(&format!(
                    " \\\n    \"{param}=${{CHAINFLEET_{var}_{r}:?set CHAINFLEET_{var}_{r} to {what} in {region}}}\""
                ));
            }
        }
        if with_peers {
            for p in &peer_params[&region.to_string()] {
                let peer = net.node(p).expect("peer");
                s.push_str(&format!(
                    " \\\n    \"PeerHost{}=$(export_value {} {})\"",
                    lid(p),
                    peer.region,
                    ip_export(net, p)
                ));
            }
        }
        s.push('\n');
    };
    for region in &regions {
        s.push_str(&format!("# --- {region}: nodes\n"));
        deploy_region(&mut s, region, false);
    }
    if peer_params.values().any(|v| !v.is_empty()) {
        s.push_str("\n# --- second pass: cross-region peers learn each other's Elastic IPs\n");
        for region in &regions {
            if !peer_params[region].is_empty() {
                deploy_region(&mut s, region, true);
            }
        }
    }
    s.push_str("echo \"deployed ");
    s.push_str(name);
    s.push_str("\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids() {
        assert_eq!(lid("snark-worker-1"), "SnarkWorker1");
        assert_eq!(lid("us-east-1"), "UsEast1");
    }

    #[test]
    fn fargate_sizes_are_valid() {
        assert_eq!(fargate_size(1000, 4096), (1024, 4096));
        assert_eq!(fargate_size(2000, 8192), (2048, 8192));
        assert_eq!(fargate_size(4000, 16384), (4096, 16384));
        assert_eq!(fargate_size(250, 100), (256, 512));
        assert_eq!(fargate_size(500, 8192), (1024, 8192));
        assert_eq!(fargate_size(500, 9000), (2048, 9216));
        assert_eq!(fargate_size(2000, 3000), (2048, 4096));
    }

    #[test]
    fn retention_rounds_up() {
        assert_eq!(retention_days(14), 14);
        assert_eq!(retention_days(15), 30);
        assert_eq!(retention_days(100_000), 3653);
    }

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

    #[test]
    fn process_text_becomes_a_string_sub_or_join() {
        assert_eq!(cfn_value(&Text::lit("a ${X:?y}")), json!("a ${X:?y}"));
        let t = Text::lit("id@")
            .then(Text::expr("${PeerHostA}"))
            .then(":1 ${B}");
        assert_eq!(
            cfn_value(&t),
            json!({ "Fn::Sub": "id@${PeerHostA}:1 ${!B}" })
        );
        let ext = json!({ "Fn::Join": [":", [{ "Ref": "AEip" }, "26656"]] });
        assert_eq!(cfn_value(&Text::expr(ext.to_string())), ext);
        let joined = cfn_value(&Text::lit("x=").then(Text::expr(ext.to_string())));
        assert_eq!(joined, json!({ "Fn::Join": ["", ["x=", ext]] }));
    }
}
