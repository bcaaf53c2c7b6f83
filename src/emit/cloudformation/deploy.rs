//! `cloudformation/deploy.sh` and the README section of the AWS target, rendered from
//! `templates/cloudformation/` (shell words quoted by the templates' `sh` filter).

use std::collections::BTreeSet;

use serde::Serialize;

use super::addressing::placeholder_peers;
use super::instance::ami_parameter;
use super::names::{ip_export, peer_host_param, secret_name};
use super::secrets::{alert_secrets, secrets_of};
use super::shared::existing_vpc;
use crate::chain::Artifacts;
use crate::emit::templates;
use crate::model::{LaunchType, Network};

#[derive(Serialize)]
struct ReadmeView<'a> {
    name: &'a str,
    regions: Vec<String>,
    ec2: bool,
    /// Where alarms arrive besides the topic (e-mail, webhooks, Slack, …).
    receivers: Vec<String>,
    email: bool,
    /// Secrets tree paths of the receivers' credentials.
    alert_secrets: Vec<String>,
}

/// A secret value `deploy.sh` pushes.
#[derive(Serialize)]
struct SecretView {
    /// Secrets Manager name.
    name: String,
    /// Path in the secrets tree.
    source: String,
}

/// A cross-region peer whose address the second pass fills in.
#[derive(Serialize)]
struct PeerView {
    /// Stack parameter (`PeerHost<Node>`).
    param: String,
    /// The peer's region, where its address is exported.
    region: String,
    /// Export name of its Elastic IP.
    export: String,
}

#[derive(Serialize)]
struct RegionView {
    name: String,
    /// The region as an environment variable suffix (`US_EAST_1`).
    var: String,
    /// The node secrets of this region, then the alert receivers' credentials.
    secrets: Vec<SecretView>,
    peers: Vec<PeerView>,
}

#[derive(Serialize)]
struct DeployView<'a> {
    name: &'a str,
    /// The README section, one comment line each.
    readme_lines: Vec<String>,
    has_secrets: bool,
    /// Alert receivers' credentials (secrets tree paths), checked before anything deploys.
    alert_secrets: Vec<&'static str>,
    /// The secrets tree, relative to the output folder unless absolute.
    secrets_rel: &'a str,
    secrets_absolute: bool,
    existing_vpc: bool,
    regions: Vec<RegionView>,
    second_pass: bool,
    /// EC2 launch type: the public SSM parameter deploy.sh pins the AMI from.
    ami_param: Option<&'static str>,
}

/// Regions with nodes, in spec order: the stacks `deploy.sh` deploys.
fn deploy_regions(net: &Network) -> Vec<String> {
    net.regions
        .iter()
        .filter(|r| net.nodes_in(r).next().is_some())
        .cloned()
        .collect()
}

/// The README section for the AWS target, also at the top of `deploy.sh`.
pub fn readme_section(net: &Network) -> String {
    let m = &net.monitoring;
    let mut receivers = Vec::new();
    if !m.email.is_empty() {
        receivers.push(format!("e-mail ({})", m.email.join(", ")));
    }
    if !m.webhooks.is_empty() {
        receivers.push(format!("{} webhook(s)", m.webhooks.len()));
    }
    if let Some(s) = &m.slack {
        receivers.push(format!("Slack `{}`", s.channel));
    }
    if let Some(t) = &m.telegram {
        receivers.push(format!("Telegram chat {}", t.chat_id));
    }
    if m.pagerduty {
        receivers.push("PagerDuty (an incident per alarm, resolved when it clears)".into());
    }
    if !m.sns_topics.is_empty() {
        receivers.push(format!("{} more SNS topic(s)", m.sns_topics.len()));
    }
    let view = ReadmeView {
        name: &net.name,
        regions: deploy_regions(net),
        ec2: net.targets.aws.as_ref().map(|a| a.launch_type) == Some(LaunchType::Ec2),
        receivers,
        email: !m.email.is_empty(),
        alert_secrets: alert_secrets(net)
            .iter()
            .map(|a| format!("`{}`", a.source))
            .collect(),
    };
    templates::render("cloudformation/README-section.md.j2", view)
        .expect("the embedded README section renders")
}

/// The deploy view of one region: its secret values and its cross-region peers.
fn region_view(net: &Network, artifacts: &Artifacts, region: &str) -> RegionView {
    let secrets = secrets_of(net, artifacts)
        .into_iter()
        .filter(|s| s.region == region)
        .map(|s| SecretView {
            name: secret_name(net, &s.node, &s.key),
            source: s.source,
        })
        .chain(alert_secrets(net).into_iter().map(|a| SecretView {
            name: a.name,
            source: a.source.to_string(),
        }))
        .collect();
    let peer_names: BTreeSet<String> = net
        .nodes_in(region)
        .flat_map(|n| placeholder_peers(net, n))
        .map(|p| p.name.clone())
        .collect();
    let peers = peer_names
        .iter()
        .map(|p| PeerView {
            param: peer_host_param(p),
            region: net.node(p).expect("peer").region.clone(),
            export: ip_export(net, p),
        })
        .collect();
    RegionView {
        name: region.to_string(),
        var: region.to_uppercase().replace('-', "_"),
        secrets,
        peers,
    }
}

/// `deploy.sh`: the exact `aws cloudformation package/deploy` commands, in order.
pub(super) fn deploy_script(
    net: &Network,
    artifacts: &Artifacts,
    secrets_rel: &str,
) -> anyhow::Result<String> {
    let regions: Vec<RegionView> = deploy_regions(net)
        .iter()
        .map(|r| region_view(net, artifacts, r))
        .collect();
    let view = DeployView {
        name: &net.name,
        readme_lines: readme_section(net).lines().map(String::from).collect(),
        has_secrets: !secrets_of(net, artifacts).is_empty() || !alert_secrets(net).is_empty(),
        alert_secrets: alert_secrets(net).iter().map(|a| a.source).collect(),
        secrets_rel,
        secrets_absolute: secrets_rel.starts_with('/'),
        existing_vpc: existing_vpc(net),
        second_pass: regions.iter().any(|r| !r.peers.is_empty()),
        regions,
        ami_param: (net.targets.aws.as_ref().map(|a| a.launch_type) == Some(LaunchType::Ec2))
            .then(|| ami_parameter(net).0),
    };
    templates::render("cloudformation/deploy.sh.j2", view)
}
