"""Alert delivery: a JSONL file locally, Slack or a webhook in production.

Callers decide *when* to alert (each new failure once, its recovery once); this resource only
delivers. Secrets (webhook URLs, Slack tokens) come from the environment and are never logged.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from urllib.parse import urlparse

import dagster as dg


class AlertsResource(dg.ConfigurableResource):
    """`file:///…/alerts.jsonl`, `https://…` (a webhook receiving JSON) or `slack://#channel`."""

    url: str

    def send(self, kind: str, subject: str, message: str, sent_at: datetime | None = None, **details) -> dict:
        """Deliver one alert. `sent_at`: the caller's clock (the `clock` resource, simulated in a simulated
        night); the system clock only when the caller has none."""
        alert = {
            "sent_at": (sent_at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds"),
            "kind": kind,  # e.g. "failure", "recovery"
            "subject": subject,  # what failed: an asset key, a check, a branch
            "message": message,
            **details,
        }
        parsed = urlparse(self.url)
        if parsed.scheme == "file":
            os.makedirs(os.path.dirname(parsed.path), exist_ok=True)
            with open(parsed.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(alert, ensure_ascii=False, sort_keys=True, default=str) + "\n")
        elif parsed.scheme == "https":
            import urllib.request

            req = urllib.request.Request(
                self.url, data=json.dumps(alert, default=str).encode(), headers={"Content-Type": "application/json"}
            )
            urllib.request.urlopen(req, timeout=10).close()
        elif parsed.scheme == "slack":
            from slack_sdk import WebClient

            WebClient(token=os.environ["SLACK_BOT_TOKEN"]).chat_postMessage(
                channel=parsed.netloc or parsed.path.lstrip("/"), text=f"*{kind}* {subject}: {message}"
            )
        else:
            raise ValueError(f"Alerts URL scheme {parsed.scheme!r} is not supported (file, https, slack).")
        return alert

    def sent(self) -> list[dict]:
        """Alerts written so far (local file only): for tests and the demo summary."""
        path = urlparse(self.url).path
        if urlparse(self.url).scheme != "file" or not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
