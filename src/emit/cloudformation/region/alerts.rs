//! The region's alerting: the SNS topic (with a key CloudWatch may use) and the spec's e-mail
//! and webhook subscriptions, the vocabulary's log alert (a metric filter over node logs) and
//! the CloudWatch dashboard. Per-node alarms are `node::alarms`.

use serde_json::json;

use super::RegionCx;
use crate::chain::alerts::{self as vocabulary, Condition};
use crate::emit::cloudformation::builder::{r, sub, tags, Tpl};
use crate::emit::cloudformation::dashboard::dashboard_body;
use crate::emit::cloudformation::node::metrics_agent::metric_namespace;
use crate::emit::cloudformation::shared::Shared;

/// Topic, subscriptions, the failure-log filter and alarm, and the dashboard.
pub(super) fn alerts(cx: &RegionCx<'_>, tpl: &mut Tpl, shared: &mut Shared) {
    let (net, region) = (cx.net, cx.region);
    alert_topic(cx, tpl);
    // The vocabulary's log alert: one filter over every node's log streams in this region.
    let logged = vocabulary::alerts(net)
        .into_iter()
        .find_map(|a| match a.condition {
            Condition::FailureLogged { terms } => Some((a, terms)),
            _ => None,
        });
    if let Some((alert, terms)) = logged {
        let metric_ns = metric_namespace(net);
        let pattern: Vec<String> = terms
            .iter()
            .map(|t| format!("?{}", serde_json::to_string(t).expect("strings serialize")))
            .collect();
        tpl.res(
            "FailureLoggedFilter",
            "AWS::Logs::MetricFilter",
            json!({
                "LogGroupName": r("LogGroup"),
                "FilterPattern": pattern.join(" "),
                "MetricTransformations": [{
                    "MetricNamespace": metric_ns, "MetricName": alert.name, "MetricValue": "1", "DefaultValue": 0
                }],
            }),
        );
        let actions = shared.alarm_actions(net);
        let name = format!("{}-{region}-{}", net.name, alert.name);
        tpl.res(
            "FailureLoggedAlarm",
            "AWS::CloudWatch::Alarm",
            json!({
                "AlarmName": name,
                "AlarmDescription": format!("{} ({}): a node in {region} {}", alert.name, alert.severity.as_str(), alert.meaning),
                "Namespace": metric_ns,
                "MetricName": alert.name,
                "Statistic": "Sum",
                "Period": 60,
                "EvaluationPeriods": 1,
                "Threshold": 0,
                "ComparisonOperator": "GreaterThanThreshold",
                "TreatMissingData": "notBreaching",
                "AlarmActions": actions.clone(),
                "OKActions": actions,
                "Tags": tags(net, &name),
            }),
        );
    }
    tpl.res(
        "Dashboard",
        "AWS::CloudWatch::Dashboard",
        json!({
            "DashboardName": format!("{}-{region}", net.name),
            "DashboardBody": sub(&dashboard_body(net, region, &cx.nodes)),
        }),
    );
}

/// The key of the alert topic: customer managed, because CloudWatch alarms cannot publish
/// to a topic encrypted with the AWS managed `alias/aws/sns` key (its policy cannot grant
/// `cloudwatch.amazonaws.com` use of it).
fn alert_key(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let net = cx.net;
    tpl.res(
        "AlertKey",
        "AWS::KMS::Key",
        json!({
            "Description": format!("Encrypts the {} alert topic; CloudWatch alarms may use it to publish", net.name),
            "EnableKeyRotation": true,
            "KeyPolicy": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "AccountAdministers",
                        "Effect": "Allow",
                        "Principal": { "AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root") },
                        "Action": "kms:*",
                        "Resource": "*",
                    },
                    {
                        "Sid": "AlarmsPublish",
                        "Effect": "Allow",
                        "Principal": { "Service": "cloudwatch.amazonaws.com" },
                        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                        "Resource": "*",
                        "Condition": { "StringEquals": { "aws:SourceAccount": r("AWS::AccountId") } },
                    },
                ],
            },
            // No Tags: moto's KMS reads CloudFormation's Key/Value tags as KMS's TagKey/TagValue
            // and fails the whole stack.
        }),
    );
}

/// SNS topic with every alert target of the spec.
fn alert_topic(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let net = cx.net;
    alert_key(cx, tpl);
    tpl.res(
        "AlertTopic",
        "AWS::SNS::Topic",
        json!({
            "DisplayName": format!("{} alerts", net.name),
            "KmsMasterKeyId": r("AlertKey"),
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
