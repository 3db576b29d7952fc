"""Import of the seed catalog (registry/catalog/) into the registry.

Every fact the catalog writes is recorded in the model's `sources` as
`{fact: {"url": ..., "note": ..., "note_zh": ..., "by": "catalog", "value": <what the catalog wrote>}}`
(`note_zh`, like the model's `description_zh`, is the catalog's text in Chinese: registry/catalog/text_zh.py).
That record is what makes a re-run safe: a fact is written when the row has no value for it, or when the
row still holds exactly what the catalog wrote last time. A value that differs was refined elsewhere (a Hub sync,
the admin) and is left alone; its stale catalog record is dropped so the page no longer cites the
catalog for it. Hub-only facts (sha, downloads, likes, dates, on_hub) are never touched, and a
parameter count whose `parameters_source` is the Hub (safetensors, config, card) or the admin wins.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models.functions import Lower

from registry.catalog import LANGUAGES, LICENSES, MODELS, ORGANIZATIONS
from registry.catalog.text_zh import DESCRIPTIONS_ZH, NOTES_ZH
from registry.models import Language, LanguageModel, License, Organization
from registry.services.endpoints import EndpointInvalid, EndpointPolicy, endpoint_policy, endpoint_validate
from registry.services.reported import catalog_reported_facts, reported_facts_publish

CATALOG = "catalog"
# Facts the catalog may write, in the order they are applied.
_SCALAR_FACTS = (
    "name",
    "weights",
    "gated",
    "active_parameters",
    "context_length",
    "model_type",
    "license_name",
    "modality",
    "provider",
    "local_weights",
    "description",
    "description_zh",
)
_PARAMETERS_FROM_ELSEWHERE = {
    LanguageModel.ParameterSource.SAFETENSORS,
    LanguageModel.ParameterSource.CONFIG,
    LanguageModel.ParameterSource.CARD,
    LanguageModel.ParameterSource.ADMIN,
}


def catalog_load() -> dict[str, int]:
    """Import the seed catalog; safe to run any number of times.

    Returns counts: `created`, `updated`, `unchanged` (models), `languages`, `licenses`,
    `organizations` (rows created or completed), `relinked` (models synced earlier whose declared
    base is now in the registry and got linked by this run) and `linked` (models in the registry linked to
    a catalog model as their base, however they got there). A second run returns zeros but for
    `unchanged` and `linked`. `reported`: published scores of the seed systems
    (registry/catalog/reported_scores.py) created, changed or removed.
    Runs in one transaction: a failure leaves the registry as it was.
    """
    counts = {
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "languages": 0,
        "licenses": 0,
        "organizations": 0,
        "relinked": 0,
        "reported": 0,
    }
    with transaction.atomic():
        counts["languages"] = _languages_upsert()
        counts["licenses"] = _licenses_upsert()
        counts["organizations"] = _organizations_upsert()
        licenses = {lic.key: lic for lic in License.objects.all()}
        organizations = {org.slug.lower(): org for org in Organization.objects.all()}
        languages = {lang.code: lang for lang in Language.objects.all()}
        # Only the rows the catalog names: the registry may hold 100,000 synced models.
        catalog_ids = {entry["id"].lower() for entry in MODELS}
        existing: dict[str, LanguageModel] = {
            m.repo_id.lower(): m
            for m in LanguageModel.objects.annotate(key=Lower("repo_id"))
            .filter(key__in=catalog_ids)
            .select_related("organization", "license")
            .prefetch_related("languages")
        }
        touched: list[tuple[LanguageModel, dict[str, Any], bool, bool]] = []
        for entry in MODELS:
            found = existing.get(entry["id"].lower())
            created = found is None
            if found is not None:
                model = found
            else:
                model = LanguageModel(repo_id=entry["id"], organization=organizations[entry["org"].lower()])
                model.save()
                existing[entry["id"].lower()] = model
            changed = _model_apply(model, entry, licenses, organizations, languages, created=created)
            touched.append((model, entry, created, changed))
        # Lineage last, so a derivative listed before its base still links to it.
        wanted = catalog_ids | {entry["base"].lower() for entry in MODELS if entry.get("base")}
        by_id: dict[str, LanguageModel] = {
            m.repo_id.lower(): m
            for m in LanguageModel.objects.annotate(key=Lower("repo_id")).filter(key__in=wanted).only("id", "repo_id")
        }
        for model, entry, created, changed in touched:
            changed = _lineage_apply(model, entry, by_id) or changed
            key = "created" if created else "updated" if changed else "unchanged"
            counts[key] += 1
        counts["relinked"] = _derivatives_relink(by_id)
        # What the registry holds now, not what this run changed: a second run still says how many
        # models are linked to a catalog model as their base (ChatGLM-6B <- VisualGLM-6B ...).
        counts["linked"] = LanguageModel.objects.filter(base_model__in=[m.pk for m in by_id.values()]).count()
        # Published scores of the seed systems (stored by the evals app): created, changed or removed.
        counts["reported"] = reported_facts_publish(
            "catalog", catalog_reported_facts({repo_id: model.pk for repo_id, model in by_id.items()})
        )
    return counts


def _languages_upsert() -> int:
    done = 0
    current = {lang.code: lang for lang in Language.objects.all()}
    for code, name in LANGUAGES.items():
        lang = current.get(code)
        if lang is None:
            Language.objects.create(code=code, name=name)
            done += 1
        elif not lang.name:
            lang.name = name
            lang.save(update_fields=["name"])
            done += 1
    return done


def _licenses_upsert() -> int:
    """Create missing licenses; complete rows another path created bare (key only); keep admin edits."""
    done = 0
    current = {lic.key.lower(): lic for lic in License.objects.all()}
    for fact in LICENSES:
        lic = current.get(fact.key.lower())
        if lic is None:
            License.objects.create(
                key=fact.key,
                name=fact.name,
                family=fact.family,
                osi_approved=fact.osi_approved,
                commercial_use=fact.commercial,
                url=fact.url,
            )
            done += 1
            continue
        fields = []
        if not lic.name or lic.name == lic.key:
            lic.name = fact.name
            fields.append("name")
        if not lic.family:
            lic.family = fact.family
            lic.osi_approved = fact.osi_approved
            fields += ["family", "osi_approved"]
        if lic.commercial_use == License.Commercial.UNKNOWN and fact.commercial != License.Commercial.UNKNOWN:
            lic.commercial_use = fact.commercial
            fields.append("commercial_use")
        if not lic.url and fact.url:
            lic.url = fact.url
            fields.append("url")
        if fields:
            lic.save(update_fields=fields)
            done += 1
    return done


def _organizations_upsert() -> int:
    done = 0
    current = {org.slug.lower(): org for org in Organization.objects.all()}
    for slug, (name, url) in ORGANIZATIONS.items():
        org = current.get(slug.lower())
        if org is None:
            Organization.objects.create(slug=slug, name=name, url=url)
            done += 1
            continue
        fields = []
        if not org.name or org.name == org.slug:  # created bare by a Hub sync
            org.name = name
            fields.append("name")
        if not org.url:
            org.url = url
            fields.append("url")
        if fields:
            org.save(update_fields=fields)
            done += 1
    return done


def _release(entry: dict[str, Any]) -> tuple[dt.date | None, str]:
    text = entry.get("release")
    if not text:
        return None, ""
    parts = [int(p) for p in text.split("-")]
    precision = {1: "year", 2: "month", 3: "day"}[len(parts)]
    parts += [1] * (3 - len(parts))
    return dt.date(*parts), precision


def _endpoint(entry: dict[str, Any], policy: EndpointPolicy) -> dict[str, str]:
    """The entry's endpoint fields, by the same rules as the admin's (the key variable gets the prefix)."""
    endpoint = entry.get("endpoint") or {}
    key_env = f"{policy.key_prefix}{endpoint['key']}" if endpoint.get("key") else ""
    try:
        base_url, key_env = endpoint_validate(endpoint.get("base_url", ""), key_env, policy)
    except EndpointInvalid as exc:
        raise ValueError(f"catalog entry {entry['id']}: {exc.message}") from exc
    return {
        "endpoint_base_url": base_url,
        "endpoint_model_name": endpoint.get("model_name", ""),
        "endpoint_api_key_env": key_env,
    }


def _empty(value: Any) -> bool:
    if isinstance(value, dict):
        return all(_empty(v) for v in value.values())
    return value in (None, "", [], ())


def _model_apply(
    model: LanguageModel,
    entry: dict[str, Any],
    licenses: dict[str, License],
    organizations: dict[str, Organization],
    languages: dict[str, Language],
    *,
    created: bool,
) -> bool:
    """Write the entry's facts that are missing or still the catalog's own; return whether anything changed."""
    sources: dict[str, Any] = dict(model.sources or {})
    before_sources = dict(sources)
    fields: set[str] = set()
    default_url = entry["source"]
    notes = entry.get("notes", {})
    urls = entry.get("sources", {})
    entry = {**entry, "description_zh": entry.get("description_zh") or DESCRIPTIONS_ZH.get(entry["id"], "")}

    def decide(fact: str, current: Any, wanted: Any, *, hub_default: Any = None, placeholders: tuple = ()) -> bool:
        """Record the catalog's source for `fact`; return True when the catalog value must be written."""
        prior = sources.get(fact) if isinstance(sources.get(fact), dict) else None
        ours = isinstance(prior, dict) and prior.get("by") == CATALOG
        free = (
            created
            or _empty(current)
            or (hub_default is not None and current == hub_default)
            or (current in placeholders and wanted not in placeholders)
        )
        if free or (ours and isinstance(prior, dict) and prior.get("value") == current) or current == wanted:
            record = {"url": urls.get(fact, default_url), "by": CATALOG, "value": wanted}
            if notes.get(fact):
                record["note"] = notes[fact]
                if NOTES_ZH.get(notes[fact]):
                    record["note_zh"] = NOTES_ZH[notes[fact]]
            sources[fact] = record
            return current != wanted and not _empty(wanted)
        if ours:
            # Refined elsewhere since the catalog wrote it: the catalog is no longer this fact's source.
            del sources[fact]
        return False

    # Organization: the catalog's unless the row was moved to another organization on purpose.
    org = organizations[entry["org"].lower()]
    if decide("organization", model.organization.slug if not created else org.slug, org.slug):
        model.organization = org
        fields.add("organization")

    scalar_wanted = {fact: entry.get(fact, "") for fact in _SCALAR_FACTS}
    for fact in ("active_parameters", "context_length"):
        scalar_wanted[fact] = entry.get(fact)
    for fact, wanted in scalar_wanted.items():
        if _empty(wanted) and not notes.get(fact):
            continue
        hub_default = model.name_part if fact == "name" else None
        if decide(fact, getattr(model, fact), wanted, hub_default=hub_default):
            setattr(model, fact, wanted)
            fields.add(fact)

    # Parameters: a count from the Hub or the admin always wins over the catalog's.
    wanted_params = entry.get("parameters")
    if model.parameters_source in _PARAMETERS_FROM_ELSEWHERE and model.parameters is not None:
        if isinstance(sources.get("parameters"), dict) and sources["parameters"].get("by") == CATALOG:
            del sources["parameters"]
    elif decide("parameters", model.parameters, wanted_params):
        model.parameters = wanted_params
        model.parameters_source = LanguageModel.ParameterSource.CATALOG
        fields |= {"parameters", "parameters_source"}

    lic = licenses.get(entry["license"]) or licenses[entry["license"].lower()]
    # A Hub card's bare "other"/"unknown" says less than the catalog's named license.
    current_license = model.license.key if model.license is not None else None
    if decide("license", current_license, lic.key, placeholders=("other", "unknown")):
        model.license = lic
        fields.add("license")

    release_date, precision = _release(entry)
    current_release = _release_text(model.release_date, model.release_date_precision)
    if (release_date or notes.get("release_date")) and decide("release_date", current_release, entry.get("release")):
        model.release_date, model.release_date_precision = release_date, precision
        fields |= {"release_date", "release_date_precision"}

    endpoint = _endpoint(entry, endpoint_policy())
    current_endpoint = {f: getattr(model, f) for f in endpoint}
    if (not _empty(endpoint) or notes.get("endpoint")) and decide("endpoint", current_endpoint, endpoint):
        for field, value in endpoint.items():
            setattr(model, field, value)
        fields |= set(endpoint)

    wanted_langs = sorted(entry.get("languages") or [])
    current_langs = sorted(lang.code for lang in model.languages.all()) if not created else []
    set_langs = (wanted_langs or notes.get("languages")) and decide("languages", current_langs, wanted_langs)

    if not model.in_catalog:
        model.in_catalog = True
        fields.add("in_catalog")
    if sources != before_sources:
        model.sources = sources
        fields.add("sources")
    if fields:
        model.save(update_fields=[*fields, "updated_at"])
    if set_langs:
        model.languages.set([languages[code] for code in wanted_langs])
    return bool(fields) or bool(set_langs)


def _lineage_apply(model: LanguageModel, entry: dict[str, Any], by_id: dict[str, LanguageModel]) -> bool:
    """Link the base model (when it is in the registry) and the relation; return whether anything changed."""
    base_id = entry.get("base")
    if not base_id:
        return False
    sources = dict(model.sources or {})
    prior = sources.get("base_model") if isinstance(sources.get("base_model"), dict) else None
    wanted = {"ref": base_id, "relation": entry.get("relation", "")}
    current = {"ref": model.base_model_ref, "relation": model.base_relation}
    ours = prior is not None and prior.get("by") == CATALOG and prior.get("value") == current
    fields: set[str] = set()
    if _empty(current) or ours or current == wanted:
        record = {"url": entry.get("sources", {}).get("base_model", entry["source"]), "by": CATALOG, "value": wanted}
        if entry.get("notes", {}).get("base_model"):
            record["note"] = entry["notes"]["base_model"]
            if NOTES_ZH.get(record["note"]):
                record["note_zh"] = NOTES_ZH[record["note"]]
        if sources.get("base_model") != record:
            sources["base_model"] = record
            fields.add("sources")
        if current != wanted:
            model.base_model_ref, model.base_relation = wanted["ref"], wanted["relation"]
            fields |= {"base_model_ref", "base_relation"}
        base = by_id.get(base_id.lower())
        if base is not None and model.base_model_id != base.pk:
            model.base_model_id = base.pk
            fields.add("base_model")
    elif prior is not None and prior.get("by") == CATALOG:
        del sources["base_model"]
        fields.add("sources")
    if "sources" in fields:
        model.sources = sources
    if fields:
        model.save(update_fields=[*fields, "updated_at"])
    return bool(fields)


def _derivatives_relink(by_id: dict[str, LanguageModel]) -> int:
    """Link models (e.g. synced from the Hub before the catalog was loaded) to a declared base now present."""
    catalog_ids = {entry["id"].lower() for entry in MODELS}
    orphans = list(
        LanguageModel.objects.annotate(ref=Lower("base_model_ref"))
        .filter(base_model__isnull=True, ref__in=catalog_ids)
        .only("id", "repo_id", "base_model_ref", "base_model")
    )
    orphans = [m for m in orphans if by_id[m.base_model_ref.lower()].pk != m.pk]
    for m in orphans:
        m.base_model_id = by_id[m.base_model_ref.lower()].pk
    LanguageModel.objects.bulk_update(orphans, ["base_model"])
    return len(orphans)


def _release_text(date: dt.date | None, precision: str) -> str | None:
    """The catalog's spelling of a stored release date ("2023-07-18", "2023-07", "2023")."""
    if date is None:
        return None
    if precision == "year":
        return f"{date.year:04d}"
    if precision == "month":
        return f"{date.year:04d}-{date.month:02d}"
    return date.isoformat()
