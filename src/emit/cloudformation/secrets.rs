//! The network stack `network.yaml` (deployed once per region): the Secrets Manager secrets
//! of that region's nodes, split into nested `network/secrets-<region>-N.yaml` stacks when
//! there are many, the alert receivers' credentials (in every region: each region's delivery
//! function reads its own copy), and the Route 53 zone references.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Value};

use super::builder::{nested_stack_metadata, r, skip, tags, Tpl};
use super::names::{lid, region_condition, secret_export, secret_name};
use crate::chain::Artifacts;
use crate::model::Network;

/// Secrets per nested secrets stack (one output each).
const SECRETS_PER_CHILD: usize = 150;

/// One secret file of one node, to be stored in Secrets Manager.
pub(super) struct SecretRef {
    pub(super) node: String,
    pub(super) region: String,
    pub(super) key: String,
    /// Path of the file in the secrets tree.
    pub(super) source: String,
}

/// Every secret file of every node, in node order.
pub(super) fn secrets_of(net: &Network, artifacts: &Artifacts) -> Vec<SecretRef> {
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

/// One credential of an alert receiver (Slack webhook URL, Telegram bot token, PagerDuty
/// routing key), stored in Secrets Manager in every region with nodes.
pub(super) struct AlertSecret {
    /// Logical ID of the secret in `network.yaml`.
    pub(super) id: String,
    /// Secrets Manager name, `<network>/alerts/<file>`.
    pub(super) name: String,
    /// Export name of its ARN, which the region stack imports.
    pub(super) export: String,
    /// Path in the secrets tree (`alerts/<file>`), where the operator puts the value.
    pub(super) source: &'static str,
    /// File name (`slack-webhook-url`, `telegram-bot-token`, `pagerduty-routing-key`).
    pub(super) file: &'static str,
}

/// The credentials of the spec's Slack, Telegram and PagerDuty receivers (the same files of
/// the secrets tree Alertmanager reads; SMTP's password is not one: SNS sends the e-mail).
pub(super) fn alert_secrets(net: &Network) -> Vec<AlertSecret> {
    crate::emit::monitoring::alert_secret_files(net)
        .into_iter()
        .filter(|(file, _)| *file != "smtp-password")
        .map(|(file, source)| AlertSecret {
            id: format!("AlertSecret{}", lid(file)),
            name: secret_name(net, "alerts", file),
            export: secret_export(net, "alerts", file),
            source,
            file,
        })
        .collect()
}

const SECRET_SKIPS: &[(&str, &str)] = &[
    (
        "CKV_AWS_149",
        "Encrypted with the account's aws/secretsmanager key; a customer managed key adds cost and key policy work without changing who may read the value, which each node's own execution role limits to that node's secrets.",
    ),
    (
        "CKV2_AWS_57",
        "Node and validator keys are the chain identity derived from the network seed; rotating them would change node IDs and consensus keys, so automatic rotation must stay off.",
    ),
];

/// One secret (without its value) and the output exporting its ARN.
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

/// Many secrets: one nested stack per region and chunk, created by region condition.
fn nested_secret_stacks(
    net: &Network,
    secrets: &[SecretRef],
    regions: &BTreeSet<&str>,
    tpl: &mut Tpl,
    out: &mut BTreeMap<String, Value>,
) {
    for region in regions {
        let mine: Vec<&SecretRef> = secrets.iter().filter(|s| s.region == *region).collect();
        for (k, chunk) in mine.chunks(SECRETS_PER_CHILD).enumerate() {
            let mut child = Tpl::new(format!(
                "chainfleet network {}: secrets of nodes in {region}, part {}",
                net.name,
                k + 1
            ));
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
}

/// `network.yaml` and its nested secrets stacks, into `out`.
pub(super) fn network_templates(
    net: &Network,
    artifacts: &Artifacts,
    out: &mut BTreeMap<String, Value>,
) {
    let secrets = secrets_of(net, artifacts);
    let mut tpl = Tpl::new(format!(
        "chainfleet network {}: Secrets Manager secrets (values pushed by deploy.sh) and DNS references. Deploy once per region; only that region's nodes' secrets are created.",
        net.name
    ));
    let regions: BTreeSet<&str> = secrets.iter().map(|s| s.region.as_str()).collect();
    for region in &regions {
        tpl.conditions.insert(
            region_condition(region),
            json!({ "Fn::Equals": [r("AWS::Region"), region] }),
        );
    }
    if secrets.len() > SECRETS_PER_CHILD {
        nested_secret_stacks(net, &secrets, &regions, &mut tpl, out);
    } else {
        for s in &secrets {
            add_secret(net, &mut tpl, s, Some(&region_condition(&s.region)));
        }
    }
    // The alert receivers' credentials: in every region the stack is deployed to (each
    // region's delivery function reads its own region's copy).
    for a in alert_secrets(net) {
        let res = tpl.res(
            &a.id,
            "AWS::SecretsManager::Secret",
            json!({
                "Name": a.name,
                "Description": format!("Alert receiver credential {} of {}; value pushed by deploy.sh from the secrets tree ({}), read only by the region's alert delivery function", a.file, net.name, a.source),
                "Tags": tags(net, &a.name),
            }),
        );
        res.insert(
            "Metadata".into(),
            skip(&[
                (
                    "CKV_AWS_149",
                    "Encrypted with the account's aws/secretsmanager key; who may read the value is limited by IAM: only the region's alert delivery function's role names this ARN.",
                ),
                (
                    "CKV2_AWS_57",
                    "A third party issues this credential (Slack, Telegram, PagerDuty); rotate it there and push the new value with deploy.sh.",
                ),
            ]),
        );
        tpl.output(
            &format!("{}Arn", a.id),
            &format!("ARN of secret {}", a.name),
            r(&a.id),
            Some(a.export.clone()),
        );
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
