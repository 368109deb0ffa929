from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "apps.reconciliation"
    label = "reconciliation"
    verbose_name = "Reconciliation"

    def ready(self) -> None:
        # The engine does not execute verify runs: this app does, registered here so the
        # engine never imports it (imports point downhill).
        from apps.reconciliation import services, tasks  # noqa: F401
        from apps.runs import executors
        from apps.runs.choices import RunKind

        executors.register(
            RunKind.VERIFY, "reconciliation.verify_run", inline=services.execute_inline
        )
