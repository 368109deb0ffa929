from __future__ import annotations

from typing import Any

from apps.runs.choices import RunKind, RunStatus
from apps.runs.models import Run

# The factory's default credentials: no response body may ever contain them.
FACTORY_SECRETS = ("ck_factory_key_123", "cs_factory_secret_456", "factory_token_789xyz")


def assert_no_secrets(content: bytes, *extra: str) -> None:
    text = content.decode()
    for secret in (*FACTORY_SECRETS, *extra):
        assert secret not in text, f"secret {secret[:6]}… leaked into a response"


def make_run(
    project: Any, *, status: str = RunStatus.RUNNING, kind: str = RunKind.FULL, **fields: Any
) -> Run:
    return Run.objects.create(project=project, kind=kind, status=status, **fields)


def error_text(response: Any) -> str:
    """Every message in an error body, flattened, for `in` checks."""

    def walk(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [text for item in value.values() for text in walk(item)]
        if isinstance(value, list):
            return [text for item in value for text in walk(item)]
        return [str(value)]

    return " ".join(walk(response.json()))
