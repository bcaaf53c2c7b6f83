//! The CloudWatch agent beside a node that exports metrics: it scrapes the node's Prometheus
//! port and publishes the series the alert vocabulary watches as CloudWatch metrics
//! (embedded metric format, namespace `Chainfleet/<network>`, dimension `node`), so chain
//! stalls, peer counts and missed blocks alarm on AWS as they do under Prometheus.
//! Configuration follows the CloudWatch agent's Prometheus set-up for ECS
//! (`PROMETHEUS_CONFIG_CONTENT`, `CW_CONFIG_CONTENT`; "Set up and configure Prometheus
//! metrics collection on Amazon ECS clusters" in the CloudWatch user guide).

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::chain::alerts::{alerts, Condition};
use crate::emit::cloudformation::builder::r;
use crate::emit::cloudformation::shared::Shared;
use crate::model::{Network, Node};

/// The pinned agent image (a stack parameter, so a mirror can replace it).
pub const AGENT_IMAGE: &str = "public.ecr.aws/cloudwatch-agent/cloudwatch-agent:1.300062.0b1304";

/// The CloudWatch namespace of the network's node metrics.
pub fn metric_namespace(net: &Network) -> String {
    format!("Chainfleet/{}", net.name)
}

/// The log group the agent writes its embedded-metric records to, in `region`.
pub fn metrics_log_group(net: &Network, region: &str) -> String {
    format!("/chainfleet/{}/{region}/metrics", net.name)
}

/// The Prometheus series the vocabulary's alarms read, by name.
pub fn watched_metrics(net: &Network) -> BTreeSet<&'static str> {
    let mut names = BTreeSet::new();
    for a in alerts(net) {
        match a.condition {
            Condition::ChainStalled { height, .. } => {
                names.insert(height);
            }
            Condition::FewPeers { peers, .. } => {
                names.insert(peers);
            }
            Condition::ValidatorMissingBlocks {
                height,
                last_signed,
                ..
            } => {
                names.extend([height, last_signed]);
            }
            Condition::ProducerMissingBlocks {
                slots_won,
                produced,
            } => {
                names.extend([slots_won, produced]);
            }
            _ => {}
        }
    }
    names
}

/// True when `node` gets an agent: it exports metrics that an alarm reads.
pub fn has_agent(net: &Network, node: &Node) -> bool {
    node.port("metrics").is_some() && !watched_metrics(net).is_empty()
}

/// The agent's container definition for `node` (not essential: the node keeps running if
/// the agent stops; its alarms then see missing data, which they treat as a stall).
pub(in crate::emit::cloudformation) fn agent_container(
    net: &Network,
    node: &Node,
    shared: &mut Shared,
) -> Option<Value> {
    if !has_agent(net, node) {
        return None;
    }
    let port = node.port("metrics")?.container;
    let every = net.monitoring.scrape_interval_seconds.max(5);
    // JSON is YAML: the scrape configuration is quoted by construction.
    let prometheus = json!({
        "global": { "scrape_interval": format!("{every}s"), "scrape_timeout": format!("{}s", every.min(10)) },
        "scrape_configs": [{
            "job_name": "chainfleet",
            "static_configs": [{
                "targets": [format!("localhost:{port}")],
                "labels": { "node": node.name },
            }],
        }],
    });
    let selectors: Vec<String> = watched_metrics(net)
        .into_iter()
        .map(|m| format!("^{m}$"))
        .collect();
    let agent = json!({
        "logs": {
            "metrics_collected": { "prometheus": {
                "log_group_name": metrics_log_group(net, &node.region),
                "prometheus_config_path": "env:PROMETHEUS_CONFIG_CONTENT",
                "emf_processor": {
                    "metric_namespace": metric_namespace(net),
                    "metric_declaration": [{
                        "source_labels": ["job"],
                        "label_matcher": "^chainfleet$",
                        "dimensions": [["node"]],
                        "metric_selectors": selectors,
                    }],
                },
            }},
            "force_flush_interval": 5,
        }
    });
    Some(json!({
        "Name": "metrics-agent",
        "Image": shared.r("MetricsAgentImage"),
        "Essential": false,
        "MemoryReservation": 64,
        "Environment": [
            { "Name": "CW_CONFIG_CONTENT", "Value": agent.to_string() },
            { "Name": "PROMETHEUS_CONFIG_CONTENT", "Value": prometheus.to_string() },
        ],
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": shared.r("LogGroup"),
                "awslogs-region": r("AWS::Region"),
                "awslogs-stream-prefix": format!("{}-metrics-agent", node.name),
            }
        },
    }))
}
