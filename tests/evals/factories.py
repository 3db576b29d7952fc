"""Factories for evaluation rows (and the registry rows they hang on), built with the real ORM.

`complete_run(model, scores={...})` stores a succeeded, non-partial run of a suite with one
BenchmarkResult per benchmark (value, stderr, n), the way the evals services store a finished run.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import factory
from django.utils import timezone

from evals.models import BenchmarkResult, EvalRun, ItemResult
from evals.suites import SUITES
from registry.models import Language, LanguageModel, License, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"org{n}")
    name = factory.LazyAttribute(lambda o: o.slug.title())


class LicenseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = License
        django_get_or_create = ("key",)

    key = "apache-2.0"
    name = factory.LazyAttribute(lambda o: o.key)
    commercial_use = License.Commercial.YES


def language(code: str) -> Language:
    return Language.objects.get_or_create(code=code, defaults={"name": code})[0]


class LanguageModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LanguageModel
        django_get_or_create = ("repo_id",)
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    repo_id = factory.Sequence(lambda n: f"org/model-{n}")
    name = factory.LazyAttribute(lambda o: o.repo_id.split("/")[-1])
    weights = LanguageModel.Weights.OPEN
    parameters = 7_000_000_000
    license = factory.SubFactory(LicenseFactory)

    @factory.post_generation
    def languages(self, create: bool, extracted: Iterable[str] | None, **kwargs: Any) -> None:
        if create and extracted:
            self.languages.set([language(code) for code in extracted])


def model(repo_id: str, **kwargs: Any) -> LanguageModel:
    """A model whose organization is the first part of its id."""
    org = OrganizationFactory(slug=repo_id.split("/")[0].lower())
    return LanguageModelFactory(repo_id=repo_id, organization=org, **kwargs)


class EvalRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EvalRun

    model = factory.SubFactory(LanguageModelFactory)
    revision = "main"
    revision_sha = factory.Sequence(lambda n: f"{n:040x}")
    suite = "quick"
    benchmarks = factory.LazyAttribute(lambda o: list(SUITES[o.suite].benchmarks))
    status = EvalRun.Status.SUCCEEDED
    engine_version = "test-1"
    settings = factory.LazyAttribute(lambda o: {"n_shot": dict(SUITES[o.suite].n_shot), "seed": 1234})
    finished_at = factory.LazyFunction(timezone.now)


def complete_run(
    model: LanguageModel,
    scores: dict[str, float | tuple[float, float | None, int]] | float,
    *,
    suite: str = "quick",
    n: int = 100,
    **run_fields: Any,
) -> EvalRun:
    """A succeeded run with a result for every benchmark of the suite (or the ones in `scores`).

    `scores` is one value for every benchmark, or {benchmark: value | (value, stderr, n)}; a bare value
    gets the binomial stderr sqrt(p(1-p)/(n-1)) that lm-eval's sample std / sqrt(n) gives for 0/1 items.
    """
    if not isinstance(scores, dict):
        scores = dict.fromkeys(SUITES[suite].benchmarks, scores)
    run = EvalRunFactory(model=model, suite=suite, **run_fields)
    from evals.benchmarks import BENCHMARKS

    for bench, spec in scores.items():
        if isinstance(spec, tuple):
            value, stderr, count = spec
        else:
            value, count = spec, n
            stderr = math.sqrt(value * (1 - value) / (count - 1)) if count > 1 else None
        metric = BENCHMARKS[bench].primary_metric
        BenchmarkResult.objects.create(
            run=run,
            benchmark=bench,
            metrics={metric: value},
            primary_metric=metric,
            value=value,
            stderr=stderr,
            n=count,
        )
    return run


def items(run: EvalRun, benchmark: str, outcomes: Iterable[float], metric: str | None = None) -> list[ItemResult]:
    """Per-item results (metric values in order) for one benchmark of a run."""
    from evals.benchmarks import BENCHMARKS

    metric = metric or BENCHMARKS[benchmark].primary_metric
    return ItemResult.objects.bulk_create(
        ItemResult(
            run=run,
            benchmark=benchmark,
            item_id=f"{benchmark}-{i}",
            position=i,
            metrics={metric: float(v)},
            correct=bool(v),
        )
        for i, v in enumerate(outcomes)
    )
