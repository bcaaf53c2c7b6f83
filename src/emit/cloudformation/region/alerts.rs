//! The region's alerting: the SNS topic (with a key CloudWatch may use), the spec's e-mail
//! subscriptions and a Lambda delivering to its webhooks, Slack, Telegram and PagerDuty, the
//! vocabulary's log alert (a metric filter over node logs) and the CloudWatch dashboard.
//! Per-node alarms are `node::alarms`.

use serde_json::json;

use super::RegionCx;
use crate::chain::alerts::{self as vocabulary, Condition};
use crate::emit::cloudformation::builder::{assumed_by, ga, r, skip, sub, tags, Tpl};
use crate::emit::cloudformation::dashboard::dashboard_body;
use crate::emit::cloudformation::node::metrics_agent::metric_namespace;
use crate::emit::cloudformation::secrets::alert_secrets;
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
    if !net.monitoring.webhooks.is_empty() || !alert_secrets(net).is_empty() {
        webhook_delivery(cx, tpl);
    }
}

/// Webhooks, Slack, Telegram and PagerDuty through a small Lambda subscribed to the topic: a
/// raw SNS http(s) subscription waits for the receiver to confirm it, which Slack, Telegram
/// and most webhooks never do, and PagerDuty wants its own event format. The function
/// (Python, inline, `templates/cloudformation/alert_webhooks.py`) POSTs every notification to
/// each of the spec's webhook URLs and receivers. The receivers' credentials stay in Secrets
/// Manager (`network.yaml`): the function's environment holds only their ARNs, and its role
/// may read exactly those secrets.
fn webhook_delivery(cx: &RegionCx<'_>, tpl: &mut Tpl) {
    let net = cx.net;
    let m = &net.monitoring;
    let secrets = alert_secrets(net);
    let arn = |file: &str| {
        let a = secrets
            .iter()
            .find(|a| a.file == file)
            .expect("a receiver's secret");
        json!({ "Fn::ImportValue": a.export })
    };
    let mut env = serde_json::Map::new();
    env.insert(
        "CHAINFLEET_WEBHOOKS".into(),
        json!(serde_json::to_string(&m.webhooks).expect("strings serialize")),
    );
    if let Some(slack) = &m.slack {
        env.insert("CHAINFLEET_SLACK_CHANNEL".into(), json!(slack.channel));
        env.insert(
            "CHAINFLEET_SLACK_WEBHOOK_SECRET".into(),
            arn("slack-webhook-url"),
        );
    }
    if let Some(tg) = &m.telegram {
        env.insert(
            "CHAINFLEET_TELEGRAM_CHAT_ID".into(),
            json!(tg.chat_id.to_string()),
        );
        env.insert(
            "CHAINFLEET_TELEGRAM_TOKEN_SECRET".into(),
            arn("telegram-bot-token"),
        );
    }
    if m.pagerduty {
        env.insert(
            "CHAINFLEET_PAGERDUTY_KEY_SECRET".into(),
            arn("pagerduty-routing-key"),
        );
    }
    let mut statements = vec![json!({
        "Sid": "WriteOwnLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": ga("AlertWebhooksLogGroup", "Arn"),
    })];
    if !secrets.is_empty() {
        statements.push(json!({
            "Sid": "ReadAlertCredentials",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secrets.iter().map(|a| json!({ "Fn::ImportValue": a.export })).collect::<Vec<_>>(),
        }));
    }
    let function = format!("{}-{}-alert-webhooks", net.name, cx.region);
    tpl.res(
        "AlertWebhooksLogGroup",
        "AWS::Logs::LogGroup",
        json!({
            "LogGroupName": format!("/aws/lambda/{function}"),
            "RetentionInDays": super::retention_days(net.monitoring.log_retention_days),
            "Tags": tags(net, &function),
        }),
    )
    .insert(
        "Metadata".into(),
        skip(&[(
            "CKV_AWS_158",
            "Delivery logs name the receiver (a webhook URL without its query, or slack, telegram, pagerduty) and the outcome (an HTTP status or error class), never a credential; CloudWatch Logs' own encryption suffices.",
        )]),
    );
    tpl.res(
        "AlertWebhooksRole",
        "AWS::IAM::Role",
        json!({
            "Description": format!("Alert delivery of {}: write its own logs and read the alert receivers' credentials, nothing else", net.name),
            "AssumeRolePolicyDocument": assumed_by("lambda.amazonaws.com"),
            "Policies": [{
                "PolicyName": "own-logs-and-alert-credentials",
                "PolicyDocument": { "Version": "2012-10-17", "Statement": statements }
            }],
            "Tags": tags(net, &format!("{function}-role")),
        }),
    );
    let code = crate::emit::templates::raw("cloudformation/alert_webhooks.py")
        .expect("the embedded webhook code exists");
    // LoggingConfig refers to the log group, so the function is created after it and logs
    // nowhere else.
    let f = tpl.res(
        "AlertWebhooksFunction",
        "AWS::Lambda::Function",
        json!({
            "FunctionName": function,
            "Description": format!("Delivers {} alarm notifications to the spec's webhooks, Slack, Telegram and PagerDuty", net.name),
            "Runtime": "python3.12",
            "Handler": "index.handler",
            "Code": { "ZipFile": code },
            "Role": ga("AlertWebhooksRole", "Arn"),
            "Timeout": 60,
            "MemorySize": 128,
            "Environment": { "Variables": env },
            "LoggingConfig": { "LogGroup": r("AlertWebhooksLogGroup") },
            "Tags": tags(net, &function),
        }),
    );
    f.insert(
        "Metadata".into(),
        skip(&[
            ("CKV_AWS_115", "Reserved concurrency would take from the account's unreserved pool (10 on new accounts, below which Lambda refuses to reserve); alarms are rare."),
            ("CKV_AWS_116", "SNS invokes the function asynchronously and Lambda retries a failed delivery twice; a dead-letter queue would hold alarms nobody reads."),
            ("CKV_AWS_117", "The function calls public webhooks and reaches no VPC resource; outside a VPC it needs no NAT."),
            ("CKV_AWS_173", "Its environment holds the spec's webhook URLs, Slack channel and Telegram chat ID (public in the spec and the generated folder) and the ARNs of the receivers' credentials, never a credential."),
            ("CKV_AWS_272", "Inline code generated from the reviewed chainfleet template; no deployment package to sign."),
        ]),
    );
    tpl.res(
        "AlertWebhooksPermission",
        "AWS::Lambda::Permission",
        json!({
            "Action": "lambda:InvokeFunction",
            "FunctionName": r("AlertWebhooksFunction"),
            "Principal": "sns.amazonaws.com",
            "SourceArn": r("AlertTopic"),
        }),
    );
    tpl.res(
        "AlertWebhooks",
        "AWS::SNS::Subscription",
        json!({ "TopicArn": r("AlertTopic"), "Protocol": "lambda", "Endpoint": ga("AlertWebhooksFunction", "Arn") }),
    );
}
