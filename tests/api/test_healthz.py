from __future__ import annotations

import kombu.utils.functional
import pytest
from django.db import OperationalError, connection

from apps.core import views

pytestmark = pytest.mark.django_db


@pytest.fixture
def memory_broker(settings):
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}


def test_healthy(client, memory_broker):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "status": "ok",
        "database": {"status": "ok", "vendor": connection.vendor},
        "broker": {"status": "ok", "transport": "memory"},
    }


def test_needs_no_login(client, memory_broker):
    # Load balancers and orchestrators probe it without credentials.
    assert client.get("/healthz").status_code == 200


def test_unreachable_broker_is_503_with_reason(client, settings, monkeypatch):
    # kombu waits 2 s before its retry; the outcome is the same without the wait.
    monkeypatch.setattr(kombu.utils.functional, "sleep", lambda seconds: None)
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"]["status"] == "ok"
    assert body["broker"]["status"] == "error"
    assert body["broker"]["transport"] == "redis"
    assert body["broker"]["error"]
    # Only the transport name: a broker URL may carry a password.
    assert "127.0.0.1" not in response.content.decode()


def test_database_down_is_503(client, memory_broker, monkeypatch):
    class BrokenConnection:
        vendor = "sqlite"

        def cursor(self):
            raise OperationalError("database is locked")

    monkeypatch.setattr(views, "connection", BrokenConnection())

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == {
        "status": "error",
        "vendor": "sqlite",
        "error": "OperationalError",
    }
    assert "locked" not in response.content.decode()


def test_only_get(client, memory_broker):
    assert client.post("/healthz").status_code == 405
