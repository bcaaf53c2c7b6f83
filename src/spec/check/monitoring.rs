//! Monitoring rules: alert e-mail addresses, HTTPS webhooks, SNS topic ARNs, and alerts
//! that nothing would evaluate.

use super::Checker;
use crate::spec::Spec;

/// `http://` to an IP literal of a private or loopback range: a receiver on the same host or
/// network (e.g. a test's own webhook), where TLS adds nothing. Public hosts need HTTPS.
fn private_http_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    host.parse::<std::net::Ipv4Addr>()
        .is_ok_and(|ip| ip.is_private() || ip.is_loopback())
}

/// Check `monitoring`.
pub(super) fn check(c: &mut Checker<'_>, spec: &Spec) {
    let Some(alerts) = spec.monitoring.as_ref().and_then(|m| m.alerts.as_ref()) else {
        return;
    };
    let mut emails_ok = true;
    for (i, e) in alerts.email.iter().enumerate() {
        let ok = e.split_once('@').is_some_and(|(u, d)| {
            !u.is_empty()
                && d.contains('.')
                && !d.starts_with('.')
                && !e.contains(char::is_whitespace)
        });
        if !ok {
            emails_ok = false;
            c.error(
                &format!("/monitoring/alerts/email/{i}"),
                format!("`{e}` is not an e-mail address"),
                e.as_str(),
                "write e.g. `ops@example.com`",
            );
        }
    }
    for (i, w) in alerts.webhooks.iter().enumerate() {
        if !(w.starts_with("https://") && w.len() >= 12 || private_http_url(w)) {
            c.error(
                &format!("/monitoring/alerts/webhooks/{i}"),
                format!("webhook `{w}` is not an HTTPS URL"),
                w.as_str(),
                "alert webhooks must use https://",
            );
        }
    }
    if let Some(smtp) = &alerts.smtp {
        let ok = smtp
            .smarthost
            .rsplit_once(':')
            .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
        if !ok {
            c.error(
                "/monitoring/alerts/smtp/smarthost",
                format!("`{}` is not host:port", smtp.smarthost),
                smtp.smarthost.as_str(),
                "write e.g. `smtp.example.com:587`",
            );
        }
    } else if !alerts.email.is_empty()
        // A malformed address is reported already; one problem per value.
        && emails_ok
        && spec.targets.compose.is_some()
        && spec
            .monitoring
            .as_ref()
            .is_some_and(|m| m.prometheus || m.grafana)
    {
        c.error(
            "/monitoring/alerts/email",
            "e-mail alerts of the compose target need an SMTP server".to_string(),
            alerts.email.join(", ").as_str(),
            "add `smtp: { smarthost: host:587, from: alerts@example.com }` under monitoring.alerts",
        );
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
