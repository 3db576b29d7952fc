"""`load_catalog` stores the published scores of the seed systems, with sources, idempotently."""

from __future__ import annotations

import io

from django.core.management import call_command

from evals.models import ReportedScore


def test_load_catalog_stores_141_published_scores_of_23_seed_systems_with_their_sources(db):
    out = io.StringIO()
    call_command("load_catalog", stdout=out)

    assert "141 published scores of the seed systems" in out.getvalue()
    assert ReportedScore.objects.count() == 141
    assert ReportedScore.objects.values("model").distinct().count() == 23
    gpt4 = ReportedScore.objects.get(model__repo_id="openai/gpt-4", benchmark="mmlu")
    assert (gpt4.published_value, gpt4.value, gpt4.n_shot) == (86.4, 0.864, 5)
    assert gpt4.source_url == "https://arxiv.org/abs/2303.08774"
    assert gpt4.source_kind == "tech_report" and gpt4.reported_by == "developer" and gpt4.origin == "catalog"
    ceval = ReportedScore.objects.filter(model__repo_id="THUDM/chatglm-6b", benchmark="ceval")
    assert sorted(ceval.values_list("n_shot", "published_value")) == [(0, 38.9), (5, 34.5)]
    assert {s.reported_by for s in ceval} == {"third_party"}


def test_a_figure_that_is_not_comparable_keeps_the_text_that_says_so(catalog):
    cloze = ReportedScore.objects.get(model__repo_id="HuggingFaceTB/SmolLM2-135M-Instruct", benchmark="mmlu")
    assert "cloze" in cloze.setting
    qwen = ReportedScore.objects.filter(model__repo_id="Qwen/Qwen-7B").exclude(variant="")
    assert qwen.exists() and all("Qwen-7B" in s.variant for s in qwen)
    unstated = ReportedScore.objects.filter(n_shot__isnull=True)
    assert unstated.exists() and all(s.setting for s in unstated)


def test_loading_the_catalog_again_changes_no_published_score(catalog):
    before = {s.pk: (s.value, s.setting, s.updated_at) for s in ReportedScore.objects.all()}

    out = io.StringIO()
    call_command("load_catalog", stdout=out)

    assert catalog["reported"] == 141
    assert "; 0 published scores of the seed systems" in out.getvalue()
    assert {s.pk: (s.value, s.setting, s.updated_at) for s in ReportedScore.objects.all()} == before


def test_an_edited_catalog_figure_is_updated_and_a_removed_one_deleted(catalog, monkeypatch):
    from registry.catalog import reported_scores
    from registry.services.catalog import catalog_load

    figures = dict(reported_scores.FIGURES)
    gpt4 = list(figures["openai/gpt-4"])
    mmlu = next(f for f in gpt4 if f.benchmark == "mmlu")
    gpt4 = [f._replace(value=86.5) if f is mmlu else f for f in gpt4][:-1]
    figures["openai/gpt-4"] = tuple(gpt4)
    monkeypatch.setattr(reported_scores, "FIGURES", figures)

    counts = catalog_load()

    assert counts["reported"] == 2  # one changed, one removed
    assert ReportedScore.objects.get(model__repo_id="openai/gpt-4", benchmark="mmlu").published_value == 86.5
    assert ReportedScore.objects.count() == 140
