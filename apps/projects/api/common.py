"""Helpers shared by the API packages (stores, projects, runs): lookups that answer 404 rather
than 500 for any id a client can send, cursor pagination on id, and the error body's schema."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination

# The largest primary key the database can hold (BigAutoField). Anything outside 1..MAX_ID from a
# URL, body or cursor cannot match a row, so it is answered before any query reaches the driver.
MAX_ID = 2**63 - 1


def parse_id(value: Any) -> int | None:
    """The value as a usable primary key, or None when it cannot be one."""
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def get_or_404(queryset: QuerySet, pk: Any, message: str) -> Model:
    number = parse_id(pk)
    if number is None:
        raise NotFound(message)
    try:
        return queryset.get(pk=number)
    except queryset.model.DoesNotExist:
        raise NotFound(message) from None


class BoundedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A primary-key field that rejects non-integers and out-of-range ids with a 400."""

    def to_internal_value(self, data: Any) -> Model:
        if isinstance(data, bool) or not isinstance(data, int | str):
            self.fail("incorrect_type", data_type=type(data).__name__)
        if parse_id(data) is None:
            if isinstance(data, str) and not data.strip().lstrip("-").isdigit():
                self.fail("incorrect_type", data_type="str")
            self.fail("does_not_exist", pk_value=data)
        return super().to_internal_value(parse_id(data))


class IdCursorPagination(CursorPagination):
    """Cursor pagination ordered by the view's `ordering`, which must be on an integer id so a
    cursor position can be checked before it reaches the database."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_ordering(self, request: Any, queryset: QuerySet, view: Any) -> tuple[str, ...]:
        self.ordering = getattr(view, "ordering", None) or self.ordering
        return super().get_ordering(request, queryset, view)

    def decode_cursor(self, request: Any) -> Any:
        cursor = super().decode_cursor(request)
        # A hand-edited cursor's position goes straight into a filter: vet it like an id.
        if cursor is not None and cursor.position is not None:
            try:
                position = int(cursor.position)
            except ValueError:
                raise NotFound(self.invalid_cursor_message) from None
            if abs(position) > MAX_ID:
                raise NotFound(self.invalid_cursor_message)
        return cursor


class ErrorSerializer(serializers.Serializer):
    """The body of a 401, 403, 404 or 409 answer."""

    detail = serializers.CharField()


# A 400's body is DRF's: a message list per field (or `detail` for an unreadable body).
BAD_INPUT = OpenApiResponse(description="Bad input: a message per field.")
# CursorPagination answers a cursor it did not hand out (or an edited one) with a 404.
BAD_CURSOR = OpenApiResponse(ErrorSerializer, description="Invalid cursor.")


class NamedChoiceField(serializers.ChoiceField):
    """A choice field documented as its own named enum component.

    Runs and batches both have a `status` with different choices; left to drf-spectacular's
    enum naming that collides (a warning, which fails the schema check). Naming the set here
    keeps the fix inside the API packages; ENUM_NAME_OVERRIDES in settings would do the same."""

    def __init__(self, *, enum_name: str, **kwargs: Any) -> None:
        self.enum_name = enum_name
        super().__init__(**kwargs)


class NamedChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = NamedChoiceField
    match_subclasses = True

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field: NamedChoiceField = self.target
        component = ResolvedComponent(
            name=field.enum_name,
            type=ResolvedComponent.SCHEMA,
            object=field.enum_name,
            schema={
                "type": "string",
                "enum": list(field.choices),
                "description": "\n".join(f"* `{k}` - {v}" for k, v in field.choices.items()),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref
