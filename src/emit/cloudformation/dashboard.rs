//! The CloudWatch dashboard of a region: memory and CPU of every node's service, block height
//! and peers of every node (from its metrics agent), failures found in the logs, and the
//! states of every alarm.

use serde_json::json;

use super::node::alarms::alarm_names;
use super::node::metrics_agent::metric_namespace;
use crate::chain::alerts::{alerts, Condition};
use crate::model::{Network, Node};

/// The dashboard JSON: memory and CPU of every service, consensus errors, alarm states.
/// `${AWS::AccountId}`/`${AWS::Region}` are filled by `Fn::Sub`.
pub fn dashboard_body(net: &Network, region: &str, nodes: &[&Node]) -> String {
    let mut widgets = Vec::new();
    let mut y = 0;
    for (metric, title) in [
        ("MemoryUtilization", "Memory %"),
        ("CPUUtilization", "CPU %"),
    ] {
        widgets.push(json!({
            "type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
            "properties": {
                "title": format!("{title} per node"),
                "region": region,
                "view": "timeSeries",
                "stat": "Maximum",
                "period": 60,
                "metrics": [[{ "expression": format!("SEARCH('{{AWS/ECS,ClusterName,ServiceName}} MetricName=\"{metric}\" ClusterName=\"{}\"', 'Maximum', 60)", net.name), "id": "e1", "label": "" }]],
            }
        }));
        y += 6;
    }
    let ns = metric_namespace(net);
    for a in alerts(net) {
        let (metric, title, stat) = match a.condition {
            Condition::ChainStalled { height, .. } => (height, "Block height per node", "Maximum"),
            Condition::FewPeers { peers, .. } => (peers, "Peers per node", "Minimum"),
            Condition::FailureLogged { .. } => {
                (a.name, "Consensus failures and crashes in logs", "Sum")
            }
            _ => continue,
        };
        let search = if matches!(a.condition, Condition::FailureLogged { .. }) {
            format!("SEARCH('{{{ns},}} MetricName=\"{metric}\"', '{stat}', 60)")
        } else {
            format!("SEARCH('{{{ns},node}} MetricName=\"{metric}\"', '{stat}', 60)")
        };
        widgets.push(json!({
            "type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
            "properties": {
                "title": title,
                "region": region,
                "view": "timeSeries",
                "stat": stat,
                "period": 60,
                "metrics": [[{ "expression": search, "id": "e1", "label": "" }]],
            }
        }));
        y += 6;
    }
    let mut alarms: Vec<String> = alerts(net)
        .iter()
        .filter(|a| matches!(a.condition, Condition::FailureLogged { .. }))
        .map(|a| format!("{}-{region}-{}", net.name, a.name))
        .collect();
    for n in nodes {
        alarms.extend(alarm_names(net, n));
    }
    let alarms: Vec<String> = alarms
        .into_iter()
        .map(|name| format!("arn:aws:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{name}"))
        .collect();
    // An alarm status widget shows at most 100 alarms.
    for chunk in alarms.chunks(100) {
        widgets.push(json!({
            "type": "alarm", "x": 0, "y": y, "width": 24, "height": 6,
            "properties": { "title": "Alarm states", "alarms": chunk, "sortBy": "stateUpdatedTimestamp" }
        }));
        y += 6;
    }
    serde_json::to_string(&json!({ "widgets": widgets })).expect("dashboard JSON")
}
