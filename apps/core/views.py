from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET
from kombu import Connection


def _database_status() -> dict[str, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # any failure means "down"; the message says why
        return {"status": "error", "vendor": connection.vendor, "error": type(exc).__name__}


def _broker_status() -> dict[str, str]:
    url = settings.CELERY_BROKER_URL
    transport = url.split("://", 1)[0]
    try:
        with Connection(url, transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return {"status": "ok", "transport": transport}
    except Exception as exc:  # any failure means "down"; the message says why
        return {"status": "error", "transport": transport, "error": type(exc).__name__}


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database, broker = _database_status(), _broker_status()
    healthy = database["status"] == "ok" and broker["status"] == "ok"
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "database": database, "broker": broker},
        status=200 if healthy else 503,
    )
