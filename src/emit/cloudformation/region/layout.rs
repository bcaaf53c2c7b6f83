//! Where node resources go: inline in the region stack while it stays within CloudFormation's
//! limits, else in nested stacks `<region>/nodes-N.yaml` of at most `NODES_PER_CHILD` nodes,
//! each taking the region resources it uses as parameters; and the order in which
//! CloudFormation rolls validators (`validator_waves`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::RegionCx;
use crate::emit::cloudformation::addressing::nlb_ports;
use crate::emit::cloudformation::builder::{nested_stack_metadata, tags, Tpl};
use crate::emit::cloudformation::names::{alb_listener, lid};
use crate::emit::cloudformation::node::node_resources;
use crate::emit::cloudformation::shared::Shared;
use crate::emit::cloudformation::to_yaml;
use crate::model::{Network, Node};

/// Per-stack resource budget (CloudFormation allows 500); leaves room for shared resources.
const MAX_RESOURCES: usize = 400;
/// Per-stack output budget (CloudFormation allows 200).
const MAX_OUTPUTS: usize = 150;
/// YAML bytes of node resources per stack before splitting.
const CHUNK_BYTES: usize = 600_000;
/// Nodes per nested node stack when a region is split.
const NODES_PER_CHILD: usize = 40;

/// Resources and YAML bytes one node adds (for splitting), measured by building them.
fn measure(cx: &RegionCx<'_>, node: &Node) -> (usize, usize) {
    let mut t = Tpl::default();
    let mut sh = Shared::child();
    node_resources(cx.net, cx.artifacts, node, &mut t, &mut sh);
    let n = t.resources.len();
    (
        n,
        to_yaml(&Value::Object(t.resources)).len() + to_yaml(&Value::Object(t.outputs)).len(),
    )
}

/// Node resources: inline, or in nested stacks when the region is big.
pub(super) fn node_stacks(
    cx: &RegionCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    out: &mut BTreeMap<String, Value>,
) {
    let nodes = &cx.nodes;
    let costs: Vec<(usize, usize)> = nodes.iter().map(|n| measure(cx, n)).collect();
    let cost: usize = costs.iter().map(|c| c.0).sum();
    let bytes: usize = costs.iter().map(|c| c.1).sum();
    let outputs: usize = nodes.iter().filter(|n| !nlb_ports(n).is_empty()).count();
    if cost + tpl.resources.len() <= MAX_RESOURCES
        && bytes + to_yaml(&tpl.size_probe()).len() <= CHUNK_BYTES
        && outputs <= MAX_OUTPUTS
        && nodes.len() <= NODES_PER_CHILD * 2
    {
        for n in nodes {
            node_resources(cx.net, cx.artifacts, n, tpl, shared);
        }
        roll_validators_in_waves(cx.net, nodes, tpl);
    } else {
        // Child stacks holding validators update one after the other, so the waves of two
        // children never restart together.
        let mut previous: Option<String> = None;
        for (k, chunk) in chunks(nodes, &costs).iter().enumerate() {
            let id = nested_node_stack(cx, k, chunk, tpl, out);
            if chunk.iter().any(|n| n.is_validator()) {
                if let Some(p) = previous.replace(id.clone()) {
                    depends_on(tpl, &id, &p);
                }
            }
        }
    }
}

/// Largest share of the network's voting power that one wave may restart: far below the
/// third whose absence halts the chain, so a wave plus an unrelated outage keeps it live.
const WAVE_POWER_DIVISOR: u128 = 10;

/// Validators of one stack in update waves: every wave holds at most a tenth of the network's
/// voting power (always at least one validator, so a network of few validators rolls them
/// one at a time), and each service of a wave `DependsOn` every service of the wave before.
/// CloudFormation updates (and creates) a resource only after the ones it depends on are
/// done, and an ECS service is done when its new task is running and healthy, so a new
/// image never restarts every validator at once.
pub(super) fn validator_waves<'a>(net: &Network, nodes: &[&'a Node]) -> Vec<Vec<&'a Node>> {
    // Mina block producers have no CometBFT power: each counts as one.
    let power = |n: &Node| u128::from(n.power.unwrap_or(1));
    let total: u128 = net.validators().map(power).sum();
    let cap = total / WAVE_POWER_DIVISOR;
    let mut waves: Vec<Vec<&Node>> = Vec::new();
    let mut load = 0;
    for n in nodes.iter().filter(|n| n.is_validator()) {
        let p = power(n);
        match waves.last_mut() {
            Some(w) if load + p <= cap => w.push(n),
            _ => {
                waves.push(vec![n]);
                load = 0;
            }
        }
        load += p;
    }
    waves
}

/// Chain the ECS services of `nodes`' validators in `tpl` by `validator_waves`.
fn roll_validators_in_waves(net: &Network, nodes: &[&Node], tpl: &mut Tpl) {
    let waves = validator_waves(net, nodes);
    for pair in waves.windows(2) {
        for n in &pair[1] {
            for before in &pair[0] {
                depends_on(
                    tpl,
                    &format!("{}Service", lid(&n.name)),
                    &format!("{}Service", lid(&before.name)),
                );
            }
        }
    }
}

/// Add `on` to the `DependsOn` list of resource `id` in `tpl`.
fn depends_on(tpl: &mut Tpl, id: &str, on: &str) {
    let res = tpl.resources[id].as_object_mut().expect("resource");
    let list = res
        .entry("DependsOn")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(a) = list {
        if !a.contains(&json!(on)) {
            a.push(json!(on));
        }
    }
}

/// Consecutive nodes grouped so that each group stays within the per-stack budgets.
fn chunks<'a>(nodes: &[&'a Node], costs: &[(usize, usize)]) -> Vec<Vec<&'a Node>> {
    let mut chunks: Vec<Vec<&Node>> = vec![Vec::new()];
    let (mut load, mut size) = (0, 0);
    for (n, &(c, b)) in nodes.iter().zip(costs) {
        let last = chunks.last_mut().expect("one chunk");
        if !last.is_empty()
            && (load + c > MAX_RESOURCES || size + b > CHUNK_BYTES || last.len() >= NODES_PER_CHILD)
        {
            chunks.push(Vec::new());
            load = 0;
            size = 0;
        }
        load += c;
        size += b;
        chunks.last_mut().expect("one chunk").push(n);
    }
    chunks
}

/// Nested stack `<region>/nodes-<k+1>.yaml` with the resources of `chunk`, and the stack
/// resource in the region stack that passes it the region resources it uses. Returns the
/// stack resource's logical ID.
fn nested_node_stack(
    cx: &RegionCx<'_>,
    k: usize,
    chunk: &[&Node],
    tpl: &mut Tpl,
    out: &mut BTreeMap<String, Value>,
) -> String {
    let (net, region) = (cx.net, cx.region);
    let mut child = Tpl::new(format!(
        "chainfleet network {} in {region}: nodes {}..{}",
        net.name,
        chunk[0].name,
        chunk[chunk.len() - 1].name
    ));
    let mut cs = Shared::child();
    for n in chunk {
        node_resources(net, cx.artifacts, n, &mut child, &mut cs);
    }
    roll_validators_in_waves(net, chunk, &mut child);
    let params = child_parameters(&mut child, &cs);
    let path = format!("{region}/nodes-{}.yaml", k + 1);
    let id = format!("Nodes{}", k + 1);
    let mut depends: Vec<Value> = cx
        .alb_ports
        .keys()
        .map(|p| json!(alb_listener(*p)))
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
    id
}

/// Declare in `child` a parameter for each region resource it uses; returns the values the
/// parent passes (lists joined, as `CommaDelimitedList` takes them).
fn child_parameters(child: &mut Tpl, used: &Shared) -> Map<String, Value> {
    let mut params = Map::new();
    for (p, value) in &used.used {
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
    params
}
