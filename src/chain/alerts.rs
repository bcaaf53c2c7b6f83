//! The network's one alert vocabulary: which conditions raise an alert, under which name,
//! severity and thresholds, measured with the chain family's metrics. Compose's Prometheus
//! rules, the Helm chart's PrometheusRule and the CloudWatch alarms all render this list, so
//! an alert has the same name and meaning on every target.

use serde::Serialize;

use super::family::family;
use crate::model::{Network, Node};

/// How urgent an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Blocks are at stake now: page someone.
    Critical,
    /// Degraded: look at it soon.
    Warning,
}

impl Severity {
    /// The label value (`critical`, `warning`).
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Warning => "warning",
        }
    }
}

/// What an alert watches, with its threshold and the family's metric names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Condition {
    /// The node process is gone: its metrics port does not answer, no task runs.
    NodeDown,
    /// The node's height did not grow for `minutes`.
    ChainStalled {
        /// Height gauge.
        height: &'static str,
        /// Minutes without a new block.
        minutes: u32,
    },
    /// Fewer than `min` connected peers.
    FewPeers {
        /// Peer-count gauge.
        peers: &'static str,
        /// The spec's minimum.
        min: u32,
    },
    /// A validator last signed more than `blocks` blocks below the chain's height.
    ValidatorMissingBlocks {
        /// Height gauge.
        height: &'static str,
        /// Last signed height gauge (only the validator's own node exports it).
        last_signed: &'static str,
        /// Blocks tolerated.
        blocks: u32,
    },
    /// A block producer won slots in the last hour but produced no block.
    ProducerMissingBlocks {
        /// Slots-won counter.
        slots_won: &'static str,
        /// Blocks-produced counter.
        produced: &'static str,
    },
    /// Memory above `percent` of the node's limit.
    MemoryHigh {
        /// The node process's own resident-memory gauge, when it exports one (targets
        /// without container metrics need it).
        process: Option<&'static str>,
        /// Percent of the group's memory limit.
        percent: u8,
    },
    /// CPU above `percent` of the node's limit.
    CpuHigh {
        /// The node process's own CPU-seconds counter, when it exports one.
        process: Option<&'static str>,
        /// Percent of the group's CPU limit.
        percent: u8,
    },
    /// A log line that means a consensus failure or a crash (targets that alert on logs).
    FailureLogged {
        /// Terms, any of which matches.
        terms: &'static [&'static str],
    },
}

/// Which nodes an alert watches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Watches {
    /// Every node.
    EveryNode,
    /// Nodes with a metrics port.
    MetricsNodes,
    /// Signing nodes (validators, block producers) with a metrics port.
    SigningNodes,
}

/// One alert of the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alert {
    /// Its name on every target (Prometheus `alert:`, the CloudWatch alarm's suffix).
    pub name: &'static str,
    /// How urgent.
    pub severity: Severity,
    /// How long the condition must hold before it fires.
    pub for_seconds: u32,
    /// What it means, after the node's name ("made no block in 5 minutes").
    pub meaning: String,
    /// What it watches.
    pub condition: Condition,
    /// On which nodes.
    pub watches: Watches,
}

impl Alert {
    /// True when this alert watches `node`.
    pub fn watches(&self, node: &Node) -> bool {
        let metrics = node.port("metrics").is_some();
        match self.watches {
            Watches::EveryNode => true,
            Watches::MetricsNodes => metrics,
            Watches::SigningNodes => metrics && node.is_validator(),
        }
    }
}

/// The network's alerts, in a stable order: what its family's metrics and logs can show,
/// with the spec's `monitoring` thresholds.
pub fn alerts(net: &Network) -> Vec<Alert> {
    let m = &net.monitoring;
    let fam = family(net.chain.family);
    let metrics = fam.metrics();
    let signing = net.validators().any(|n| n.port("metrics").is_some());
    let mut out = vec![Alert {
        name: "NodeDown",
        severity: Severity::Critical,
        for_seconds: m.node_down_seconds,
        meaning: "is down (no running process answers)".into(),
        condition: Condition::NodeDown,
        watches: Watches::EveryNode,
    }];
    if let Some(x) = metrics {
        out.push(Alert {
            name: "ChainStalled",
            severity: Severity::Critical,
            for_seconds: 60,
            meaning: format!("made no block in {} minutes", m.no_block_minutes),
            condition: Condition::ChainStalled {
                height: x.height,
                minutes: m.no_block_minutes,
            },
            watches: Watches::MetricsNodes,
        });
        out.push(Alert {
            name: "FewPeers",
            severity: Severity::Warning,
            for_seconds: 300,
            meaning: format!("has fewer than {} peers", m.min_peers),
            condition: Condition::FewPeers {
                peers: x.peers,
                min: m.min_peers,
            },
            watches: Watches::MetricsNodes,
        });
        if let (Some(last_signed), true) = (x.last_signed_height, signing) {
            out.push(Alert {
                name: "ValidatorMissingBlocks",
                severity: Severity::Critical,
                for_seconds: 30,
                meaning: format!("last signed more than {} blocks ago", m.missed_blocks),
                condition: Condition::ValidatorMissingBlocks {
                    height: x.height,
                    last_signed,
                    blocks: m.missed_blocks,
                },
                watches: Watches::SigningNodes,
            });
        }
        if let (Some((slots_won, produced)), true) = (x.slots_won_and_produced, signing) {
            out.push(Alert {
                name: "ProducerMissingBlocks",
                severity: Severity::Warning,
                for_seconds: 600,
                meaning: "won slots in the last hour but produced no block".into(),
                condition: Condition::ProducerMissingBlocks {
                    slots_won,
                    produced,
                },
                watches: Watches::SigningNodes,
            });
        }
    }
    out.push(Alert {
        name: "MemoryHigh",
        severity: Severity::Warning,
        for_seconds: 300,
        meaning: format!("uses over {}% of its memory limit", m.memory_percent),
        condition: Condition::MemoryHigh {
            process: metrics.and_then(|x| x.memory),
            percent: m.memory_percent,
        },
        watches: Watches::EveryNode,
    });
    out.push(Alert {
        name: "CpuHigh",
        severity: Severity::Warning,
        for_seconds: 300,
        meaning: format!("uses over {}% of its CPU limit", m.cpu_percent),
        condition: Condition::CpuHigh {
            process: metrics.and_then(|x| x.cpu_seconds),
            percent: m.cpu_percent,
        },
        watches: Watches::EveryNode,
    });
    let terms = fam.failure_log_terms();
    if !terms.is_empty() {
        out.push(Alert {
            name: "FailureLogged",
            severity: Severity::Critical,
            for_seconds: 0,
            meaning: "logged a consensus failure or a crash".into(),
            condition: Condition::FailureLogged { terms },
            watches: Watches::EveryNode,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(yaml: &str) -> Vec<&'static str> {
        let net = crate::test_network(yaml);
        alerts(&net).iter().map(|a| a.name).collect()
    }

    #[test]
    fn each_family_alerts_on_what_its_metrics_and_logs_show() {
        assert_eq!(
            names(include_str!("../../examples/cometbft-kvstore.yaml")),
            [
                "NodeDown",
                "ChainStalled",
                "FewPeers",
                "ValidatorMissingBlocks",
                "MemoryHigh",
                "CpuHigh",
                "FailureLogged"
            ]
        );
        assert_eq!(
            names(include_str!("../../examples/mina-testnet.yaml")),
            [
                "NodeDown",
                "ChainStalled",
                "FewPeers",
                "ProducerMissingBlocks",
                "MemoryHigh",
                "CpuHigh"
            ]
        );
        let generic = "name: g\nchain: { family: generic, chain_id: g-1, binary: gd, image: \"x/gd:1\" }\ngroups:\n  - { name: node, role: full }\ntargets:\n  local: { base_port: 40000 }\n";
        assert_eq!(names(generic), ["NodeDown", "MemoryHigh", "CpuHigh"]);
    }
}
