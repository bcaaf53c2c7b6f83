//! The CloudWatch dashboard of a region: memory and CPU of every node's service, consensus
//! errors from the logs, and the states of every alarm.

use serde_json::json;

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
    widgets.push(json!({
        "type": "metric", "x": 0, "y": y, "width": 24, "height": 6,
        "properties": {
            "title": "Consensus errors in logs",
            "region": region,
            "view": "timeSeries",
            "stat": "Sum",
            "period": 300,
            "metrics": [[format!("Chainfleet/{}", net.name), "ConsensusErrors"]],
        }
    }));
    y += 6;
    let mut alarms = vec![format!(
        "arn:aws:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{}-{region}-consensus-errors",
        net.name
    )];
    for n in nodes {
        for what in ["memory", "cpu"] {
            alarms.push(format!(
                "arn:aws:cloudwatch:{region}:${{AWS::AccountId}}:alarm:{}-{}-{what}",
                net.name, n.name
            ));
        }
    }
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
