"""The dashboard form for a sandbox's fault settings (ranges from fault_settings.LIMITS)."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.sandbox.fault_settings import FIELDS, LIMITS


class FaultSettingsForm(forms.Form):
    def __init__(self, *args: Any, read_only: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in FIELDS:
            limit = LIMITS[name]
            if limit.integer:
                field: forms.Field = forms.IntegerField(
                    min_value=int(limit.low), max_value=int(limit.high)
                )
            else:
                field = forms.FloatField(
                    min_value=limit.low,
                    max_value=limit.high,
                    widget=forms.NumberInput(attrs={"step": "0.01"}),
                )
            field.label = limit.label
            field.help_text = limit.help_text
            # A viewer sees the values; Django ignores posted data for disabled fields.
            field.disabled = read_only
            self.fields[name] = field

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in FIELDS}
