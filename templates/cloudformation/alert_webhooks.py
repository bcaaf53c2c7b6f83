# chainfleet: deliver SNS alarm notifications to the network's webhooks (inline Lambda code).
# SNS https subscriptions need the receiver to confirm them, which Slack, Telegram and most
# webhooks never do; this function POSTs each notification as JSON instead. `text` makes a
# Slack incoming webhook show it; other receivers get the alarm itself under `alarm`.
import json
import os
import urllib.request


def handler(event, _context):
    hooks = json.loads(os.environ["CHAINFLEET_WEBHOOKS"])
    failed = []
    for record in event.get("Records", []):
        sns = record["Sns"]
        try:
            alarm = json.loads(sns["Message"])
        except ValueError:
            alarm = {"Message": sns["Message"]}
        if not isinstance(alarm, dict):
            alarm = {"Message": sns["Message"]}
        subject = sns.get("Subject") or "chainfleet alert"
        reason = alarm.get("NewStateReason") or sns["Message"]
        body = json.dumps(
            {"text": f"{subject}: {reason}", "subject": subject, "alarm": alarm}
        ).encode()
        for url in hooks:
            req = urllib.request.Request(
                url,
                data=body,
                headers={"Content-Type": "application/json"},
                method="POST",
            )
            try:
                with urllib.request.urlopen(req, timeout=10) as resp:
                    resp.read()
            except Exception as e:  # noqa: BLE001 - report every hook, then fail
                # The query string may hold a token: never log it.
                failed.append(f"{url.split('?')[0]}: {e}")
    if failed:
        # An asynchronous invocation that fails is retried twice by Lambda.
        raise RuntimeError("; ".join(failed))
    return {"delivered": len(hooks)}
