//! Names: CloudFormation logical IDs, parameter and condition names, export names and
//! Secrets Manager secret names. Every name the stacks and `deploy.sh` share comes from here.

use crate::model::Network;

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

/// Secret name in Secrets Manager: `<network>/<node>/<key>` (each node's execution role
/// names its own secrets' ARNs).
pub fn secret_name(net: &Network, node: &str, key: &str) -> String {
    format!("{}/{node}/{key}", net.name)
}

/// Export name of a secret's ARN.
pub fn secret_export(net: &Network, node: &str, key: &str) -> String {
    format!("{}-{node}-{key}-arn", net.name)
}

/// The Route 53 name of a region's RPC/API load balancer, `api-<region>.<zone>` (one label
/// below the zone, so a `*.<zone>` certificate covers it), without the final dot.
pub fn alb_record(region: &str, zone: &str) -> String {
    format!("api-{region}.{zone}")
}

/// Export name of a public node's Elastic IP.
pub fn ip_export(net: &Network, node: &str) -> String {
    format!("{}-{node}-public-ip", net.name)
}

/// Condition true in `region` (the network stack creates only that region's secrets).
pub(super) fn region_condition(region: &str) -> String {
    format!("In{}", lid(region))
}

/// Stack parameter holding the public address of `node` in another region.
pub(super) fn peer_host_param(node: &str) -> String {
    format!("PeerHost{}", lid(node))
}

/// Logical ID of a (group, port) ALB target group.
pub(super) fn alb_tg(group: &str, port: &str) -> String {
    format!("Tg{}{}", lid(group), lid(port))
}

/// Logical ID of the ALB listener on `port`.
pub(super) fn alb_listener(port: u16) -> String {
    format!("AlbListener{port}")
}

/// Logical ID of a group's security group.
pub(super) fn group_sg(group: &str) -> String {
    format!("Sg{}", lid(group))
}

/// Stack parameter with the desired count (0 or 1) of a scalable group's nodes.
pub(super) fn full_param(group: &str) -> String {
    format!("{}DesiredCount", lid(group))
}

/// Stack parameter with the instance type of a group's container instances.
pub(super) fn instance_type_param(group: &str) -> String {
    format!("{}InstanceType", lid(group))
}

/// Condition true when a scalable group runs (its desired-count parameter is not 0).
pub(super) fn runs_condition(group: &str) -> String {
    format!("{}Runs", lid(group))
}
