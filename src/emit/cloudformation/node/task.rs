//! A node's ECS task: the container's launch (command and environment, from the chain
//! layer), its secrets, port mappings and size, and the task definition with its EFS volume.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::{group_resources, NodeCx};
use crate::chain::{self, Artifacts, RuntimeSettings};
use crate::emit::cloudformation::addressing::{endpoint, reachable, served};
use crate::emit::cloudformation::builder::{maybe_sub, r, skip, tags, Tpl};
use crate::emit::cloudformation::names::secret_export;
use crate::emit::cloudformation::shared::Shared;
use crate::model::{Network, Node, Protocol};

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

/// The container's command and `Environment` entries: the node's launch, shared with every
/// other target, with peers as this target reaches them and the external address (a
/// CloudFormation value) where the launch names it.
pub(super) fn container_launch(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
    external: &Option<Value>,
) -> (Vec<Value>, Vec<Value>) {
    let chain = &net.chain;
    // The launch command, shared with every other target.
    let ports = node.container_ports();
    let mut peers = chain::peer_lists(net, artifacts, node, &|peer| {
        endpoint(net, &node.region, peer)
    });
    // Peers in another region without public p2p cannot be dialled: leave them out, or the
    // start-up would wait forever for a name that never resolves.
    let keep = |names: &[String], rendered: Vec<String>| -> Vec<String> {
        names
            .iter()
            .filter_map(|n| net.node(n))
            .zip(rendered)
            .filter(|(p, _)| reachable(node, p))
            .map(|(_, r)| r)
            .collect()
    };
    peers.persistent = keep(&node.peers.persistent, peers.persistent);
    peers.seeds = keep(&node.peers.seeds, peers.seeds);
    const EXT: &str = "@@EXTERNAL@@";
    let launch = chain::launch(
        net,
        node,
        &RuntimeSettings {
            home: chain.home.clone(),
            bind_host: "0.0.0.0".into(),
            ports,
            peers,
            external_address: external.as_ref().map(|_| EXT.to_string()),
        },
    );
    let group = net.group(&node.group);
    let mut command = vec![json!(chain::program(net, node))];
    command.extend(launch.args.iter().map(|a| maybe_sub(a.clone())));
    let mut env: BTreeMap<String, Value> = BTreeMap::new();
    if let Some(g) = group {
        for (k, v) in &g.env {
            env.insert(k.clone(), json!(v));
        }
    }
    for (k, v) in &launch.env {
        let val = if v.contains(EXT) {
            let ext = external.clone().unwrap_or(json!(""));
            let parts: Vec<&str> = v.split(EXT).collect();
            let mut joined = Vec::new();
            for (i, part) in parts.iter().enumerate() {
                if !part.is_empty() {
                    joined.push(json!(part));
                }
                if i + 1 < parts.len() {
                    joined.push(ext.clone());
                }
            }
            if joined.len() == 1 {
                joined.remove(0)
            } else {
                json!({ "Fn::Join": ["", joined] })
            }
        } else {
            maybe_sub(v.clone())
        };
        env.insert(k.clone(), val);
    }
    env.insert("CHAINFLEET_NODE".into(), json!(node.name));
    env.insert("CHAINFLEET_HOME".into(), json!(chain.home));
    let wait: BTreeSet<String> = node
        .peers
        .persistent
        .iter()
        .chain(&node.peers.seeds)
        .filter_map(|p| net.node(p))
        .filter(|p| reachable(node, p))
        .map(|p| endpoint(net, &node.region, p).host)
        .collect();
    env.insert(
        "CHAINFLEET_WAIT_HOSTS".into(),
        // Space-separated, as the entrypoint reads it.
        maybe_sub(wait.into_iter().collect::<Vec<_>>().join(" ")),
    );
    let environment: Vec<Value> = env
        .into_iter()
        .map(|(k, v)| json!({ "Name": k, "Value": v }))
        .collect();
    (command, environment)
}

/// The `node` container: image, launch, secrets from Secrets Manager, ports, data volume
/// and logs.
pub(super) fn container_definition(
    cx: &NodeCx<'_>,
    artifacts: &Artifacts,
    shared: &mut Shared,
    command: Vec<Value>,
    environment: Vec<Value>,
) -> Value {
    let (net, node) = (cx.net, cx.node);
    let na = artifacts.nodes.get(&node.name).cloned().unwrap_or_default();
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
    let mut container = json!({
        "Name": "node",
        "Image": shared.r("Image"),
        "Essential": true,
        "Command": command,
        "Environment": environment,
        "PortMappings": port_mappings(cx),
        "MountPoints": [{ "SourceVolume": "data", "ContainerPath": net.chain.home, "ReadOnly": false }],
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
    container
}

/// Every served port, TCP and (for TCP+UDP ports) UDP.
fn port_mappings(cx: &NodeCx<'_>) -> Vec<Value> {
    let mut port_mappings = Vec::new();
    for p in served(cx.node) {
        let protos: &[&str] = if p.protocol == Protocol::TcpUdp {
            &["tcp", "udp"]
        } else {
            &["tcp"]
        };
        for proto in protos {
            let mut m = json!({ "ContainerPort": p.container, "Protocol": proto });
            if cx.ec2 {
                // Host networking: the container's ports are the instance's.
                m["HostPort"] = json!(p.container);
            }
            port_mappings.push(m);
        }
    }
    port_mappings
}

/// The task definition of `container` with the node's EFS access point as its data volume.
/// Returns its logical ID.
pub(super) fn task_definition(
    cx: &NodeCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    access_point: &str,
    container: Value,
) -> String {
    let (net, node) = (cx.net, cx.node);
    let res = group_resources(net, &node.group);
    let (cpu, mem) = if cx.ec2 {
        // Exact reservations: 1024 CPU units per vCPU; the instance is sized to hold them.
        (
            res.cpu_millis.saturating_mul(1024).div_ceil(1000),
            res.memory_mib,
        )
    } else {
        fargate_size(res.cpu_millis, res.memory_mib)
    };
    let td = format!("{}Task", cx.n);
    let res_td = tpl.res(
        &td,
        "AWS::ECS::TaskDefinition",
        json!({
            "Family": format!("{}-{}", net.name, node.name),
            "Cpu": cpu.to_string(),
            "Memory": mem.to_string(),
            "NetworkMode": if cx.ec2 { "host" } else { "awsvpc" },
            "RequiresCompatibilities": [if cx.ec2 { "EC2" } else { "FARGATE" }],
            "ExecutionRoleArn": shared.ga("ExecutionRole", "Arn"),
            "TaskRoleArn": shared.ga("TaskRole", "Arn"),
            "ContainerDefinitions": [container],
            "Volumes": [{
                "Name": "data",
                "EFSVolumeConfiguration": {
                    "FilesystemId": shared.r("FileSystem"),
                    "TransitEncryption": "ENABLED",
                    "AuthorizationConfig": { "AccessPointId": r(access_point), "IAM": "ENABLED" }
                }
            }],
            "Tags": tags(net, &cx.tag_name()),
        }),
    );
    res_td.insert(
        "Metadata".into(),
        skip(&[(
            "CKV_AWS_336",
            "The entrypoint installs public files and secrets into the node home and the node writes its data there (an EFS volume) and to its own temp files; a read-only root file system would break chain binaries that write outside the volume.",
        )]),
    );
    td
}
