"""Proof of origin on what we send: Standard Webhooks signature headers
(https://www.standardwebhooks.com), made with the `standardwebhooks` package so a receiver
verifies them with the same package in its own language.

Job requests (jobs/outbound/http.py) and webhook channels sign through `signature_headers`.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

from standardwebhooks import Webhook

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
HEADER_NAMES = (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)


def signature_headers(secrets: Sequence[str], msg_id: str, timestamp: int, body: bytes) -> dict:
    """The headers that sign `body` as message `msg_id`, sent at `timestamp` (Unix seconds).

    One signature per secret, space-separated: during a rotation the new secret's and the
    old one's, so a receiver holding either one verifies."""
    at = datetime.fromtimestamp(timestamp, UTC)
    data = body.decode()
    signatures = [Webhook(secret).sign(msg_id, at, data) for secret in secrets]
    return {
        ID_HEADER: msg_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: " ".join(signatures),
    }
