"""Published ("reported") scores the registry reads: the seed catalog's figures and the Hub's.

The registry reads them, the evals app stores them (the registry imports no other app): readers here
turn the catalog (registry/catalog/reported_scores.py), a card's `model-index` and a repo's
`.eval_results/*.yaml` files into `ReportedFact`s, and `reported_facts_publish` hands them over with
the `reported_scores_read` signal, inside the caller's transaction.

Formats, as the Hub documents them:
- `model-index` (card data): `[{name, results: [{task: {type, name}, dataset: {type, name, config,
  split, args: {num_few_shot}}, metrics: [{type, value, name, verified, verifyToken}], source: {name,
  url}}]}]`; the Open LLM Leaderboard's bot writes the shots both in `args.num_few_shot` and in the
  dataset name ("AI2 Reasoning Challenge (25-Shot)").
- `.eval_results/*.yaml` (https://huggingface.co/docs/hub/eval-results): a list of `{dataset: {id,
  task_id, revision}, value, verifyToken, date, source: {url, name, user, org}, notes}`; a result
  with a `verifyToken` is "verified", one from an open pull request "community".
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from django.conf import settings

from registry.signals import reported_scores_read

logger = logging.getLogger(__name__)

EVAL_RESULTS_DIR = ".eval_results/"
EVAL_RESULTS_MAX_BYTES = 256 * 1024  # a results file is a few lines; anything larger is not one
_SHOTS_IN_NAME = re.compile(r"(\d+)[- ]?shot", re.IGNORECASE)


@dataclass(frozen=True)
class ReportedFact:
    """One published number about one model, as read (the evals app maps and stores it).

    `benchmark` is our benchmark key where the reader knows it (the catalog), else "" and the evals
    app maps `dataset_id`/`dataset_config`/`metric` onto one of ours or keeps the raw dataset id.
    `published_value` is the number as published (0..1 or 0..100).
    """

    model_pk: int
    origin_key: str
    published_value: float
    benchmark: str = ""
    dataset_id: str = ""
    dataset_config: str = ""
    metric: str = ""
    n_shot: int | None = None
    setting: str = ""
    variant: str = ""
    source_kind: str = "model_card"
    source_name: str = ""
    source_url: str = ""
    reported_by: str = "developer"
    verified: bool = False
    published: dt.date | None = None


def reported_facts_publish(origin: str, facts_by_model: Mapping[int, list[ReportedFact]]) -> int:
    """Hand the facts read for these models to the store; they replace the origin's earlier facts of them.

    Returns how many stored scores were created, changed or removed (0 when nothing changed).
    """
    if not facts_by_model:
        return 0
    responses = reported_scores_read.send(sender=ReportedFact, origin=origin, facts_by_model=dict(facts_by_model))
    return sum(int(result or 0) for _receiver, result in responses if not isinstance(result, Exception))


# -- the seed catalog ---------------------------------------------------------------------------------
def catalog_reported_facts(model_pks: Mapping[str, int]) -> dict[int, list[ReportedFact]]:
    """The catalog's published figures of the models present (catalog id, lower-cased -> pk)."""
    from registry.catalog.reported_scores import FIGURES

    out: dict[int, list[ReportedFact]] = {}
    for repo_id, figures in FIGURES.items():
        pk = model_pks.get(repo_id.lower())
        if pk is None:
            continue
        out[pk] = [
            ReportedFact(
                model_pk=pk,
                origin_key=figure.key,
                published_value=figure.value,
                benchmark=figure.benchmark,
                n_shot=figure.shots,
                setting=figure.setting,
                variant=figure.variant,
                source_kind=figure.source.kind,
                source_name=figure.source.name,
                source_url=figure.source.url,
                reported_by=figure.source.reported_by,
                published=dt.date.fromisoformat(figure.published) if figure.published else None,
            )
            for figure in figures
        ]
    return out


# -- the Hub ------------------------------------------------------------------------------------------
def eval_results_paths(siblings: Iterable[str]) -> list[str]:
    """The repo's `.eval_results/*.yaml` files among its siblings (sorted, so keys are stable)."""
    return sorted(
        s
        for s in siblings
        if s.startswith(EVAL_RESULTS_DIR)
        and s.lower().endswith((".yaml", ".yml"))
        and "/" not in s[len(EVAL_RESULTS_DIR) :]
    )


def _mapping_at(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """data[key] when it is a mapping, else an empty one (absent, null or another type)."""
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):  # "63.2", "63.2 ± 1.1", "63.2%"
        match = re.match(r"\s*(-?\d+(?:\.\d+)?)", value)
        return float(match.group(1)) if match else None
    return None


def _shots(dataset: Mapping[str, Any]) -> int | None:
    args = dataset.get("args")
    if isinstance(args, Mapping):
        for key in ("num_few_shot", "num_fewshot", "n_shot", "fewshot"):
            if isinstance(args.get(key), int) and not isinstance(args.get(key), bool):
                return int(args[key])
    match = _SHOTS_IN_NAME.search(str(dataset.get("name") or ""))
    return int(match.group(1)) if match else None


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def _text(value: Any, limit: int) -> str:
    return str(value).strip()[:limit] if value not in (None, "") else ""


def model_index_facts(model_pk: int, repo_id: str, card_data: Mapping[str, Any]) -> list[ReportedFact]:
    """Scores in the card's `model-index` (malformed entries are skipped, never fatal)."""
    index = card_data.get("model-index") or card_data.get("model_index")
    if not isinstance(index, list):
        return []
    card_url = f"https://huggingface.co/{repo_id}"
    facts: list[ReportedFact] = []
    for m, entry in enumerate(index):
        results = entry.get("results") if isinstance(entry, Mapping) else None
        for r, result in enumerate(results if isinstance(results, list) else []):
            if not isinstance(result, Mapping):
                continue
            dataset = _mapping_at(result, "dataset")
            dataset_id = _text(dataset.get("type") or dataset.get("name"), 200)
            if not dataset_id:
                continue
            source = _mapping_at(result, "source")
            source_url = _text(source.get("url"), 500) or card_url
            third_party = bool(source.get("url")) and not source_url.startswith(card_url)
            for k, metric in enumerate(result.get("metrics") or []):
                if not isinstance(metric, Mapping):
                    continue
                value = _number(metric.get("value"))
                if value is None:
                    continue
                facts.append(
                    ReportedFact(
                        model_pk=model_pk,
                        origin_key=f"model-index:{m}:{r}:{k}",
                        published_value=value,
                        dataset_id=dataset_id,
                        dataset_config=_text(dataset.get("config"), 100),
                        metric=_text(metric.get("type"), 50),
                        n_shot=_shots(dataset),
                        setting=_text(dataset.get("name"), 300),
                        source_kind="hub_model_index",
                        source_name=_text(source.get("name"), 300) or "model-index",
                        source_url=source_url,
                        reported_by="third_party" if third_party else "developer",
                        verified=bool(metric.get("verifyToken")) or metric.get("verified") is True,
                    )
                )
    return facts


def eval_results_facts(
    model_pk: int,
    repo_id: str,
    files: Mapping[str, bytes],
    *,
    revision: str = "main",
    pull_request: tuple[int, str] | None = None,
) -> list[ReportedFact]:
    """Scores in the repo's `.eval_results/*.yaml` files (path -> content); a bad file is skipped and logged.

    `pull_request=(num, author)`: the files are proposed in that open pull request, so the scores are
    "community" ones, keyed by the PR and linked to it (the Hub shows them so while the PR is open).
    Shots come from the dataset entry when stated there, else from the notes ("5-shot, ...").
    """
    community = pull_request is not None
    prefix = f"pr{pull_request[0]}:" if pull_request else ""
    endpoint = settings.HF_ENDPOINT.rstrip("/")
    pr_url = f"{endpoint}/{repo_id}/discussions/{pull_request[0]}" if pull_request else ""
    facts: list[ReportedFact] = []
    for path in sorted(files):
        try:
            entries = yaml.safe_load(files[path])
        except yaml.YAMLError as exc:
            logger.warning("Hub %s: %s is not YAML (%s); skipped", repo_id, path, exc)
            continue
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            continue
        file_url = f"https://huggingface.co/{repo_id}/blob/{revision}/{path}"
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping) or not isinstance(entry.get("dataset"), Mapping):
                continue
            dataset = entry["dataset"]
            value = _number(entry.get("value"))
            dataset_id = _text(dataset.get("id"), 200)
            if value is None or not dataset_id:
                continue
            source = _mapping_at(entry, "source")
            by = source.get("user") or source.get("org")
            name = _text(source.get("name"), 300) or (f"{path} ({by})" if by else path)
            shots = _shots(dataset)
            if shots is None:
                match = _SHOTS_IN_NAME.search(str(entry.get("notes") or ""))
                shots = int(match.group(1)) if match else None
            facts.append(
                ReportedFact(
                    model_pk=model_pk,
                    origin_key=f"{prefix}{path}:{i}",
                    published_value=value,
                    dataset_id=dataset_id,
                    dataset_config=_text(dataset.get("task_id"), 100),
                    n_shot=shots,
                    setting=_text(entry.get("notes"), 500),
                    source_kind="hub_eval_results",
                    source_name=(
                        _text(f"pull request #{pull_request[0]} by {pull_request[1]}: {name}", 300)
                        if pull_request
                        else name
                    ),
                    source_url=pr_url or _text(source.get("url"), 500) or file_url,
                    reported_by="community" if community else "developer",
                    verified=bool(entry.get("verifyToken")),
                    published=_date(entry.get("date")),
                )
            )
    return facts
