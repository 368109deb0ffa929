"""Projects, their members and their settings."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from apps.core import audit
from apps.core.roles import Capability, Role

# Pure modules (no models, no services): the rules a project's settings are checked against
# live with the engine that applies them.
from apps.projects import cleansing, mapping
from apps.projects.access import can
from apps.projects.models import ENTITY_CHOICES, Membership, Project
from apps.stores.models import Store

SUPPORTED_ENTITIES = {key for key, _ in ENTITY_CHOICES}


@transaction.atomic
def create_project(
    *,
    user: Any,
    name: str,
    source_store: Store,
    target_store: Store,
    entities: list[str] | None = None,
    request: Any = None,
) -> Project:
    """Create a project; its creator becomes its admin."""
    if source_store.pk == target_store.pk:
        raise ValidationError({"target_store": "The target must be a different store."})
    entities = entities or ["products"]
    unknown = sorted(set(entities) - SUPPORTED_ENTITIES)
    if unknown:
        raise ValidationError({"entities": f"Unsupported entities: {', '.join(unknown)}."})
    project = Project.objects.create(
        name=name,
        source_store=source_store,
        target_store=target_store,
        entities=entities,
        created_by=user,
    )
    Membership.objects.create(project=project, user=user, role=Role.ADMIN)
    audit.record(
        action="project.created",
        obj=project,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"name": name, "source_store": source_store.pk, "target_store": target_store.pk},
    )
    return project


@transaction.atomic
def set_member(
    project: Project, *, user: Any, member: Any, role: str, request: Any = None
) -> Membership:
    if role not in Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    membership, _ = Membership.objects.update_or_create(
        project=project, user=member, defaults={"role": role}
    )
    audit.record(
        action="project.member_set",
        obj=membership,
        user=user,
        request=request,
        project_id=project.pk,
        payload={"member": member.get_username(), "role": role},
    )
    return membership


MAX_MAPPING_CHARS = 100_000
SETTINGS_FIELDS = ("entities", "points_budget", "entity_weights", "cleansing", "field_mappings")


def _clean_entities(value: Any) -> list[str]:
    if not isinstance(value, list | tuple) or not value:
        raise ValidationError("Choose at least one entity type.")
    names = [str(item) for item in value]
    unknown = sorted(set(names) - SUPPORTED_ENTITIES)
    if unknown:
        raise ValidationError(f"Unsupported entities: {', '.join(unknown)}.")
    # Canonical order, no repeats: the plan orders entities by dependency anyway.
    return [key for key, _ in ENTITY_CHOICES if key in names]


def _clean_budget(value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValidationError("The points budget is a whole number of Entity Points, or empty.")
    try:
        number = int(value)
    except ValueError:
        raise ValidationError("The points budget is a whole number of Entity Points.") from None
    if number < 0:
        raise ValidationError("The points budget cannot be negative.")
    if number > 2**31 - 1:
        raise ValidationError("The points budget is too large.")
    return number


def _clean_weights(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise ValidationError("Entity weights are an object of entity → whole number.")
    cleaned: dict[str, int] = {}
    for entity, weight in value.items():
        if entity not in SUPPORTED_ENTITIES:
            raise ValidationError(f"{entity}: not an entity type.")
        if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            raise ValidationError(f"{entity}: a weight is a whole number ≥ 0.")
        if weight > 1_000_000:
            raise ValidationError(f"{entity}: a weight is at most 1,000,000.")
        cleaned[entity] = weight
    return cleaned


def _clean_cleansing(value: Any) -> dict[str, bool]:
    if not isinstance(value, dict):
        raise ValidationError("Cleansing rules are an object of rule → true/false.")
    unknown = sorted(set(value) - set(cleansing.DEFAULTS))
    if unknown:
        known = ", ".join(cleansing.DEFAULTS)
        raise ValidationError(f"Unknown cleansing rules: {', '.join(unknown)} (known: {known}).")
    for key, switch in value.items():
        if not isinstance(switch, bool):
            raise ValidationError(f"{key}: a rule is switched on or off (true or false).")
    return dict(value)


def _clean_mappings(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValidationError("A field mapping is an object of entities.")
    unknown = sorted(set(value) - SUPPORTED_ENTITIES)
    if unknown:
        raise ValidationError(f"Unsupported entities: {', '.join(unknown)}.")
    if len(json.dumps(value)) > MAX_MAPPING_CHARS:
        raise ValidationError(f"A field mapping is at most {MAX_MAPPING_CHARS:,} characters.")
    # check_mapping trusts the rule's value types; the engine would fail on them mid-run.
    for entity, rules in value.items():
        for field, rule in (rules or {}).items() if isinstance(rules, dict) else ():
            if not isinstance(rule, dict):
                continue
            transforms = rule.get("transforms", [])
            if not isinstance(transforms, list) or not all(isinstance(t, str) for t in transforms):
                raise ValidationError(f"{entity}.{field}: 'transforms' is a list of names.")
            if "from" in rule and not isinstance(rule["from"], str):
                raise ValidationError(f"{entity}.{field}: 'from' names a canonical field.")
    mapping.check_mapping(value)
    return value


@transaction.atomic
def update_settings(
    project: Project, user: Any, *, request: Any = None, **fields: Any
) -> dict[str, dict[str, Any]]:
    """Change a project's scope, Entity Points budget and weights, cleansing switches and field
    mappings (admins only). Every field is validated before anything is saved; the change is
    audited as "project.settings_changed" with each changed field's old and new value.

    Returns those changes ({} when nothing changed; `project` is updated in place). Raises
    PermissionDenied for a member without MANAGE and ValidationError keyed by field."""
    if not can(user, project, Capability.MANAGE):
        raise PermissionDenied("Only a project admin can change the project's settings.")
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(fields) - set(SETTINGS_FIELDS))
    for name in unknown:
        errors[name] = ["Not a project setting."]
    cleaned: dict[str, Any] = {}
    cleaners = {
        "entities": _clean_entities,
        "points_budget": _clean_budget,
        "entity_weights": _clean_weights,
        "cleansing": _clean_cleansing,
        "field_mappings": _clean_mappings,
    }
    for name, cleaner in cleaners.items():
        if name in fields:
            try:
                cleaned[name] = cleaner(fields[name])
            except ValidationError as exc:
                errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    changes = {
        name: {"old": getattr(project, name), "new": value}
        for name, value in cleaned.items()
        if getattr(project, name) != value
    }
    if not changes:
        return {}
    for name, change in changes.items():
        setattr(project, name, change["new"])
    project.save(update_fields=list(changes))
    audit.record(
        action="project.settings_changed",
        obj=project,
        user=user,
        request=request,
        project_id=project.pk,
        payload=changes,
    )
    return changes
