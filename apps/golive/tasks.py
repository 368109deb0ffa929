"""Celery tasks of the go-live app: thin wrappers that pass ids and call one function each."""

from __future__ import annotations

from celery import shared_task

from apps.golive import notifications, services


@shared_task(
    name="golive.deliver",
    bind=True,
    acks_late=True,
    autoretry_for=(notifications.DeliveryFailed,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=notifications.MAX_ATTEMPTS - 1,
)
def deliver(self, delivery_id: int) -> str | None:
    """One attempt per execution; the row keeps attempts, response code and error. The last
    retry marks it failed instead of raising again."""
    final = self.request.retries >= notifications.MAX_ATTEMPTS - 1
    delivery = notifications.send_delivery(delivery_id, final=final)
    return delivery.status if delivery else None


@shared_task(name="golive.evaluate_all")
def evaluate_all() -> int:
    """Beat's periodic re-evaluation of every cutover plan (delta age grows with time)."""
    return services.evaluate_all()
