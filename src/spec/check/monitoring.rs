//! Monitoring rules: alert e-mail addresses, HTTPS webhooks, SNS topic ARNs, and alerts
//! that nothing would evaluate.

use super::Checker;
use crate::spec::Spec;

/// Check `monitoring`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let Some(alerts) = spec.monitoring.as_ref().and_then(|m| m.alerts.as_ref()) else {
        return;
    };
    for (i, e) in alerts.email.iter().enumerate() {
        let ok = e.split_once('@').is_some_and(|(u, d)| {
            !u.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !e.contains(char::is_whitespace)
        });
        if !ok {
            c.error(
                &format!("/monitoring/alerts/email/{i}"),
                format!("`{e}` is not an e-mail address"),
                e.as_str(),
                "write e.g. `ops@example.com`",
            );
        }
    }
    for (i, w) in alerts.webhooks.iter().enumerate() {
        if !w.starts_with("https://") || w.len() < 12 {
            c.error(
                &format!("/monitoring/alerts/webhooks/{i}"),
                format!("webhook `{w}` is not an HTTPS URL"),
                w.as_str(),
                "alert webhooks must use https://",
            );
        }
    }
    for (i, a) in alerts.sns_topics.iter().enumerate() {
        if !a.starts_with("arn:aws:sns:") {
            c.error(
                &format!("/monitoring/alerts/sns_topics/{i}"),
                format!("`{a}` is not an SNS topic ARN"),
                a.as_str(),
                "ARNs look like `arn:aws:sns:us-east-1:123456789012:alerts`",
            );
        }
    }
    if !spec
        .monitoring
        .as_ref()
        .is_some_and(|m| m.prometheus || m.grafana)
        && spec.targets.aws.is_none()
    {
        c.warn(
            "/monitoring/alerts",
            "alerts are set but neither prometheus nor an aws target will evaluate them",
            "set `prometheus: true`",
        );
    }
}
