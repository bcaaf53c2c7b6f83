//! The region's alerting: the SNS topic with the spec's e-mail and webhook subscriptions, a
//! metric filter and alarm for consensus errors in node logs, and the CloudWatch dashboard.

use serde_json::json;

use super::RegionCx;
use crate::emit::cloudformation::builder::{r, sub, tags, Tpl};
use crate::emit::cloudformation::dashboard::dashboard_body;
use crate::emit::cloudformation::shared::Shared;

/// Topic, subscriptions, consensus-error filter and alarm, and the dashboard.
pub(super) fn alerts(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let (net, region) = (cx.net, cx.region);
    alert_topic(cx, tpl);
    // Consensus errors and missed blocks in the node logs.
    let metric_ns = format!("Chainfleet/{}", net.name);
    tpl.res(
        "ConsensusErrorFilter",
        "AWS::Logs::MetricFilter",
        json!({
            "LogGroupName": r("LogGroup"),
            "FilterPattern": "?\"CONSENSUS FAILURE\" ?\"consensus failure\" ?\"missed block\" ?\"MissedBlock\" ?\"failed to verify\" ?\"panic:\"",
            "MetricTransformations": [{
                "MetricNamespace": metric_ns, "MetricName": "ConsensusErrors", "MetricValue": "1", "DefaultValue": 0
            }],
        }),
    );
    let actions = shared.alarm_actions(net);
    tpl.res(
        "ConsensusErrorAlarm",
        "AWS::CloudWatch::Alarm",
        json!({
            "AlarmName": format!("{}-{region}-consensus-errors", net.name),
            "AlarmDescription": "Consensus failures, missed blocks or panics in node logs",
            "Namespace": metric_ns,
            "MetricName": "ConsensusErrors",
            "Statistic": "Sum",
            "Period": 300,
            "EvaluationPeriods": 1,
            "Threshold": 0,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": "notBreaching",
            "AlarmActions": actions.clone(),
            "OKActions": actions,
            "Tags": tags(net, &format!("{}-{region}-consensus-errors", net.name)),
        }),
    );
    tpl.res(
        "Dashboard",
        "AWS::CloudWatch::Dashboard",
        json!({
            "DashboardName": format!("{}-{region}", net.name),
            "DashboardBody": sub(&dashboard_body(net, region, &cx.nodes)),
        }),
    );
}

/// SNS topic with every alert target of the spec.
fn alert_topic(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let net = cx.net;
    tpl.res(
        "AlertTopic",
        "AWS::SNS::Topic",
        json!({
            "DisplayName": format!("{} alerts", net.name),
            "KmsMasterKeyId": "alias/aws/sns",
            "Tags": tags(net, &format!("{}-alerts", net.name)),
        }),
    );
    for (i, email) in net.monitoring.email.iter().enumerate() {
        tpl.res(
            &format!("AlertEmail{}", i + 1),
            "AWS::SNS::Subscription",
            json!({ "TopicArn": r("AlertTopic"), "Protocol": "email", "Endpoint": email }),
        );
    }
    for (i, hook) in net.monitoring.webhooks.iter().enumerate() {
        let proto = if hook.starts_with("http://") {
            "http"
        } else {
            "https"
        };
        tpl.res(
            &format!("AlertWebhook{}", i + 1),
            "AWS::SNS::Subscription",
            json!({ "TopicArn": r("AlertTopic"), "Protocol": proto, "Endpoint": hook }),
        );
    }
}
