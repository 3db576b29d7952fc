"""Admin of models, organizations, licenses and languages; closed-model endpoint validation."""

from __future__ import annotations

import pytest
from django.test import Client

from registry.admin.models import LanguageModelForm
from registry.models import LanguageModel
from registry.services.catalog import catalog_load

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalog():
    catalog_load()


def _form_data(model: LanguageModel, **changes: object) -> dict[str, object]:
    data: dict[str, object] = {
        "repo_id": model.repo_id,
        "name": model.name,
        "organization": model.organization_id,
        "weights": model.weights,
        "gated": model.gated,
        "modality": model.modality,
        "description": model.description,
        "tags": "[]",
        "parameters_source": model.parameters_source,
        "license": model.license_id,
        "languages": [lang.pk for lang in model.languages.all()],
        "release_date": model.release_date.isoformat() if model.release_date else "",
        "release_date_precision": model.release_date_precision,
        "sources": "{}",
        "provider": model.provider,
        "endpoint_base_url": model.endpoint_base_url,
        "endpoint_model_name": model.endpoint_model_name,
        "endpoint_api_key_env": model.endpoint_api_key_env,
        # The allowed-revisions inline (none added here).
        "allowed_revisions-TOTAL_FORMS": "0",
        "allowed_revisions-INITIAL_FORMS": "0",
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("https://user:secret@api.example.com/v1", "credentials"),
        ("https://api.example.com/v1?api_key=sk-123", "query"),
        ("ftp://api.example.com/v1", "http"),
        ("javascript:alert(1)", "http"),
        ("https:///v1", "host"),
    ],
)
def test_endpoint_url_with_credentials_or_a_bad_scheme_is_rejected(catalog, url, message):
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")

    form = LanguageModelForm(data=_form_data(model, endpoint_base_url=url), instance=model)

    assert not form.is_valid()
    assert message in " ".join(form.errors["endpoint_base_url"]).lower()


def test_endpoint_key_field_takes_a_variable_name_never_a_key(catalog):
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")

    form = LanguageModelForm(data=_form_data(model, endpoint_api_key_env="sk-proj-abcdef123"), instance=model)

    assert not form.is_valid()
    assert "endpoint_api_key_env" in form.errors


def test_staff_edits_a_closed_model_endpoint_in_the_admin(catalog, sam_staff):
    client = Client()
    client.force_login(sam_staff)
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")

    response = client.post(
        f"/admin/registry/languagemodel/{model.pk}/change/",
        _form_data(
            model,
            endpoint_base_url="https://gateway.example.com/v1/",
            endpoint_model_name="gpt-4-0613",
            endpoint_api_key_env="LADDER_KEY_GATEWAY",
        ),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    model.refresh_from_db()
    assert model.endpoint_base_url == "https://gateway.example.com/v1"
    assert model.endpoint_model_name == "gpt-4-0613"
    assert model.endpoint_api_key_env == "LADDER_KEY_GATEWAY"


def test_staff_rejected_endpoint_change_keeps_the_old_value(catalog, sam_staff):
    client = Client()
    client.force_login(sam_staff)
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")

    response = client.post(
        f"/admin/registry/languagemodel/{model.pk}/change/",
        _form_data(model, endpoint_base_url="https://me:pw@evil.example.com/v1"),
    )

    assert response.status_code == 200
    assert "credentials" in response.content.decode()
    model.refresh_from_db()
    assert model.endpoint_base_url == "https://api.openai.com/v1"


def test_staff_browses_and_searches_the_registry_admin(catalog, sam_staff):
    client = Client()
    client.force_login(sam_staff)

    models = client.get("/admin/registry/languagemodel/?q=vicuna")
    assert models.status_code == 200
    assert "lmsys/vicuna-7b-v1.5" in models.content.decode()
    assert "openai/gpt-4" not in models.content.decode()
    assert client.get("/admin/registry/languagemodel/?weights__exact=closed").status_code == 200
    licenses = client.get("/admin/registry/license/").content.decode()
    assert "LicenseRef-tongyi-qianwen" in licenses
    assert client.get("/admin/registry/organization/").status_code == 200
    assert "Chinese" in client.get("/admin/registry/language/").content.decode()
    model = LanguageModel.objects.get(repo_id="openai/gpt-4")
    change = client.get(f"/admin/registry/languagemodel/{model.pk}/change/").content.decode()
    assert "OpenAI-compatible endpoint" in change


def test_signed_in_non_staff_user_cannot_open_the_admin(catalog, alice):
    client = Client()
    client.force_login(alice)

    response = client.get("/admin/registry/languagemodel/")

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
