"""A log filter that masks every credential this process has decrypted or encrypted.

Connectors never log credentials on purpose; this catches the accidental case (an exception
message that embeds a header or URL), so secrets cannot reach a log line.
"""

from __future__ import annotations

import logging
import threading

_MIN_SECRET_LENGTH = 6
_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: object) -> None:
    if isinstance(value, str) and len(value) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not _secrets:
            return True
        message = record.getMessage()
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            # Format the traceback now so the redacted text is what handlers print.
            cleaned = redact(f"{cleaned}\n{logging.Formatter().formatException(record.exc_info)}")
            record.exc_info = None
            record.exc_text = None
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True
