from django.core.management.base import BaseCommand

from apps.core.errors import Conflict
from apps.demo.services import load_demo
from apps.runs.choices import RunKind
from apps.runs.services import start_run


class Command(BaseCommand):
    help = "Load the demo (sandbox stores, catalog, project, admin) and start a full run."

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=500)
        parser.add_argument(
            "--quota", type=int, default=900, help="Target sandbox requests per 30 s window."
        )
        parser.add_argument("--no-run", action="store_true", help="Do not start a full run.")

    def handle(self, *args, **options):
        demo = load_demo(products=options["products"], quota_per_30s=options["quota"])
        self.stdout.write(f"Demo project #{demo.project.pk}: {demo.project.name}")
        self.stdout.write(
            f"Source store: {demo.products} products, with categories, brands, customers, "
            "orders and blog posts"
        )
        if not options["no_run"]:
            try:
                run = start_run(demo.project, kind=RunKind.FULL, user=None)
                self.stdout.write(f"Started full run #{run.pk}")
            except Conflict as exc:
                self.stdout.write(str(exc))
        self.stdout.write(
            self.style.SUCCESS(
                f"Log in at http://127.0.0.1:8000/ as {demo.username} / {demo.password}"
            )
        )
