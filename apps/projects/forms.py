"""Dashboard forms for projects and their members."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from apps.core.roles import Role
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
