"""Dashboard forms for the review queue.

The resolve form is not a django.forms.Form: its inputs are the conflict's conflicting fields,
which differ per record. Each field posts `side:<field>` (source / target / custom) and, for a
typed value, `value:<field>`; services.clean_choices decides what is valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.conflicts.choices import Side
from apps.conflicts.models import Conflict
from apps.conflicts.services import MAX_REASON, DeleteAction, FieldDiff
from apps.runs import threeway

AGE_CHOICES = [
    ("", "Any age"),
    ("1h", "Older than 1 hour"),
    ("1d", "Older than 1 day"),
    ("7d", "Older than 7 days"),
    ("30d", "Older than 30 days"),
]
# Longer text than this (or any line break) is typed into a textarea.
SHORT_TEXT = 80


def as_text(value: Any) -> str:
    """A value as a person types it: text as is, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    indent = 2 if isinstance(value, list | dict) else None
    return json.dumps(value, ensure_ascii=False, indent=indent)


@dataclass
class ChoiceRow:
    diff: FieldDiff
    side: str
    text: str
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.diff.field

    @property
    def multiline(self) -> bool:
        return "\n" in self.text or len(self.text) > SHORT_TEXT


def default_side(conflict: Conflict, name: str) -> str:
    """The side preselected for a field: the target when the project's policy for the field
    says so, else the source (the store still selling, and the system of record until
    cutover)."""
    policy = threeway.policy_for(conflict.project.conflict_policies, conflict.entity, name)
    return Side.TARGET if policy == threeway.TARGET_WINS else Side.SOURCE


class ResolveForm:
    def __init__(self, conflict: Conflict, rows: list[FieldDiff], data: Any = None) -> None:
        self.conflict = conflict
        self.data = data
        self.non_field_errors: list[str] = []
        by_name = {row.field: row for row in rows}
        self.rows: list[ChoiceRow] = []
        for name in conflict.fields:
            diff = by_name.get(name)
            if diff is None:
                continue
            if data is not None:
                side = str(data.get(f"side:{name}", ""))
                text = str(data.get(f"value:{name}", ""))
            else:
                side, text = default_side(conflict, name), as_text(diff.target)
            self.rows.append(ChoiceRow(diff, side, text))

    def choices(self) -> dict[str, dict[str, Any]]:
        chosen: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            if not row.side:
                continue
            chosen[row.name] = {"side": row.side}
            if row.side == Side.CUSTOM:
                chosen[row.name]["value"] = row.text
        return chosen

    def add_errors(self, exc: ValidationError) -> None:
        by_name = {row.name: row for row in self.rows}
        if not hasattr(exc, "error_dict"):
            self.non_field_errors.extend(exc.messages)
            return
        for key, errors in exc.message_dict.items():
            if key in by_name:
                by_name[key].errors.extend(errors)
            else:
                self.non_field_errors.extend(errors)


class DismissForm(forms.Form):
    reason = forms.CharField(
        max_length=MAX_REASON,
        strip=True,
        widget=forms.TextInput(attrs={"placeholder": "e.g. fixed by hand on both stores"}),
    )


class DeleteActionForm(forms.Form):
    action = forms.ChoiceField(choices=DeleteAction.CHOICES)


class QueueFilterForm(forms.Form):
    entity = forms.CharField(required=False, max_length=40)
    field = forms.CharField(required=False, max_length=100)
    age = forms.ChoiceField(required=False, choices=AGE_CHOICES)


class BulkForm(forms.Form):
    entity = forms.ChoiceField(choices=())
    field = forms.ChoiceField(choices=(), required=False)
    side = forms.ChoiceField(
        choices=[(Side.SOURCE, "Source"), (Side.TARGET, "Target")],
        widget=forms.RadioSelect,
        initial=Side.SOURCE,
    )

    def __init__(self, *args: Any, entities: list[str], fields: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["entity"].choices = [(e, e.capitalize()) for e in entities]
        self.fields["field"].choices = [("", "Every conflicting field"), *((f, f) for f in fields)]
