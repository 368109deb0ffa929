"""The HTTP client every connector shares: httpx with retries, backoff and 429 waits.

- Timeouts, dropped connections and 5xx are retried with exponential backoff and full jitter,
  up to `max_attempts`; then a TransientError carries the last reason.
- A 429 is a wait, never a failure: the client sleeps for Retry-After or
  X-Rate-Limit-Time-Reset-Ms and tries again (429s do not use up attempts, but are bounded by
  `max_rate_limit_waits`).
- `on_response` lets a rate limiter learn from each response's headers.
- Requests that are not idempotent (POST) are retried too: the engine makes creates safe to
  repeat (pending mark + lookup by natural key), so the client need not guess.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from typing import Any

import httpx

from apps.stores.connectors.base import ConnectorError, TransientError

ResponseHook = Callable[[httpx.Response], None]


def _retry_after_seconds(response: httpx.Response) -> float:
    header = response.headers.get("Retry-After")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            pass
    reset_ms = response.headers.get("X-Rate-Limit-Time-Reset-Ms")
    if reset_ms:
        try:
            return max(0.0, int(reset_ms) / 1000.0)
        except ValueError:
            pass
    return 1.0


class HttpClient:
    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        auth: httpx.Auth | tuple[str, str] | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_cap: float = 20.0,
        max_rate_limit_waits: int = 1000,
        on_response: ResponseHook | None = None,
        before_request: Callable[[], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = httpx.Client(
            base_url=base_url,
            headers={"Accept": "application/json", **(headers or {})},
            auth=auth,
            transport=transport,
            timeout=timeout,
        )
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.max_rate_limit_waits = max_rate_limit_waits
        self.on_response = on_response
        self.before_request = before_request
        self.sleep = sleep
        self.requests_sent = 0
        self.rate_limited = 0

    def close(self) -> None:
        self._client.close()

    def _backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Send a request; return any response below 500 except 429 (callers map 4xx)."""
        attempt = 0
        waits = 0
        while True:
            if self.before_request is not None:
                self.before_request()
            self.requests_sent += 1
            try:
                response = self._client.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                attempt += 1
                reason = f"{method} {path}: {type(exc).__name__}"
                if attempt >= self.max_attempts:
                    raise TransientError(f"{reason} after {attempt} attempts") from None
                self.sleep(self._backoff(attempt))
                continue
            if self.on_response is not None:
                self.on_response(response)
            if response.status_code == 429:
                self.rate_limited += 1
                waits += 1
                if waits > self.max_rate_limit_waits:
                    raise TransientError(f"{method} {path}: still rate limited", status=429)
                self.sleep(_retry_after_seconds(response))
                continue
            if response.status_code >= 500:
                attempt += 1
                if attempt >= self.max_attempts:
                    raise TransientError(
                        f"{method} {path}: HTTP {response.status_code} after {attempt} attempts",
                        status=response.status_code,
                    )
                self.sleep(self._backoff(attempt))
                continue
            return response

    def json(self, method: str, path: str, **kwargs: Any) -> tuple[Any, httpx.Response]:
        """Request and decode JSON; a 4xx becomes ConnectorError with the platform's message."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ConnectorError(
                f"{method} {path}: HTTP {response.status_code}: {error_message(response)}",
                status=response.status_code,
            )
        if response.status_code == 204 or not response.content:
            return None, response
        return decode_json(response, f"{method} {path}"), response


def decode_json(response: httpx.Response, what: str) -> Any:
    """The response's JSON. Bytes that are not UTF-8 (a plugin echoing a legacy Latin-1 value)
    become U+FFFD rather than making the whole page unreadable: the records that hold them then
    fail alone in validation, named, and the rest of the page migrates."""
    try:
        return json.loads(response.content)
    except UnicodeDecodeError:
        text = response.content.decode("utf-8", errors="replace")
    except ValueError:
        raise ConnectorError(
            f"{what}: the response is not JSON", status=response.status_code
        ) from None
    try:
        return json.loads(text)
    except ValueError:
        raise ConnectorError(
            f"{what}: the response is not JSON", status=response.status_code
        ) from None


def error_message(response: httpx.Response) -> str:
    """The human part of a platform error body (WooCommerce `message`, BigCommerce `title`
    plus `errors`), or the status text."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase or "error"
    if isinstance(body, list) and body and isinstance(body[0], dict):
        # BigCommerce v2 answers errors as a bare array of {status, message}.
        return "; ".join(str(item.get("message", item)) for item in body)
    if isinstance(body, dict):
        if "message" in body:
            return str(body["message"])
        if "title" in body:
            errors = body.get("errors")
            if isinstance(errors, dict) and errors:
                details = "; ".join(f"{k}: {v}" for k, v in errors.items())
                return f"{body['title']} ({details})"
            return str(body["title"])
    return response.reason_phrase or "error"
