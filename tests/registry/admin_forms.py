"""Post a model's admin change form as staff would: every field as the form shows it, some changed."""

from __future__ import annotations

from typing import Any

from django.test import Client

from registry.models import LanguageModel


def admin_model_change(client: Client, model: LanguageModel, **changes: Any) -> Any:
    """POST /admin/registry/languagemodel/<pk>/change/ with the form's initial values plus `changes`.

    Inlines (allowed revisions) are posted unchanged: their management forms only.
    """
    change_url = f"/admin/registry/languagemodel/{model.pk}/change/"
    context = client.get(change_url).context
    form = context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        if isinstance(value, list | tuple):
            data[name] = [getattr(v, "pk", v) for v in value]
        else:
            data[name] = getattr(value, "pk", value)
    for inline in context.get("inline_admin_formsets", []):
        management = inline.formset.management_form
        data.update({management.add_prefix(name): value for name, value in management.initial.items()})
    data.update(changes)
    return client.post(change_url, data)
