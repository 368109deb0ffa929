from django.core.management.base import BaseCommand, CommandError

from apps.sandbox.models import SandboxStore
from apps.sandbox.traffic import Rates, TrafficSimulator


class Command(BaseCommand):
    help = (
        "Play the old shop that keeps selling: create customers and orders and edit products "
        "in a WooCommerce sandbox at the given rates, one line per action."
    )

    def add_arguments(self, parser):
        parser.add_argument("--store", required=True, help="The WooCommerce sandbox's slug.")
        parser.add_argument("--orders-per-min", type=float, default=0)
        parser.add_argument("--customers-per-min", type=float, default=0)
        parser.add_argument("--product-edits-per-min", type=float, default=0)
        parser.add_argument(
            "--duration", type=float, default=None, help="Seconds to run (default: until Ctrl-C)."
        )
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, **options):
        sandbox = SandboxStore.objects.filter(slug=options["store"]).first()
        if sandbox is None:
            raise CommandError(f"No sandbox store {options['store']!r}.")
        rates = Rates(
            orders=options["orders_per_min"],
            customers=options["customers_per_min"],
            product_edits=options["product_edits_per_min"],
        )
        try:
            simulator = TrafficSimulator(
                sandbox, rates, seed=options["seed"], out=self.stdout.write
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        try:
            simulator.run(options["duration"])
        except KeyboardInterrupt:
            self.stdout.write("Stopped.")
        summary = ", ".join(f"{n} {kind}" for kind, n in sorted(simulator.done.items()))
        self.stdout.write(self.style.SUCCESS(f"Done: {summary or 'nothing'}."))
