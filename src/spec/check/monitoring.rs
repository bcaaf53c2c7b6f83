//! Monitoring rules: alert e-mail addresses, HTTPS webhooks, SNS topic ARNs, alert labels,
//! no template actions where Prometheus or Alertmanager expand templates, and alerts that
//! nothing would evaluate.

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

/// Only the characters RFC 3986 allows in a URL (printable ASCII but space, `"`, `<`, `>`,
/// `\`, `^`, `` ` ``, `{`, `|`, `}`).
fn url_chars(url: &str) -> bool {
    url.chars()
        .all(|x| x.is_ascii_graphic() && !"\"<>\\^`{|}".contains(x))
}

/// Prometheus expands Go templates in alert labels and Alertmanager in a receiver's
/// channel, sender and recipients: a `{{` there would run, not arrive.
fn no_template(c: &mut Checker<'_>, at: &str, what: &str, v: &str) {
    if v.contains("{{") || v.contains("}}") {
        c.error(
            at,
            format!("{what} `{v}` holds a template action"),
            v,
            "Prometheus and Alertmanager expand `{{ }}` here; write the text without `{{` or `}}`",
        );
    }
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
        if !url_chars(w) {
            c.error(
                &format!("/monitoring/alerts/webhooks/{i}"),
                format!("webhook `{w}` holds characters a URL cannot"),
                w.as_str(),
                "percent-encode spaces, quotes, `{`, `}`, `\\`, `<`, `>`, `^`, `|` and backticks",
            );
        } else if !(w.starts_with("https://") && w.len() >= 12 || private_http_url(w)) {
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
    for (k, v) in &alerts.labels {
        let at = format!(
            "/monitoring/alerts/labels/{}",
            crate::spec::load::pointer_segment(k)
        );
        let name_ok = k.starts_with(|x: char| x.is_ascii_alphabetic() || x == '_')
            && k.chars().all(|x| x.is_ascii_alphanumeric() || x == '_')
            && !k.starts_with("__");
        if !name_ok {
            c.key_error(
                &at,
                format!("alert label name `{k}` is not a Prometheus label name"),
                k,
                "use letters, digits and `_`, starting with a letter, e.g. `team`",
            );
        } else if k == "severity" {
            c.key_error(
                &at,
                "alert label `severity` is chainfleet's own",
                k,
                "every alert carries `severity` (critical or warning); route on another label",
            );
        }
        no_template(c, &at, "alert label value", v);
    }
    if let Some(slack) = &alerts.slack {
        no_template(
            c,
            "/monitoring/alerts/slack/channel",
            "Slack channel",
            &slack.channel,
        );
    }
    if let Some(smtp) = &alerts.smtp {
        no_template(c, "/monitoring/alerts/smtp/from", "sender", &smtp.from);
    }
    for (i, e) in alerts.email.iter().enumerate() {
        no_template(
            c,
            &format!("/monitoring/alerts/email/{i}"),
            "e-mail address",
            e,
        );
    }
    for (i, a) in alerts.sns_topics.iter().enumerate() {
        let topic_ok = |t: &str| {
            !t.is_empty()
                && t.len() <= 256
                && t.chars()
                    .all(|x| x.is_ascii_alphanumeric() || x == '-' || x == '_')
        };
        if !super::targets::is_arn(a, "sns", topic_ok) {
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
