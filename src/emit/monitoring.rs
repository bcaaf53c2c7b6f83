//! Prometheus, Alertmanager and Grafana files shared by targets that run their own
//! monitoring (compose; Helm may reuse the rules): scrape config, alert rules, Alertmanager
//! routes and receivers, Grafana datasource and dashboard. Self-contained: callers say how
//! Prometheus reaches each node (`address`) and Alertmanager.

use serde_json::json;

use crate::chain::alerts::{alerts, Condition};
use crate::chain::family;
use crate::model::{Network, Node};

/// Pinned Prometheus image.
pub const PROMETHEUS_IMAGE: &str = "prom/prometheus:v2.55.1";
/// Pinned Grafana image.
pub const GRAFANA_IMAGE: &str = "grafana/grafana:11.3.1";
/// Pinned Alertmanager image (0.26+ reads Telegram's bot token from a file).
pub const ALERTMANAGER_IMAGE: &str = "prom/alertmanager:v0.27.0";
/// Where Alertmanager finds its credential files (compose secrets' mount point).
pub const ALERT_SECRETS_DIR: &str = "/run/secrets";

/// A YAML double-quoted scalar (JSON string syntax).
fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

/// Nodes with a metrics port, with that port's container number.
pub fn scraped(net: &Network) -> impl Iterator<Item = (&Node, u16)> {
    net.nodes
        .iter()
        .filter_map(|n| n.port("metrics").map(|p| (n, p.container)))
}

/// `prometheus.yml`: one job, a static target per node with `node`, `group` and `role`
/// labels; `address(node, port)` is how Prometheus reaches it on this target, and
/// `alertmanager` (`host:port`) where alerts go.
pub fn prometheus_config(
    net: &Network,
    address: &dyn Fn(&Node, u16) -> String,
    alertmanager: Option<&str>,
) -> anyhow::Result<String> {
    prometheus_config_with_machines(net, address, alertmanager, &[])
}

/// `prometheus_config` plus a `machines` job scraping node exporters at `machines`
/// (`host:port`), for targets that run nodes on machines of their own.
pub fn prometheus_config_with_machines(
    net: &Network,
    address: &dyn Fn(&Node, u16) -> String,
    alertmanager: Option<&str>,
    machines: &[String],
) -> anyhow::Result<String> {
    let targets: Vec<serde_json::Value> = scraped(net)
        .map(|(n, port)| {
            json!({
                "address": address(n, port),
                "node": n.name,
                "group": n.group,
                "role": crate::spec::check::role_name(n.role),
            })
        })
        .collect();
    crate::templates::render(
        "monitoring/prometheus.yml.j2",
        json!({
            "network": net.name,
            "every": net.monitoring.scrape_interval_seconds,
            "alertmanager": alertmanager,
            "targets": targets,
            "machines": machines,
        }),
    )
}

/// A Prometheus duration: `2m` for 120 seconds, `45s` otherwise.
pub fn duration(seconds: u32) -> String {
    if seconds % 60 == 0 {
        format!("{}m", seconds / 60)
    } else {
        format!("{seconds}s")
    }
}

/// How a target's Prometheus sees the nodes.
pub struct PromView<'a> {
    /// Label matchers on every series a node exports (`job="nodes"`, a namespace), which
    /// carry `node` and `group` labels.
    pub nodes: &'a str,
    /// Label matchers of the node containers' cAdvisor and kube-state-metrics series, where
    /// the platform has them (their `pod` label names the node's pod); `None`: memory and
    /// CPU come from the node process's own metrics.
    pub containers: Option<&'a str>,
}

/// One Prometheus alerting rule, rendered from the vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PromRule {
    /// The vocabulary's name.
    pub alert: &'static str,
    /// PromQL.
    pub expr: String,
    /// `for:` duration.
    pub r#for: String,
    /// `critical` or `warning`.
    pub severity: &'static str,
    /// One line, with Prometheus template references to the node.
    pub summary: String,
}

/// The expression of blocks since a validator's last signature, per validator: only a
/// validator's own node exports its last signed height (labelled `validator_address`),
/// compared with the highest height any node reports.
fn blocks_since_signed(height: &str, last_signed: &str, sel: &str) -> String {
    format!(
        "scalar(max({height}{{{sel}}})) - max by (validator_address, node) ({last_signed}{{{sel}}})"
    )
}

/// One expression over every group, each group's limit its own threshold.
fn per_group(net: &Network, threshold: impl Fn(&crate::model::Group) -> String) -> String {
    net.groups
        .iter()
        .map(threshold)
        .collect::<Vec<_>>()
        .join(" or ")
}

/// The network's alert vocabulary as Prometheus rules for `view`; alerts that need what
/// this Prometheus cannot see (logs; memory of a process that does not export it) are left
/// to the targets that can.
pub fn prometheus_rules(net: &Network, view: &PromView<'_>) -> Vec<PromRule> {
    let sel = view.nodes;
    let node = "{{ $labels.node }}";
    let pod = "{{ $labels.pod }}";
    let mut rules = Vec::new();
    for alert in alerts(net) {
        let (expr, who) = match &alert.condition {
            Condition::NodeDown => (format!("up{{{sel}}} == 0"), node),
            Condition::ChainStalled { height, minutes } => (
                format!("increase({height}{{{sel}}}[{minutes}m]) < 1"),
                node,
            ),
            Condition::FewPeers { peers, min } => (format!("{peers}{{{sel}}} < {min}"), node),
            Condition::ValidatorMissingBlocks {
                height,
                last_signed,
                blocks,
            } => (
                format!(
                    "{} > {blocks}",
                    blocks_since_signed(height, last_signed, sel)
                ),
                "validator {{ $labels.validator_address }} ({{ $labels.node }})",
            ),
            Condition::ProducerMissingBlocks {
                slots_won,
                produced,
            } => (
                format!(
                    "increase({slots_won}{{{sel}}}[1h]) > 0 and increase({produced}{{{sel}}}[1h]) < 1"
                ),
                node,
            ),
            Condition::MemoryHigh { process, percent } => match (view.containers, process) {
                (Some(c), _) => (
                    format!(
                        "100 * max by (pod) (container_memory_working_set_bytes{{{c}}}) / max by (pod) (kube_pod_container_resource_limits{{{c}, resource=\"memory\"}}) > {percent}"
                    ),
                    pod,
                ),
                (None, Some(metric)) => (
                    per_group(net, |g| {
                        let limit = g.resources.memory_mib * 1024 * 1024;
                        format!(
                            "{metric}{{{sel}, group=\"{}\"}} > {}",
                            g.name,
                            limit / 100 * u64::from(*percent)
                        )
                    }),
                    node,
                ),
                (None, None) => continue,
            },
            Condition::CpuHigh { process, percent } => match (view.containers, process) {
                (Some(c), _) => (
                    format!(
                        "100 * max by (pod) (rate(container_cpu_usage_seconds_total{{{c}}}[5m])) / max by (pod) (kube_pod_container_resource_limits{{{c}, resource=\"cpu\"}}) > {percent}"
                    ),
                    pod,
                ),
                (None, Some(metric)) => (
                    per_group(net, |g| {
                        // CPU seconds per second, in thousandths: exact, no float noise.
                        let milli = u64::from(g.resources.cpu_millis) * u64::from(*percent) / 100;
                        format!(
                            "rate({metric}{{{sel}, group=\"{}\"}}[5m]) > {}.{:03}",
                            g.name,
                            milli / 1000,
                            milli % 1000
                        )
                    }),
                    node,
                ),
                (None, None) => continue,
            },
            // Prometheus does not read logs.
            Condition::FailureLogged { .. } => continue,
        };
        rules.push(PromRule {
            alert: alert.name,
            expr,
            r#for: duration(alert.for_seconds.max(1)),
            severity: alert.severity.as_str(),
            summary: format!("{who} {}", alert.meaning),
        });
    }
    rules
}

/// `alerts.yml` of the compose project: the vocabulary's rules over the `nodes` job.
/// Alert names are distinct (promtool `--lint-fatal` rejects duplicates).
pub fn alert_rules(net: &Network) -> anyhow::Result<String> {
    let view = PromView {
        nodes: "job=\"nodes\"",
        containers: None,
    };
    crate::templates::render(
        "monitoring/alerts.yml.j2",
        json!({
            "network": net.name,
            "rules": prometheus_rules(net, &view),
            "labels": net.monitoring.labels.iter().collect::<Vec<_>>(),
        }),
    )
}

/// The receivers `alertmanager.yml` configures (none: alerts stay visible in its UI).
pub fn alert_receivers(net: &Network) -> Vec<&'static str> {
    let m = &net.monitoring;
    let mut r = Vec::new();
    if !m.email.is_empty() && m.smtp.is_some() {
        r.push("email");
    }
    if !m.webhooks.is_empty() {
        r.push("webhook");
    }
    if m.slack.is_some() {
        r.push("slack");
    }
    if m.telegram.is_some() {
        r.push("telegram");
    }
    if m.pagerduty {
        r.push("pagerduty");
    }
    r
}

/// Credential files Alertmanager reads: (file name under [`ALERT_SECRETS_DIR`], path in the
/// secrets tree).
pub fn alert_secret_files(net: &Network) -> Vec<(&'static str, &'static str)> {
    let m = &net.monitoring;
    let mut f = Vec::new();
    if m.smtp.as_ref().is_some_and(|s| s.username.is_some()) && !m.email.is_empty() {
        f.push(("smtp-password", "alerts/smtp-password"));
    }
    if m.slack.is_some() {
        f.push(("slack-webhook-url", "alerts/slack-webhook-url"));
    }
    if m.telegram.is_some() {
        f.push(("telegram-bot-token", "alerts/telegram-bot-token"));
    }
    if m.pagerduty {
        f.push(("pagerduty-routing-key", "alerts/pagerduty-routing-key"));
    }
    f
}

/// `alertmanager.yml`: one route to one receiver holding every target of the spec
/// (e-mail via SMTP, webhooks, Slack, Telegram, PagerDuty). Credentials are never in this
/// file: Alertmanager reads them from files under [`ALERT_SECRETS_DIR`].
pub fn alertmanager_config(net: &Network) -> String {
    let m = &net.monitoring;
    let secret = |name: &str| format!("{ALERT_SECRETS_DIR}/{name}");
    let mut s = format!(
        "# Alertmanager of network `{}` (generated by chainfleet). Credentials are files under\n\
         # {ALERT_SECRETS_DIR} (from the secrets tree), never in this file.\n",
        net.name
    );
    s.push_str("global:\n  resolve_timeout: 5m\n");
    let email = !m.email.is_empty() && m.smtp.is_some();
    if let (true, Some(smtp)) = (email, &m.smtp) {
        s.push_str(&format!(
            "  smtp_smarthost: {}\n  smtp_from: {}\n  smtp_require_tls: {}\n",
            q(&smtp.smarthost),
            q(&smtp.from),
            smtp.require_tls.unwrap_or(true)
        ));
        if let Some(user) = &smtp.username {
            s.push_str(&format!(
                "  smtp_auth_username: {}\n  smtp_auth_password_file: {}\n",
                q(user),
                q(&secret("smtp-password"))
            ));
        }
    }
    s.push_str(
        "route:\n  receiver: chainfleet\n  group_by: [alertname, node, validator_address]\n  \
         group_wait: 10s\n  group_interval: 1m\n  repeat_interval: 4h\n\
         receivers:\n  - name: chainfleet\n",
    );
    if email {
        s.push_str("    email_configs:\n");
        for to in &m.email {
            s.push_str(&format!(
                "      - to: {}\n        send_resolved: true\n",
                q(to)
            ));
        }
    }
    if !m.webhooks.is_empty() {
        s.push_str("    webhook_configs:\n");
        for url in &m.webhooks {
            s.push_str(&format!(
                "      - url: {}\n        send_resolved: true\n",
                q(url)
            ));
        }
    }
    if let Some(slack) = &m.slack {
        s.push_str(&format!(
            "    slack_configs:\n      - api_url_file: {}\n        channel: {}\n        send_resolved: true\n",
            q(&secret("slack-webhook-url")),
            q(&slack.channel)
        ));
    }
    if let Some(tg) = &m.telegram {
        s.push_str(&format!(
            "    telegram_configs:\n      - bot_token_file: {}\n        chat_id: {}\n        send_resolved: true\n",
            q(&secret("telegram-bot-token")),
            tg.chat_id
        ));
    }
    if m.pagerduty {
        s.push_str(&format!(
            "    pagerduty_configs:\n      - routing_key_file: {}\n        send_resolved: true\n",
            q(&secret("pagerduty-routing-key"))
        ));
    }
    s
}

/// Grafana datasource provisioning pointing at `url`.
pub fn grafana_datasource(url: &str) -> String {
    format!(
        "# Grafana datasource (generated by chainfleet).\napiVersion: 1\ndatasources:\n  - name: Prometheus\n    uid: prometheus\n    type: prometheus\n    access: proxy\n    url: {url}\n    isDefault: true\n    editable: false\n"
    )
}

/// Grafana dashboard provider reading JSON files from `dir`.
pub fn grafana_dashboards_provider(dir: &str) -> String {
    format!(
        "# Grafana dashboards (generated by chainfleet).\napiVersion: 1\nproviders:\n  - name: chainfleet\n    type: file\n    disableDeletion: true\n    allowUiUpdates: false\n    options:\n      path: {dir}\n"
    )
}

/// The network's dashboard: block height, peers, missed blocks (CometBFT families), memory
/// and scrape status per node.
pub fn dashboard_json(net: &Network) -> String {
    let mut panels: Vec<(&str, String, &str)> = Vec::new();
    if let Some(m) = family(net.chain.family).metrics() {
        panels.push(("Block height", m.height.into(), "none"));
        panels.push(("Peers", m.peers.into(), "none"));
        if let Some(last) = m.last_signed_height {
            panels.push((
                "Blocks since last signature (per validator)",
                blocks_since_signed(m.height, last, "job=\"nodes\""),
                "none",
            ));
        }
        if let Some(missing) = m.missing_validators {
            panels.push((
                "Validators missing from the last block",
                missing.into(),
                "none",
            ));
        }
        if let Some(memory) = m.memory {
            panels.push(("Memory (resident)", memory.into(), "bytes"));
        }
    }
    panels.push(("Up", "up{job=\"nodes\"}".into(), "none"));
    let panels: Vec<serde_json::Value> = panels
        .into_iter()
        .enumerate()
        .map(|(i, (title, expr, unit))| {
            json!({
                "id": i + 1,
                "type": "timeseries",
                "title": title,
                "datasource": { "type": "prometheus", "uid": "prometheus" },
                "gridPos": { "h": 8, "w": 12, "x": (i % 2) * 12, "y": (i / 2) * 8 },
                "fieldConfig": { "defaults": { "unit": unit }, "overrides": [] },
                "options": { "legend": { "displayMode": "list", "placement": "bottom" } },
                "targets": [{
                    "refId": "A",
                    "datasource": { "type": "prometheus", "uid": "prometheus" },
                    "expr": expr,
                    "legendFormat": "{{node}}"
                }]
            })
        })
        .collect();
    let dash = json!({
        "uid": format!("chainfleet-{}", net.name).chars().take(40).collect::<String>(),
        "title": format!("{} ({})", net.name, net.chain.chain_id),
        "tags": ["chainfleet"],
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": { "from": "now-1h", "to": "now" },
        "panels": panels
    });
    let mut s = serde_json::to_string_pretty(&dash).expect("JSON value serializes");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alert_rules_carry_the_spec_labels_quoted() {
        let yaml = include_str!("../../examples/cometbft-kvstore.yaml").replace(
            "alerts: { no_block_minutes: 2, missed_blocks: 10 }",
            "alerts: { no_block_minutes: 2, labels: { team: \"a\\\"b\" } }",
        );
        let net = crate::test_network(&yaml);
        let rules = alert_rules(&net).unwrap();
        assert!(
            rules.contains("labels: {severity: critical, \"team\": \"a\\\"b\"}"),
            "{rules}"
        );
        assert_eq!(
            rules.matches("- alert: ").count(),
            prometheus_rules(
                &net,
                &PromView {
                    nodes: "",
                    containers: None
                }
            )
            .len()
        );
    }
}
