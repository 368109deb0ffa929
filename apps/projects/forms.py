"""Dashboard forms for projects, their members and their settings."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from apps.core.roles import Role
from apps.projects import cleansing, mapping
from apps.projects.models import ENTITY_CHOICES, Project
from apps.runs import points
from apps.stores.models import Store


class NewProjectForm(forms.Form):
    name = forms.CharField(max_length=120)
    source_store = forms.ModelChoiceField(queryset=Store.objects.none(), empty_label="Choose…")
    target_store = forms.ModelChoiceField(queryset=Store.objects.none(), empty_label="Choose…")

    def __init__(self, *args: Any, stores: QuerySet[Store], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the stores the user can see are choices, so a posted id of any other store
        # is an "invalid choice", not a way to borrow someone else's credentials.
        choices = stores.only("id", "name", "platform").order_by("name", "id")
        self.fields["source_store"].queryset = choices
        self.fields["target_store"].queryset = choices


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.PROJECT_MANAGER)

    def clean_username(self) -> Any:
        username = self.cleaned_data["username"].strip()
        model = get_user_model()
        member = model._default_manager.filter(**{model.USERNAME_FIELD: username}).first()
        if member is None:
            raise forms.ValidationError(f"No user named “{username}”.")
        self.cleaned_data["member"] = member
        return username


class ProjectSettingsForm(forms.Form):
    """An admin's settings: scope, Entity Points budget and weights, cleansing switches and
    field mappings. The form only parses what the browser sends; the rules are in
    projects.services.update_settings, which the API shares."""

    entities = forms.MultipleChoiceField(
        choices=ENTITY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Entities in scope",
        required=False,
    )
    points_budget = forms.IntegerField(
        required=False,
        label="Entity Points budget",
        help_text="Empty: no cap. Runs past the budget need an admin's override.",
    )
    field_mappings = forms.CharField(
        required=False,
        label="Field mappings (JSON)",
        widget=forms.Textarea(attrs={"class": "json", "rows": 10, "spellcheck": "false"}),
        help_text=(
            'Per entity and target field: {"products": {"name": {"from": "name", '
            '"transforms": ["trim"]}}}. A rule has "from", "value" and/or "transforms". '
            "Transforms: " + mapping.TRANSFORMS_HELP + "."
        ),
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.project = project
        self.weight_fields: list[str] = []
        self.cleansing_fields: list[str] = []
        for entity, label in ENTITY_CHOICES:
            name = f"weight_{entity}"
            self.fields[name] = forms.IntegerField(
                required=False,
                label=label,
                widget=forms.NumberInput(
                    attrs={"placeholder": str(points.DEFAULT_WEIGHTS.get(entity, 1))}
                ),
            )
            self.weight_fields.append(name)
        for rule in cleansing.DEFAULTS:
            name = f"cleansing_{rule}"
            self.fields[name] = forms.BooleanField(
                required=False, label=rule.replace("_", " ").capitalize()
            )
            self.cleansing_fields.append(name)
        if not self.is_bound:
            self.initial.update(self._initial_from(project))

    @staticmethod
    def _initial_from(project: Project) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "entities": list(project.entities or []),
            "points_budget": project.points_budget,
            "field_mappings": json.dumps(project.field_mappings or {}, indent=2),
        }
        for entity, weight in (project.entity_weights or {}).items():
            initial[f"weight_{entity}"] = weight
        for rule, active in cleansing.rules(project.cleansing).items():
            initial[f"cleansing_{rule}"] = active
        return initial

    def weight_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.weight_fields]

    def cleansing_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.cleansing_fields]

    def clean_field_mappings(self) -> Any:
        text = self.cleaned_data["field_mappings"].strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not valid JSON: {exc}") from None

    def settings(self) -> dict[str, Any]:
        """The cleaned form as update_settings() keyword arguments."""
        data = self.cleaned_data
        weights = {
            name.removeprefix("weight_"): data[name]
            for name in self.weight_fields
            if data.get(name) is not None
        }
        # Only switches that differ from the default are stored, so a save that changes
        # nothing leaves `{}` as it was (and writes no audit event).
        switches = {
            rule: data[f"cleansing_{rule}"]
            for rule, default in cleansing.DEFAULTS.items()
            if data[f"cleansing_{rule}"] != default
        }
        return {
            "entities": data["entities"],
            "points_budget": data["points_budget"],
            "entity_weights": weights,
            "cleansing": switches,
            "field_mappings": data["field_mappings"],
        }
