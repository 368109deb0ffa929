"""Print a user's API token (for `Authorization: Token <key>`), creating it if missing."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from apps.core import audit


class Command(BaseCommand):
    help = "Print USERNAME's API token, creating one if missing; --rotate replaces it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Revoke the current token and issue a new one.",
        )

    def handle(self, *args: Any, username: str, rotate: bool = False, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist:
            raise CommandError(f"There is no user named {username!r}.") from None
        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
            if created:
                # Audited against the user: a Token's primary key is the secret itself.
                audit.record(
                    action="api_token.rotated" if rotate else "api_token.issued",
                    obj=user,
                    payload={"username": user.get_username()},
                )
        if not user.is_active:
            self.stderr.write(f"Warning: {username} is inactive; the token will be refused.")
        self.stdout.write(token.key)
