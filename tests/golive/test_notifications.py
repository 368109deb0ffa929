"""Outbound notifications: signed webhooks (a receiver verifies them; a tampered body or a replay
fails), failures recorded and retried with the task's policy, e-mail through Django's mail
backend, event filters, and payloads without secrets."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from django.core import mail

from apps.core.roles import Role
from apps.golive import notifications, tasks
from apps.golive.choices import DeliveryStatus, Event
from apps.golive.models import Delivery
from tests.api.helpers import assert_no_secrets
from tests.golive.conftest import member

pytestmark = pytest.mark.django_db

SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture
def endpoint(project, admin_user):
    return notifications.create_endpoint(
        project, user=admin_user, url="https://hooks.example.com/migrator", secret=SECRET
    )


@pytest.fixture
def transport(monkeypatch):
    """Answers the queued status codes in order (then 200) and keeps every request."""

    class Recorder:
        def __init__(self) -> None:
            self.requests: list[httpx.Request] = []
            self.codes: list[int | Exception] = []

        def handler(self, request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            code = self.codes.pop(0) if self.codes else 200
            if isinstance(code, Exception):
                raise code
            return httpx.Response(code, json={"ok": code == 200})

    recorder = Recorder()
    monkeypatch.setattr(
        notifications,
        "http_client",
        lambda: httpx.Client(transport=httpx.MockTransport(recorder.handler)),
    )
    return recorder


def test_signature_verifies_and_a_tampered_body_or_replay_fails():
    body = b'{"event": "gate.changed"}'
    stamp = int(time.time())
    signature = notifications.sign(SECRET, stamp, body)

    assert notifications.verify_signature(SECRET, body, str(stamp), signature)
    assert not notifications.verify_signature(SECRET, body + b" ", str(stamp), signature)
    assert not notifications.verify_signature("another-secret-xyz", body, str(stamp), signature)
    assert not notifications.verify_signature(SECRET, body, str(stamp + 1), signature)
    # The same request, replayed ten minutes later, is refused by its timestamp.
    assert not notifications.verify_signature(SECRET, body, str(stamp), signature, now=stamp + 600)
    assert not notifications.verify_signature(SECRET, body, "yesterday", signature)


def test_a_delivery_is_posted_signed(project, endpoint, transport):
    [delivery] = notifications.notify(project, Event.GATE_CHANGED, {"gate": {"key": "clear"}})
    assert delivery.status == DeliveryStatus.PENDING and delivery.endpoint == endpoint

    notifications.send_delivery(delivery.pk)

    [request] = transport.requests
    body = request.content
    headers = request.headers
    assert str(request.url) == "https://hooks.example.com/migrator"
    assert headers["X-Migrator-Event"] == "gate.changed"
    assert headers["X-Migrator-Delivery"] == str(delivery.pk)
    assert notifications.verify_signature(
        SECRET, body, headers["X-Migrator-Timestamp"], headers["X-Migrator-Signature"]
    )
    assert not notifications.verify_signature(
        SECRET,
        body.replace(b"clear", b"go_live"),
        headers["X-Migrator-Timestamp"],
        headers["X-Migrator-Signature"],
    )
    payload = json.loads(body)
    assert payload["event"] == "gate.changed" and payload["project"]["id"] == project.pk
    assert payload == Delivery.objects.get(pk=delivery.pk).payload
    assert SECRET not in body.decode()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.response_code == 200
    assert delivery.attempts == 1 and delivery.sent_at is not None
    # A re-delivered task finds it sent and posts nothing again.
    notifications.send_delivery(delivery.pk)
    assert len(transport.requests) == 1


def test_a_failed_delivery_is_recorded_then_retried_until_it_succeeds(project, endpoint, transport):
    [delivery] = notifications.notify(project, Event.RUN_FINISHED, {"run_id": 1})
    transport.codes = [500, httpx.ConnectError("refused")]

    with pytest.raises(notifications.DeliveryFailed):
        notifications.send_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert delivery.response_code == 500 and "HTTP 500" in delivery.error

    # The task's retry policy (eager here: the countdowns are skipped) tries again.
    tasks.deliver.apply(args=[delivery.pk])

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT and delivery.attempts == 3
    assert delivery.error == "" and delivery.response_code == 200
    assert len(transport.requests) == 3


def test_a_delivery_that_keeps_failing_ends_failed_without_raising(project, endpoint, transport):
    [delivery] = notifications.notify(project, Event.RUN_FINISHED, {"run_id": 1})
    transport.codes = [503] * 10

    result = tasks.deliver.apply(args=[delivery.pk])

    assert result.successful()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == notifications.MAX_ATTEMPTS
    assert delivery.response_code == 503 and "HTTP 503" in delivery.error


def test_task_policy_is_acks_late_with_backoff():
    assert tasks.deliver.acks_late is True
    assert tasks.deliver.retry_backoff and tasks.deliver.autoretry_for


def test_endpoints_only_get_the_events_they_want(project, admin_user, endpoint):
    rollback_only = notifications.create_endpoint(
        project,
        user=admin_user,
        url="https://other.example.com/",
        secret=SECRET,
        events=["rollback.started"],
    )
    notifications.notify(project, Event.GATE_CHANGED, {})
    notifications.notify(project, Event.ROLLBACK_STARTED, {})

    assert set(Delivery.objects.filter(endpoint=endpoint).values_list("event", flat=True)) == {
        "gate.changed",
        "rollback.started",
    }
    assert list(
        Delivery.objects.filter(endpoint=rollback_only).values_list("event", flat=True)
    ) == ["rollback.started"]


def test_email_goes_to_members_by_role_and_listed_addresses(project, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    merchandiser = member(project, Role.MERCHANDISER)
    member(project, Role.PROJECT_MANAGER)
    notifications.set_email_recipients(
        project,
        user=admin_user,
        roles=[Role.ADMIN, Role.MERCHANDISER],
        addresses=["Ops@Example.com"],
        events=["conflict.opened"],
    )
    notifications.notify(project, Event.GATE_CHANGED, {})  # not wanted: no e-mail
    [delivery] = notifications.notify(
        project, Event.CONFLICT_OPENED, {"entity": "products", "source_id": "42"}
    )

    notifications.send_delivery(delivery.pk)

    [message] = mail.outbox
    assert sorted(message.to) == sorted([admin_user.email, merchandiser.email, "ops@example.com"])
    assert "conflict on products 42" in message.subject and project.name in message.subject
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SENT


def test_a_mail_server_failure_is_recorded(project, admin_user, monkeypatch):
    notifications.set_email_recipients(project, user=admin_user, addresses=["ops@example.com"])
    [delivery] = notifications.notify(project, Event.ROLLBACK_STARTED, {"run": 3})

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr(notifications, "send_mail", refuse)
    with pytest.raises(notifications.DeliveryFailed):
        notifications.send_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.attempts == 1 and "OSError" in delivery.error


def test_configuration_is_validated_and_admin_only(project, admin_user, manager_user):
    from django.core.exceptions import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        notifications.create_endpoint(
            project, user=manager_user, url="https://x.example.com", secret=SECRET
        )
    for url, secret, events in (
        ("ftp://x.example.com", SECRET, None),
        ("https://user:pw@x.example.com", SECRET, None),
        ("https://x.example.com", "short", None),
        ("https://x.example.com", SECRET, ["run.started"]),
    ):
        with pytest.raises(ValidationError):
            notifications.create_endpoint(
                project, user=admin_user, url=url, secret=secret, events=events
            )
    with pytest.raises(ValidationError):
        notifications.set_email_recipients(project, user=admin_user, addresses=["not-an-address"])


def test_the_secret_is_encrypted_at_rest_and_never_audited(project, endpoint):
    from apps.core.models import AuditEvent

    assert SECRET not in endpoint.secret_encrypted and endpoint.secret() == SECRET
    for event in AuditEvent.objects.all():
        assert SECRET not in json.dumps(event.payload)


def test_payloads_carry_no_credentials(project, endpoint):
    [delivery] = notifications.notify(
        project, Event.RUN_FINISHED, {"run_id": 1, "status": "succeeded"}
    )
    assert_no_secrets(json.dumps(delivery.payload).encode(), SECRET)
