//! A node's CloudWatch alarms: the network's alert vocabulary (`chain::alerts`) rendered as
//! alarms named `<network>-<node>-<Alert>`, reading ECS and Container Insights metrics and
//! the node's own metrics that its CloudWatch agent publishes. Silence means death where it
//! does: a node that stops reporting breaches `NodeDown` and `ChainStalled`.

use serde_json::{json, Value};

use super::metrics_agent::{has_agent, metric_namespace};
use super::NodeCx;
use crate::chain::alerts::{alerts, Alert, Condition};
use crate::emit::cloudformation::builder::{tags, Tpl};
use crate::emit::cloudformation::names::lid;
use crate::emit::cloudformation::shared::Shared;
use crate::model::{Network, Node};

/// A metric-math input: `id` is the statistic `stat` of the node's metric `name` over
/// `period` seconds.
fn node_metric(cx: &NodeCx<'_>, id: &str, name: &str, stat: &str, period: u32) -> Value {
    json!({
        "Id": id,
        "ReturnData": false,
        "MetricStat": {
            "Metric": {
                "Namespace": metric_namespace(cx.net),
                "MetricName": name,
                "Dimensions": [{ "Name": "node", "Value": cx.node.name }],
            },
            "Period": period,
            "Stat": stat,
        },
    })
}

/// A metric-math input from the ECS service's Container Insights metrics.
fn service_metric(cx: &NodeCx<'_>, id: &str, name: &str, period: u32) -> Value {
    json!({
        "Id": id,
        "ReturnData": false,
        "MetricStat": {
            "Metric": {
                "Namespace": "ECS/ContainerInsights",
                "MetricName": name,
                "Dimensions": [
                    { "Name": "ClusterName", "Value": cx.net.name },
                    { "Name": "ServiceName", "Value": cx.node.name },
                ],
            },
            "Period": period,
            "Stat": "Average",
        },
    })
}

/// The math expression an alarm compares.
fn expression(id: &str, expr: &str, label: &str) -> Value {
    json!({ "Id": id, "Expression": expr, "Label": label, "ReturnData": true })
}

/// Periods that cover `seconds` (at least one minute-long period).
fn periods(seconds: u32) -> u32 {
    seconds.div_ceil(60).max(1)
}

/// The alarm's comparison: (metric fields, threshold, operator, evaluation periods, missing
/// data), or `None` for a condition no node alarm shows (`rendered` filters first).
fn alarm_of(cx: &NodeCx<'_>, alert: &Alert) -> Option<Value> {
    let ecs_utilisation = |metric: &str, percent: u8| {
        json!({
            "Namespace": "AWS/ECS",
            "MetricName": metric,
            "Dimensions": [
                { "Name": "ClusterName", "Value": cx.net.name },
                { "Name": "ServiceName", "Value": cx.node.name },
            ],
            "Statistic": "Maximum",
            "Period": 60,
            "EvaluationPeriods": periods(alert.for_seconds),
            "Threshold": percent,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
        })
    };
    let math = |metrics: Vec<Value>, threshold: u32, op: &str, evaluations: u32, missing: &str| {
        json!({
            "Metrics": metrics,
            "Threshold": threshold,
            "ComparisonOperator": op,
            "EvaluationPeriods": evaluations,
            "TreatMissingData": missing,
        })
    };
    Some(match &alert.condition {
        // Fewer tasks run than the service wants (a group scaled to zero is not down).
        Condition::NodeDown => math(
            vec![
                service_metric(cx, "desired", "DesiredTaskCount", 60),
                service_metric(cx, "running", "RunningTaskCount", 60),
                expression("missing", "desired - running", "tasks missing"),
            ],
            0,
            "GreaterThanThreshold",
            periods(alert.for_seconds),
            "breaching",
        ),
        Condition::ChainStalled { height, minutes } => math(
            vec![
                node_metric(cx, "top", height, "Maximum", minutes * 60),
                node_metric(cx, "bottom", height, "Minimum", minutes * 60),
                expression("grew", "top - bottom", "blocks in the window"),
            ],
            1,
            "LessThanThreshold",
            1,
            "breaching",
        ),
        Condition::FewPeers { peers, min } => math(
            vec![
                node_metric(cx, "peers", peers, "Minimum", 60),
                expression("connected", "peers", "peers"),
            ],
            *min,
            "LessThanThreshold",
            periods(alert.for_seconds),
            "notBreaching",
        ),
        Condition::ValidatorMissingBlocks {
            height,
            last_signed,
            blocks,
        } => math(
            vec![
                node_metric(cx, "height", height, "Maximum", 60),
                node_metric(cx, "signed", last_signed, "Maximum", 60),
                expression(
                    "behind",
                    "height - signed",
                    "blocks since its last signature",
                ),
            ],
            *blocks,
            "GreaterThanThreshold",
            periods(alert.for_seconds),
            "notBreaching",
        ),
        // The agent publishes counters as the increase since its last scrape.
        Condition::ProducerMissingBlocks {
            slots_won,
            produced,
        } => math(
            vec![
                node_metric(cx, "won", slots_won, "Sum", 3600),
                node_metric(cx, "made", produced, "Sum", 3600),
                expression(
                    "idle",
                    "IF(won > 0 AND made < 1, 1, 0)",
                    "won slots, no block",
                ),
            ],
            1,
            "GreaterThanOrEqualToThreshold",
            1,
            "notBreaching",
        ),
        Condition::MemoryHigh { percent, .. } => ecs_utilisation("MemoryUtilization", *percent),
        Condition::CpuHigh { percent, .. } => ecs_utilisation("CPUUtilization", *percent),
        // A region-wide log filter (`region::alerts`) watches every node's logs.
        _ => return None,
    })
}

/// The alerts `node` gets an alarm for on AWS: those watching the node whose condition
/// CloudWatch can see (node metrics need the agent; logs are watched region-wide).
fn rendered(net: &Network, node: &Node) -> Vec<Alert> {
    let agent = has_agent(net, node);
    alerts(net)
        .into_iter()
        .filter(|a| {
            a.watches(node)
                && match a.condition {
                    Condition::NodeDown
                    | Condition::MemoryHigh { .. }
                    | Condition::CpuHigh { .. } => true,
                    Condition::FailureLogged { .. } => false,
                    _ => agent,
                }
        })
        .collect()
}

/// The name of `node`'s alarm for `alert`.
fn alarm_name(net: &Network, node: &Node, alert: &Alert) -> String {
    format!("{}-{}-{}", net.name, node.name, alert.name)
}

/// The names of `node`'s alarms, as `alarms` creates them.
pub fn alarm_names(net: &Network, node: &Node) -> Vec<String> {
    rendered(net, node)
        .iter()
        .map(|a| alarm_name(net, node, a))
        .collect()
}

/// The node's alarms, notifying the region's alert topic and the spec's SNS topics.
pub(super) fn alarms(cx: &NodeCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let (net, node) = (cx.net, cx.node);
    for alert in rendered(net, node) {
        let Some(mut props) = alarm_of(cx, &alert) else {
            continue;
        };
        let name = alarm_name(net, node, &alert);
        let actions = shared.alarm_actions(net);
        props["AlarmName"] = json!(name);
        props["AlarmDescription"] = json!(format!(
            "{} ({}): {} {}",
            alert.name,
            alert.severity.as_str(),
            node.name,
            alert.meaning
        ));
        props["AlarmActions"] = actions.clone();
        props["OKActions"] = actions;
        props["Tags"] = tags(net, &name);
        tpl.res(
            &format!("{}{}Alarm", cx.n, lid(alert.name)),
            "AWS::CloudWatch::Alarm",
            props,
        );
    }
}
