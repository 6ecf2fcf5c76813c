"""SES v2 and SNS (SMS): moto's, in this process, and `GET /_local/outbox`, what they accepted.

Functions send through their real boto3 clients (`sesv2.send_email`, `sns.publish`) to the local moto
endpoint. The sender address is created as a verified SES identity, as it must be on AWS; an email from
any other address is refused, as SES refuses it. moto keeps what it accepted, without a time, so the send
time (at the stack's clock) is noted as each message arrives. The outbox view reads moto's own records:
emails from SES's sent messages (raw MIME, parsed), SMS from SNS's SMS messages, oldest first.
"""

from __future__ import annotations

import email
import email.policy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from infra.local import LOCAL_ACCOUNT_ID
from infra.local.http_api import LocalRoute

_sent_at: dict[str, datetime] = {}
_now: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731
_hooks_installed = False
_hooks_lock = threading.Lock()


def install_send_time_hooks(now: Callable[[], datetime]) -> None:
    """Notes when moto accepts each email and SMS (idempotent; the latest clock wins)."""
    global _now, _hooks_installed
    _now = now
    with _hooks_lock:
        if _hooks_installed:
            return
        from moto.ses.models import SESBackend
        from moto.sns.models import SNSBackend

        send_raw_email, publish = SESBackend.send_raw_email, SNSBackend.publish

        def noting_send_raw_email(self: Any, *args: Any, **kwargs: Any) -> Any:
            message = send_raw_email(self, *args, **kwargs)
            _sent_at[message.id] = _now()
            return message

        def noting_publish(self: Any, *args: Any, **kwargs: Any) -> Any:
            message_id = publish(self, *args, **kwargs)
            _sent_at[message_id] = _now()
            return message_id

        SESBackend.send_raw_email = noting_send_raw_email
        SNSBackend.publish = noting_publish
        _hooks_installed = True


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _email_view(message: Any) -> dict[str, Any]:
    parsed = email.message_from_string(message.raw_data, policy=email.policy.default)
    body = parsed.get_body(preferencelist=("plain", "html"))
    # moto lists the To header's addresses among the destinations again: the header says it once.
    to = str(parsed["To"]) if parsed["To"] else ", ".join(dict.fromkeys(message.destinations))
    return {"messageId": message.id, "channel": "email", "to": to,
            "subject": parsed["Subject"], "body": body.get_content() if body is not None else "",
            "headers": {name: str(value) for name, value in parsed.items()}, "sentAt": _iso(_sent_at.get(message.id))}


def _sms_view(message_id: str, phone: str, text: str) -> dict[str, Any]:
    return {"messageId": message_id, "channel": "sms", "to": phone, "subject": None, "body": text, "headers": {},
            "sentAt": _iso(_sent_at.get(message_id))}


class LocalMail:
    def __init__(self, region: str, sender_email: str | None, now: Callable[[], datetime],
                 *, endpoint_url: str | None = None) -> None:
        self.region, self.sender_email, self.endpoint_url = region, sender_email, endpoint_url
        self._now = now

    def start(self) -> None:
        import boto3

        install_send_time_hooks(self._now)
        if self.sender_email:
            boto3.client("sesv2", region_name=self.region, endpoint_url=self.endpoint_url).create_email_identity(
                EmailIdentity=self.sender_email)

    def messages(self) -> list[dict[str, Any]]:
        from moto.ses.models import ses_backends
        from moto.sns.models import sns_backends

        ses = ses_backends[LOCAL_ACCOUNT_ID][self.region]
        sns = sns_backends[LOCAL_ACCOUNT_ID][self.region]
        emails = [_email_view(message) for message in list(ses.sent_messages) if hasattr(message, "raw_data")]
        texts = [_sms_view(message_id, phone, text) for message_id, (phone, text) in list(sns.sms_messages.items())]
        # Python's sort is stable: messages noted at the same instant keep each provider's own order.
        return sorted(emails + texts, key=lambda view: view["sentAt"] or "")

    def local_routes(self) -> list[LocalRoute]:
        return [LocalRoute("GET", "/_local/outbox", lambda _body: (200, {"messages": self.messages()}))]
