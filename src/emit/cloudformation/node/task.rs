//! A node's ECS task: the container's launch (command and environment, from the chain
//! layer), its secrets, port mappings and size, and the task definition with its EFS volume.

use serde_json::{json, Value};

use super::{group_resources, NodeCx};
use crate::chain::{process, Artifacts, Piece, Text};
use crate::emit::cloudformation::addressing::{served, CfnRuntime};
use crate::emit::cloudformation::builder::{ga, r, skip, tags, Tpl};
use crate::emit::cloudformation::names::secret_export;
use crate::emit::cloudformation::shared::Shared;
use crate::emit::docker::HEALTHCHECK;
use crate::model::{Network, Node, Protocol};

/// Where a node's keys live inside its container: `/dev/shm` is a tmpfs private to the
/// container on Fargate and EC2 alike (Fargate takes no task-defined tmpfs), never on EFS.
pub const KEYS_DIR: &str = "/dev/shm/chainfleet-keys";

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
pub(super) fn container_launch(
    net: &Network,
    artifacts: &Artifacts,
    node: &Node,
) -> (Vec<Value>, Vec<Value>) {
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
    // A test service runs its own image.
    let image = match process(net, artifacts, node, &CfnRuntime).image {
        Some(own) => json!(own),
        None => shared.r("Image"),
    };
    let mut environment = environment;
    if !secrets.is_empty() {
        // The home is on EFS: the entrypoint writes the keys to the container's own tmpfs
        // and leaves only symlinks in the home, so no key byte reaches the shared volume.
        environment.push(json!({ "Name": "CHAINFLEET_KEYS_DIR", "Value": KEYS_DIR }));
    }
    let mut container = json!({
        "Name": "node",
        "Image": image,
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
    // The node's probe, as compose and Helm run it: a task that never turns healthy is
    // replaced. StartPeriod is ECS's maximum, for daemons that load their chain first.
    if let Some(p) = process(net, artifacts, node, &CfnRuntime).probe {
        let mut cmd = vec!["CMD".to_string(), HEALTHCHECK.to_string()];
        cmd.extend(p.check_args());
        container["HealthCheck"] = json!({
            "Command": cmd, "Interval": 30, "Timeout": 5, "Retries": 3, "StartPeriod": 300,
        });
    }
    container
}

/// The containers beside the node in its task (`chain::Companion`), sharing its network
/// namespace (awsvpc or the instance's host network: 127.0.0.1 either way), with their
/// secrets from the node's Secrets Manager secrets; and the task volumes of their data. The
/// data volumes are task storage (Fargate's ephemeral storage, a Docker volume on EC2), not
/// EFS: a replaced task starts with an empty database.
pub(super) fn companion_containers(
    cx: &NodeCx<'_>,
    artifacts: &Artifacts,
    shared: &mut Shared,
) -> (Vec<Value>, Vec<Value>) {
    let (net, node) = (cx.net, cx.node);
    let proc = process(net, artifacts, node, &CfnRuntime);
    let mut containers = Vec::new();
    let mut volumes = Vec::new();
    for c in &proc.companions {
        let mut def = json!({
            "Name": c.name,
            "Image": c.image,
            "Essential": true,
            "Environment": c.env.iter().map(|(k, v)| json!({ "Name": k, "Value": v })).collect::<Vec<_>>(),
            "LogConfiguration": {
                "LogDriver": "awslogs",
                "Options": {
                    "awslogs-group": shared.r("LogGroup"),
                    "awslogs-region": r("AWS::Region"),
                    "awslogs-stream-prefix": format!("{}-{}", node.name, c.name),
                }
            },
            "StopTimeout": 60,
        });
        if !c.entrypoint.is_empty() {
            def["EntryPoint"] = json!(c.entrypoint);
        }
        if !c.args.is_empty() {
            def["Command"] = json!(c.args);
        }
        if !c.secret_env.is_empty() {
            def["Secrets"] = c
                .secret_env
                .iter()
                .map(|(var, key)| {
                    json!({
                        "Name": var,
                        "ValueFrom": { "Fn::ImportValue": secret_export(net, &node.name, key) },
                    })
                })
                .collect();
        }
        if let Some(dir) = &c.data_dir {
            let vol = format!("{}-data", c.name);
            def["MountPoints"] =
                json!([{ "SourceVolume": vol, "ContainerPath": dir, "ReadOnly": false }]);
            volumes.push(json!({ "Name": vol }));
        }
        containers.push(def);
    }
    (containers, volumes)
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

/// The task definition of `containers` (the node's first) with the node's EFS access point
/// as its data volume. Returns its logical ID.
pub(super) fn task_definition(
    cx: &NodeCx<'_>,
    tpl: &mut Tpl,
    shared: &mut Shared,
    access_point: &str,
    containers: Vec<Value>,
    extra_volumes: Vec<Value>,
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
    let (exec_role, task_role) = super::iam::role_ids(cx);
    let res_td = tpl.res(
        &td,
        "AWS::ECS::TaskDefinition",
        json!({
            "Family": format!("{}-{}", net.name, node.name),
            "Cpu": cpu.to_string(),
            "Memory": mem.to_string(),
            "NetworkMode": if cx.ec2 { "host" } else { "awsvpc" },
            "RequiresCompatibilities": [if cx.ec2 { "EC2" } else { "FARGATE" }],
            "ExecutionRoleArn": ga(&exec_role, "Arn"),
            "TaskRoleArn": ga(&task_role, "Arn"),
            "ContainerDefinitions": containers,
            "Volumes": std::iter::once(json!({
                "Name": "data",
                "EFSVolumeConfiguration": {
                    "FilesystemId": shared.r("FileSystem"),
                    "TransitEncryption": "ENABLED",
                    "AuthorizationConfig": { "AccessPointId": r(access_point), "IAM": "ENABLED" }
                }
            })).chain(extra_volumes).collect::<Vec<_>>(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
