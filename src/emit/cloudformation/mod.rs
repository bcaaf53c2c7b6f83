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
//!   `memberOf` attribute constraint) attaches at boot as its second interface, taking it from
//!   the instance it replaces. The interface, not the instance, owns the private address
//!   registered in Cloud Map, so an instance recovered or replaced keeps both addresses.
//! - Peers in one region are Cloud Map names `<node>.<network>.internal`; peers in another
//!   region are Route 53 names when the spec names a zone, else stack parameters
//!   `PeerHost<Node>` which `deploy.sh` fills from the peers' exported Elastic IPs in a second
//!   pass (the IPs do not exist before the first deploy). Peers in another region without
//!   public p2p are unreachable on AWS and left out of the node's peer list.
//! - `deploy.sh` deploys the region stacks at once: a node waits at start until its peers'
//!   names resolve, and a cross-region peer's Route 53 record comes with that region's stack,
//!   so region after region the first stack's tasks would never turn healthy (its deploy would
//!   roll back). tests/ecs_real.rs runs the task definitions and checks that order.
//! - moto (the test suite's AWS) cannot take NLB listeners, `SubnetMappings`, secrets, Cloud
//!   Map or alarms; tests/cfn_target.rs lists what it takes out before deploying there.
//!
//! Modules, by concern: `builder` (the `Tpl` builder and intrinsic helpers), `names`
//! (logical IDs, parameters, exports, secret names), `addressing` (served ports, peer
//! endpoints, reachability), `shared` (region resources seen from a nested stack), `secrets`
//! (the network stack), `node` (one node's resources), `instance` (EC2 container instances),
//! `region` (the region stack and its nested-stack layout), `dashboard`, `deploy`
//! (`deploy.sh` and the README section) and `yaml` (the writer).

mod addressing;
mod builder;
mod dashboard;
mod deploy;
mod instance;
mod names;
mod node;
mod region;
mod secrets;
mod shared;
mod yaml;

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Context, FileEntry, FileSet};
use crate::chain::Artifacts;
use crate::model::Network;

pub use addressing::CfnRuntime;
pub use dashboard::dashboard_body;
pub use deploy::readme_section;
pub use names::{ip_export, lid, secret_export, secret_name};
pub use node::fargate_size;
pub use region::retention_days;
pub use yaml::to_yaml;

/// Template size budget in bytes (CloudFormation allows 1 MB from S3).
const MAX_BYTES: usize = 1_000_000;

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
        FileEntry::script(deploy::deploy_script(cx.net, cx.artifacts, cx.secrets_rel)?),
    );
    Ok(files)
}

/// Every template by path below `cloudformation/`, as JSON values.
pub fn templates(net: &Network, artifacts: &Artifacts) -> anyhow::Result<BTreeMap<String, Value>> {
    if net.targets.aws.is_none() {
        anyhow::bail!("internal error: the aws target is not configured");
    }
    let mut out = BTreeMap::new();
    secrets::network_templates(net, artifacts, &mut out);
    for region in &net.regions {
        if net.nodes_in(region).next().is_none() {
            continue;
        }
        region::region_templates(net, artifacts, region, &mut out)?;
    }
    for (path, tpl) in &out {
        let size = to_yaml(tpl).len();
        if size > MAX_BYTES {
            anyhow::bail!("internal error: template {path} is {size} bytes, over the budget");
        }
    }
    Ok(out)
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
}
