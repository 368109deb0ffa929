from django.apps import AppConfig


class GoliveConfig(AppConfig):
    name = "apps.golive"
    label = "golive"
    verbose_name = "Go-live"

    def ready(self) -> None:
        from apps.golive import receivers
        from apps.runs import signals

        signals.run_finished.connect(receivers.on_run_finished, dispatch_uid="golive.run_finished")
        signals.conflict_opened.connect(
            receivers.on_conflict_opened, dispatch_uid="golive.conflict_opened"
        )
