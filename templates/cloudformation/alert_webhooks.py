# chainfleet: deliver SNS alarm notifications to the network's alert receivers (inline Lambda
# code, one function per region, subscribed to the region's alert topic).
#
# SNS https subscriptions need the receiver to confirm them, which Slack, Telegram and most
# webhooks never do; this function delivers each notification itself:
# - webhooks (CHAINFLEET_WEBHOOKS, a JSON list of URLs): the alarm as JSON, `text` for Slack
#   incoming webhooks, the alarm itself under `alarm`;
# - Slack (CHAINFLEET_SLACK_CHANNEL): an incoming-webhook message;
# - Telegram (CHAINFLEET_TELEGRAM_CHAT_ID): the Bot API's sendMessage;
# - PagerDuty: an Events API v2 event, `trigger` on ALARM and `resolve` on OK, deduplicated
#   by the alarm's name, severity from the alarm's description (`<Alert> (<severity>): ...`).
# Their credentials (Slack webhook URL, bot token, routing key) are Secrets Manager secrets:
# the environment holds only their ARNs (CHAINFLEET_*_SECRET), read at the first invocation of
# a container and kept for the next ones. No credential is ever logged or raised: failures
# name the receiver and the HTTP status or error class only.
#
# Test only: CHAINFLEET_TEST_API_BASES, a JSON object such as
# {"telegram": "http://127.0.0.1:8001", "pagerduty": "http://127.0.0.1:8002"}, replaces the
# public API bases so tests/cfn_semantics.rs can run this code against local stand-ins. The
# generated template never sets it.
import json
import os
import urllib.error
import urllib.request

API_BASES = {
    "telegram": "https://api.telegram.org",
    "pagerduty": "https://events.pagerduty.com",
}
API_BASES.update(json.loads(os.environ.get("CHAINFLEET_TEST_API_BASES") or "{}"))

# PagerDuty severities of chainfleet's alert severities.
PAGERDUTY_SEVERITY = {"critical": "critical", "warning": "warning"}

_secrets = {}


def _secret(env):
    """The value of the secret whose ARN is in `env`, cached for the container's life."""
    arn = os.environ[env]
    if arn not in _secrets:
        import boto3  # in the Lambda runtime; imported only when a credential is needed

        client = boto3.client("secretsmanager", region_name=arn.split(":")[3])
        _secrets[arn] = client.get_secret_value(SecretId=arn)["SecretString"].strip()
    return _secrets[arn]


def _post(url, payload):
    req = urllib.request.Request(
        url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        resp.read()


def _why(e):
    """What went wrong, without the URL or anything a server echoed."""
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code}"
    if isinstance(e, urllib.error.URLError) and isinstance(e.reason, BaseException):
        return f"URLError ({type(e.reason).__name__})"
    return type(e).__name__


def _severity(alarm):
    """chainfleet's alarm descriptions open with `<Alert> (<severity>):`."""
    desc = alarm.get("AlarmDescription") or ""
    head = desc.split(":", 1)[0]
    if head.endswith(")") and "(" in head:
        sev = head[head.rindex("(") + 1 : -1]
        if sev in PAGERDUTY_SEVERITY:
            return PAGERDUTY_SEVERITY[sev]
    return "error"


def _notification(sns):
    try:
        alarm = json.loads(sns["Message"])
    except ValueError:
        alarm = None
    if not isinstance(alarm, dict):
        alarm = {"Message": sns["Message"]}
    subject = sns.get("Subject") or "chainfleet alert"
    name = alarm.get("AlarmName") or subject
    state = alarm.get("NewStateValue")
    reason = alarm.get("NewStateReason") or sns["Message"]
    arn = alarm.get("AlarmArn") or ""
    region = arn.split(":")[3] if arn.count(":") >= 5 else os.environ.get("AWS_REGION", "")
    return alarm, subject, name, state, reason, region


def _pagerduty_event(alarm, name, state, reason, region):
    """Events API v2 without the routing key: trigger on ALARM, resolve on OK, one incident
    per alarm (dedup_key = the alarm's name)."""
    action = {"ALARM": "trigger", "OK": "resolve"}.get(state)
    if action is None:
        return None
    event = {"event_action": action, "dedup_key": name}
    if action == "trigger":
        event["payload"] = {
            "summary": f"{name}: {reason}"[:1024],
            "source": alarm.get("AlarmArn") or region or "cloudwatch",
            "severity": _severity(alarm),
            "custom_details": {
                "description": alarm.get("AlarmDescription"),
                "region": region,
                "state": state,
            },
        }
    return event


def handler(event, _context):
    env = os.environ
    hooks = json.loads(env.get("CHAINFLEET_WEBHOOKS") or "[]")
    failed = []
    delivered = 0

    def deliver(what, send):
        nonlocal delivered
        try:
            send()
            delivered += 1
            print(f"delivered to {what}")
        except Exception as e:  # noqa: BLE001 - report every receiver, then fail
            failed.append(f"{what}: {_why(e)}")

    for record in event.get("Records", []):
        sns = record["Sns"]
        alarm, subject, name, state, reason, region = _notification(sns)
        # Telegram takes at most 4096 characters.
        text = f"[{state or 'NOTICE'}] {name} ({region}): {reason}"[:3000]
        body = {"text": f"{subject}: {reason}", "subject": subject, "alarm": alarm}
        for url in hooks:
            # The query string may hold a token: never log it.
            deliver(url.split("?")[0], lambda url=url: _post(url, body))
        if env.get("CHAINFLEET_SLACK_CHANNEL"):
            deliver(
                "slack",
                lambda: _post(
                    _secret("CHAINFLEET_SLACK_WEBHOOK_SECRET"),
                    {"channel": env["CHAINFLEET_SLACK_CHANNEL"], "text": text},
                ),
            )
        if env.get("CHAINFLEET_TELEGRAM_CHAT_ID"):
            deliver(
                "telegram",
                lambda: _post(
                    f"{API_BASES['telegram']}/bot{_secret('CHAINFLEET_TELEGRAM_TOKEN_SECRET')}/sendMessage",
                    {"chat_id": int(env["CHAINFLEET_TELEGRAM_CHAT_ID"]), "text": text},
                ),
            )
        if env.get("CHAINFLEET_PAGERDUTY_KEY_SECRET"):
            page = _pagerduty_event(alarm, name, state, reason, region)
            if page is None:
                # INSUFFICIENT_DATA or not an alarm: no incident to open or close.
                print(f"pagerduty: nothing to send for state {state}")
            else:
                deliver(
                    f"pagerduty ({page['event_action']})",
                    lambda page=page: _post(
                        f"{API_BASES['pagerduty']}/v2/enqueue",
                        {"routing_key": _secret("CHAINFLEET_PAGERDUTY_KEY_SECRET"), **page},
                    ),
                )
    if failed:
        # An asynchronous invocation that fails is retried twice by Lambda. Raised outside
        # any `except`, so no chained traceback carries a request's URL.
        raise RuntimeError("; ".join(failed))
    return {"delivered": delivered}

