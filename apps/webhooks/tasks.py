"""Celery finds tasks in each app's tasks.py: importing the sandbox's delivery task here
registers it with the worker (apps/sandbox has no tasks module of its own)."""

from apps.sandbox.webhooks import deliver_webhook

__all__ = ["deliver_webhook"]
