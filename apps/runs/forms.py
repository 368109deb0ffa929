"""Dashboard forms for a project's schedules. They only shape input; apps/runs/schedules.py
validates and makes the change (its errors are shown on the form)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms

from apps.runs.choices import RunKind
from apps.runs.models import Schedule

DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
# "24 hours after go-live", "a week after go-live": the cutover's usual follow-up deltas.
AFTER_GO_LIVE = [("", "—"), ("24", "24 hours after go-live"), ("168", "A week after go-live")]


def _datetime_field(label: str, help_text: str = "") -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False,
        label=label,
        help_text=help_text,
        widget=DATETIME_INPUT,
        input_formats=DATETIME_FORMATS,
    )


class ScheduleForm(forms.Form):
    name = forms.CharField(
        max_length=120, required=False, help_text="Empty: named after what it does."
    )
    kind = forms.ChoiceField(
        choices=[(RunKind.DELTA, "Delta sync"), (RunKind.DRY_RUN, "Dry run (a plan)")],
        initial=RunKind.DELTA,
    )
    of = forms.ChoiceField(
        choices=[(RunKind.DELTA, "of a delta"), (RunKind.FULL, "of a full run")],
        initial=RunKind.DELTA,
        required=False,
        label="Dry run",
    )
    deletes = forms.BooleanField(required=False, label="Also look for deletes (final sweep)")
    trigger = forms.ChoiceField(
        choices=Schedule.Trigger.choices, initial=Schedule.Trigger.INTERVAL, label="When"
    )
    every = forms.IntegerField(required=False, min_value=1, max_value=100_000, initial=6)
    period = forms.ChoiceField(
        choices=Schedule.Period.choices, initial=Schedule.Period.HOURS, required=False
    )
    crontab = forms.CharField(
        max_length=120,
        required=False,
        help_text='UTC, "minute hour day month weekday", e.g. 0 3 * * *',
    )
    run_at = _datetime_field("Once at (UTC)")
    go_live = _datetime_field("Go-live (UTC)", "With “after go-live” instead of a time.")
    after = forms.ChoiceField(choices=AFTER_GO_LIVE, required=False, label="After go-live")

    def schedule_kwargs(self) -> dict[str, Any]:
        """The service's keyword arguments from the cleaned data."""
        data = self.cleaned_data
        kind = data["kind"]
        options: dict[str, Any] = {"deletes": bool(data.get("deletes"))}
        if kind == RunKind.DRY_RUN:
            options["of"] = data.get("of") or RunKind.DELTA
        kwargs: dict[str, Any] = {
            "name": data.get("name") or "",
            "kind": kind,
            "options": options,
            "trigger": data["trigger"],
        }
        trigger = data["trigger"]
        if trigger == Schedule.Trigger.INTERVAL:
            kwargs.update(every=data.get("every"), period=data.get("period") or "")
        elif trigger == Schedule.Trigger.CRONTAB:
            kwargs["crontab"] = data.get("crontab") or ""
        elif data.get("after"):
            kwargs.update(go_live=data.get("go_live"), after_hours=int(data["after"]))
        else:
            kwargs["run_at"] = data.get("run_at")
        return kwargs


class CutoverForm(forms.Form):
    """The follow-up deltas of a go-live in one go: 24 hours after, a week after, and a final
    sweep (a delta that also looks for deletes) at a chosen time."""

    go_live = forms.DateTimeField(
        label="Go-live (UTC)", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    after_day = forms.BooleanField(required=False, initial=True, label="Delta 24 hours after")
    after_week = forms.BooleanField(required=False, initial=True, label="Delta a week after")
    final_sweep_at = _datetime_field("Final sweep at (UTC)", "A delta that also looks for deletes.")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not (data.get("after_day") or data.get("after_week") or data.get("final_sweep_at")):
            raise forms.ValidationError("Choose at least one follow-up sync.")
        return data

    def plans(self) -> list[dict[str, Any]]:
        """One create_schedule call's keyword arguments per chosen follow-up."""
        data = self.cleaned_data
        go_live: datetime = data["go_live"]
        delta = {"kind": RunKind.DELTA, "trigger": Schedule.Trigger.ONCE}
        plans = []
        if data.get("after_day"):
            plans.append({**delta, "go_live": go_live, "after_hours": 24})
        if data.get("after_week"):
            plans.append({**delta, "go_live": go_live, "after_hours": 24 * 7})
        if data.get("final_sweep_at"):
            plans.append(
                {
                    **delta,
                    "name": "Final sweep",
                    "options": {"deletes": True},
                    "run_at": data["final_sweep_at"],
                }
            )
        return plans
