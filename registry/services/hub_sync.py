"""Hub sync: upsert Hub models into the registry and record every sync as a SyncRun.

- A listing asks the Hub for every field it needs (`expand`), so an unchanged model (same commit sha)
  costs no request of its own and no write; only new and changed models cost a config.json download
  (the API's `config` lacks sizes and context length) and a write.
- New models are written with bulk inserts (ON CONFLICT DO NOTHING; on PostgreSQL one INSERT ... SELECT
  from a JSON array per chunk, without building model instances) and changed ones with bulk
  updates under their row locks (SELECT ... FOR UPDATE), chunk by chunk in the sync's own thread
  while a pool downloads the next ones (up to WRITE_AHEAD models ahead, across listing pages);
  catalog rows and conflicts take the single-row path (`hub_model_upsert`). Every write is one
  transaction, so a failure never leaves a half-written model, and two syncs at once (beat + a
  command) serialize per row instead of corrupting it.
- Catalog rows are refined, never wiped: a fact the Hub lacks keeps the catalog value and its source.
- A model that vanished from a fully listed author is marked (`on_hub=False`, `hub_missing_since`),
  never deleted.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from config.bulk import insert_json
from registry.hub import (
    HubError,
    HubModel,
    HubPermanentError,
    HubPullRequest,
    HubTemporaryError,
    hub_list_pages,
    hub_model_config,
    hub_model_file,
    hub_model_files,
    hub_model_info,
    hub_model_pull_requests,
)
from registry.models import Language, LanguageModel, License, Organization, SyncRun
from registry.services.hub_facts import LLM_PIPELINES, ModelFacts, hub_model_facts
from registry.services.reported import (
    EVAL_RESULTS_MAX_BYTES,
    ReportedFact,
    eval_results_facts,
    eval_results_paths,
    model_index_facts,
    reported_facts_publish,
)
from registry.signals import hub_revision_changed, models_bulk_changed

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Who may overwrite a parameter count: a higher rank replaces a lower or equal one.
PARAMETER_RANK = {"": 0, "card": 1, "config": 2, "catalog": 3, "safetensors": 4, "admin": 5}
MAX_ERRORS_KEPT = 500
WRITE_CHUNK = 250  # models per bulk insert while the next ones download
WRITE_AHEAD = 4 * WRITE_CHUNK  # downloads queued at most this far ahead of the writes


def _pipelines() -> tuple[str, ...]:
    return tuple(getattr(settings, "HUB_SYNC_PIPELINES", LLM_PIPELINES))


def _concurrency() -> int:
    return max(1, int(getattr(settings, "HUB_SYNC_CONCURRENCY", 8)))


# -- lookups shared by the single and the bulk path ------------------------------------------------------
def _organizations(authors: Iterable[str]) -> dict[str, Organization]:
    """author (as on the Hub) -> Organization, creating missing ones (slug = the author's spelling)."""
    wanted = {a for a in authors if a}
    found: dict[str, Organization] = {}
    if not wanted:
        return found
    # one IN over lower(slug): a chain of OR-ed iexact tests cost ~0.15 s per 250-model chunk
    lowered = Organization.objects.annotate(lower_slug=Lower("slug"))
    existing: dict[str, Organization] = {
        org.slug.lower(): org for org in lowered.filter(lower_slug__in={a.lower() for a in wanted})
    }
    missing = [a for a in wanted if a.lower() not in existing]
    if missing:
        Organization.objects.bulk_create(
            [Organization(slug=a[:100], name=a[:200]) for a in missing], ignore_conflicts=True
        )
        existing.update({o.slug.lower(): o for o in Organization.objects.filter(slug__in=missing)})
    for author in wanted:
        if author.lower() in existing:
            found[author] = existing[author.lower()]
    return found


def _licenses(keys: Iterable[str]) -> dict[str, License]:
    """key -> License (case-insensitive), creating unknown keys with commercial use unknown."""
    wanted = {k for k in keys if k}
    if not wanted:
        return {}
    lowered = License.objects.annotate(lower_key=Lower("key"))
    existing: dict[str, License] = {
        lic.key.lower(): lic for lic in lowered.filter(lower_key__in={k.lower() for k in wanted})
    }
    missing = [k for k in wanted if k.lower() not in existing]
    if missing:
        License.objects.bulk_create(
            [License(key=k, name=k, commercial_use=License.Commercial.UNKNOWN) for k in missing], ignore_conflicts=True
        )
        existing.update({lic.key.lower(): lic for lic in License.objects.filter(key__in=missing)})
    return {k: existing[k.lower()] for k in wanted if k.lower() in existing}


def _languages(codes: Iterable[str]) -> None:
    wanted = set(codes)
    if not wanted:
        return
    known = set(Language.objects.filter(code__in=wanted).values_list("code", flat=True))
    missing = wanted - known
    if missing:
        try:
            from registry.catalog.licenses import LANGUAGES as names
        except ImportError:  # pragma: no cover - the catalog module is optional here
            names = {}
        Language.objects.bulk_create(
            [Language(code=c, name=names.get(c, "")) for c in sorted(missing)], ignore_conflicts=True
        )


def _config_for(info: HubModel) -> dict[str, Any]:
    """The repo's config.json when it has one and lets us read it; {} otherwise.

    Gated repos refuse anonymous downloads (a permanent error that is not the model's fault): their
    facts then come from the API alone. Temporary errors propagate so the model is retried next sync.
    """
    if "config.json" not in info.siblings and info.siblings:
        return {}
    try:
        return hub_model_config(info.repo_id, revision=info.sha or None)
    except HubPermanentError as exc:
        if exc.kind in ("gated", "not_found", "disabled"):
            return {}
        raise


def hub_model_config_file(info: HubModel) -> dict[str, Any]:
    """The config.json a registry write of `info` reads ({} when the repo has none or refuses it).

    For callers that must do every Hub request before writing (a submission), then pass it to
    hub_model_upsert(config_file=...). Raises HubTemporaryError after bounded retries.
    """
    return _config_for(info)


def _revisions_moved(repo_ids: Sequence[str]) -> None:
    """Once committed, tell other apps that these models now point at a new Hub commit."""
    if repo_ids:
        moved = tuple(repo_ids)
        transaction.on_commit(lambda: hub_revision_changed.send(sender=LanguageModel, repo_ids=moved))


# -- one model ----------------------------------------------------------------------------------------
def _hub_values(facts: ModelFacts, model: LanguageModel | None, *, now) -> dict[str, Any]:
    """The columns (by attribute name, organization aside) the Hub's facts give a row.

    `model` is the row as stored, or None for a new one. On catalog rows a fact the Hub lacks keeps its
    catalog value and its source.
    """
    refine = model is not None and model.in_catalog
    values: dict[str, Any] = {}
    sources = dict(model.sources or {}) if model is not None else {}

    def take(fact: str, value: Any) -> None:
        if value in (None, "", []) and refine:
            return  # the Hub says nothing: keep what the catalog or an admin wrote, and its source
        values[fact] = value
        sources.pop(fact, None)

    if not refine:
        values["name"] = facts.name
    values["weights"] = LanguageModel.Weights.OPEN
    values["gated"] = facts.gated
    old_parameters = model.parameters if model is not None else None
    old_rank = PARAMETER_RANK.get(model.parameters_source or "", 0) if model is not None and old_parameters else -1
    if facts.parameters and PARAMETER_RANK.get(facts.parameters_source, 0) >= old_rank:
        values["parameters"] = facts.parameters
        values["parameters_source"] = facts.parameters_source
        sources.pop("parameters", None)
        take("active_parameters", facts.active_parameters)
    elif not refine and not old_parameters:
        values["parameters"], values["parameters_source"] = facts.parameters, facts.parameters_source
    take("architecture", facts.architecture)
    take("model_type", facts.model_type)
    take("context_length", facts.context_length)
    take("license_name", facts.license_name)
    if facts.base_ref or not refine:
        values["base_model_ref"] = facts.base_ref
        values["base_relation"] = facts.base_relation
        sources.pop("base_model", None)
    if facts.modality != LanguageModel.Modality.TEXT or not refine:
        take("modality", facts.modality)
    values["pipeline_tag"] = facts.pipeline_tag
    values["library_name"] = facts.library_name
    values["tags"] = facts.tags
    values["hub_sha"] = facts.sha
    values["downloads"] = facts.downloads
    values["likes"] = facts.likes
    values["hub_created_at"] = facts.created_at
    values["hub_last_modified"] = facts.last_modified
    values["on_hub"] = True
    values["hub_missing_since"] = None
    values["synced_at"] = now
    if (model.release_date if model is not None else None) is None and facts.release_date is not None:
        values["release_date"] = facts.release_date
        values["release_date_precision"] = LanguageModel.DatePrecision.DAY
        sources["release_date"] = "hub:createdAt"
    values["sources"] = sources
    return values


def _apply_facts(model: LanguageModel, facts: ModelFacts, *, organization: Organization, now) -> None:
    """Write the Hub's facts onto a row (see _hub_values); a catalog row keeps its name and organization."""
    stored = model if model.pk is not None else None
    for name, value in _hub_values(facts, stored, now=now).items():
        setattr(model, name, value)
    if stored is None or not stored.in_catalog:
        model.organization = organization


def _base_id(ref: str) -> int | None:
    if not ref:
        return None
    exact = LanguageModel.objects.filter(repo_id=ref).values_list("pk", flat=True).first()  # the unique index
    if exact is not None:
        return exact
    return LanguageModel.objects.filter(repo_id__iexact=ref).values_list("pk", flat=True).first()


def _relink_derivatives(model: LanguageModel) -> int:
    """Models that named this one as their base before it was in the registry now point at it."""
    return (
        LanguageModel.objects.filter(base_model__isnull=True, base_model_ref__iexact=model.repo_id)
        .exclude(pk=model.pk)
        .update(base_model=model)
    )


def hub_model_upsert(
    info: HubModel, *, config_file: dict[str, Any] | None = None, relink: bool = True
) -> tuple[LanguageModel, str]:
    """Create or update the registry row of a Hub model, atomically, under the row's lock.

    Returns (model, outcome) with outcome "created", "updated" or "unchanged" (same sha, still on
    the Hub: nothing is written). Fetches config.json unless `config_file` is given; raises
    HubTemporaryError when that download keeps failing (nothing is written then). `relink=False`
    leaves linking earlier derivatives to the caller (sync_hub does it once for the whole run).
    """
    if info.sha:
        same = LanguageModel.objects.filter(repo_id=info.repo_id, hub_sha=info.sha, on_hub=True).first()
        if same is not None:
            return same, "unchanged"
    if config_file is None:
        config_file = _config_for(info)
    facts = hub_model_facts(info, config_file)
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                model = LanguageModel.objects.select_for_update().filter(repo_id=info.repo_id).first()
                if model is not None and info.sha and model.hub_sha == info.sha and model.on_hub:
                    return model, "unchanged"  # another sync wrote it while we fetched config.json
                created = model is None
                organization = _organizations([facts.author])[facts.author]
                if model is None:
                    model = LanguageModel(repo_id=info.repo_id)
                old_sha = model.hub_sha
                _apply_facts(model, facts, organization=organization, now=now)
                if facts.license_key:
                    model.license = _licenses([facts.license_key])[facts.license_key]
                elif not model.in_catalog:
                    model.license = None
                model.base_model_id = (
                    _base_id(facts.base_ref) if facts.base_ref else (model.base_model_id if model.in_catalog else None)
                )
                model.save()
                if facts.languages:
                    _languages(facts.languages)
                    if model.in_catalog and not created:
                        model.languages.add(*facts.languages)  # type: ignore[arg-type]  # a Language's pk is its code
                    else:
                        model.languages.set(facts.languages)  # type: ignore[arg-type]  # a Language's pk is its code
                elif created or not model.in_catalog:
                    model.languages.clear()
                if relink:
                    _relink_derivatives(model)
                if old_sha and old_sha != model.hub_sha:
                    _revisions_moved([model.repo_id])
                return model, "created" if created else "updated"
        except IntegrityError:
            if attempt:
                raise
            # Another sync inserted the row between our read and our insert: update it instead.
    raise AssertionError("unreachable")


def hub_model_sync(*, repo_id: str, revision: str | None = None) -> tuple[LanguageModel, str]:
    """Fetch one model from the Hub and upsert it; returns (model, "created"|"updated"|"unchanged").

    Raises HubPermanentError (not_found, gated, ...) or HubTemporaryError after bounded retries; a
    model the Hub no longer has is marked `on_hub=False` before the error propagates.
    """
    try:
        info = hub_model_info(repo_id, revision=revision)
    except HubPermanentError as exc:
        if exc.kind == "not_found":
            _mark_missing(LanguageModel.objects.filter(repo_id__iexact=repo_id))
        raise
    if not info.sha:
        raise HubTemporaryError(f"the Hub sent no commit sha for {repo_id}", kind="malformed")
    model, outcome = hub_model_upsert(info)
    if outcome != "unchanged":
        hub_reported_scores_write([(info, hub_eval_results_files(info))], {info.repo_id: model.pk})
    return model, outcome


def hub_eval_results_files(info: HubModel) -> dict[str, bytes]:
    """The repo's `.eval_results/*.yaml` files at the listed commit (no request when it has none).

    A file that cannot be read is left out (logged): published scores never fail a model's sync.
    """
    files: dict[str, bytes] = {}
    for path in eval_results_paths(info.siblings):
        try:
            files[path] = hub_model_file(info.repo_id, path, revision=info.sha, max_bytes=EVAL_RESULTS_MAX_BYTES)
        except HubError as exc:
            logger.warning("Hub sync: %s %s not read: %s", info.repo_id, path, exc)
    return files


def hub_reported_scores_write(
    fetched: Sequence[tuple[HubModel, dict[str, bytes]]], pks: dict[str, int], *, fresh: Collection[int] = ()
) -> int:
    """Store the published scores of new or changed models (card `model-index` and `.eval_results/`).

    They replace the Hub's earlier scores of those models (a result removed from the card goes). Models in
    `fresh` (rows the caller has just inserted) have no scores stored: one that publishes none costs nothing.
    Returns how many stored scores changed. Never raises for a bad card: one is logged and skipped.
    """
    facts: dict[int, list[ReportedFact]] = {}
    for info, files in fetched:
        pk = pks.get(info.repo_id)
        if pk is None:
            continue
        read = model_index_facts(pk, info.repo_id, info.card_data) + eval_results_facts(
            pk, info.repo_id, files, revision=info.sha or "main"
        )
        if read or pk not in fresh:
            facts[pk] = read
    if not facts:
        return 0
    try:
        with transaction.atomic():
            return reported_facts_publish("hub", facts)
    except Exception as exc:  # published scores must never fail the registry's sync
        logger.warning("Hub sync: published scores not stored: %s", exc)
        _db_recover(exc)
        return 0


# -- community scores: `.eval_results/` files proposed in open pull requests ------------------------------
COMMUNITY_ORIGIN = "hub_pr"


def _pr_keys(repo_id: str) -> tuple[str, str]:
    return f"hub-prs:checked:{repo_id.lower()}", f"hub-prs:heads:{repo_id.lower()}"


def hub_community_facts(
    model_pk: int, repo_id: str, pull_requests: Sequence[HubPullRequest], *, main: str
) -> list[ReportedFact]:
    """The scores proposed in these open pull requests of the model repo (read at each PR's head commit).

    Only the `.eval_results/` files a PR adds or changes count: a PR's tree also holds every file of `main`
    (the commit the registry has), and those are the developers' scores. Raises HubError when a PR's files
    cannot be read (then the caller replaces nothing).
    """
    if not pull_requests:
        return []
    on_main = {(f.path, f.oid) for f in hub_model_files(repo_id, revision=main)}
    facts: list[ReportedFact] = []
    for pr in pull_requests:
        revision = pr.sha or pr.ref
        proposed = [f.path for f in hub_model_files(repo_id, revision=revision) if (f.path, f.oid) not in on_main]
        paths = eval_results_paths(proposed)
        files = {p: hub_model_file(repo_id, p, revision=revision, max_bytes=EVAL_RESULTS_MAX_BYTES) for p in paths}
        facts += eval_results_facts(model_pk, repo_id, files, revision=pr.ref, pull_request=(pr.num, pr.author))
    return facts


def hub_community_scores_sync(repo_ids: Sequence[str], *, force: bool = False) -> dict[str, int]:
    """Read the community scores (`.eval_results/*.yaml` in OPEN pull requests) of these registry models.

    Incremental: a model's pull requests are listed at most once per settings.HUB_SYNC_PR_INTERVAL_MINUTES
    (LADDER_SYNC_PR_INTERVAL_MINUTES; 0: every call; `force`: now), and their files are read only when the
    open PRs or their head commits changed since the last read (both kept in the cache, CACHE_URL). The
    scores replace the model's earlier community scores, so a closed or merged PR's scores go. A model
    whose PRs cannot be read keeps its scores and is tried again next time. Never raises for Hub errors.
    The Hub is read by a pool (settings.HUB_SYNC_CONCURRENCY) while this thread stores a chunk per transaction.
    Returns counts: checked (PR lists read), read (models whose PR files were read), changed (rows).
    """
    pool = ThreadPoolExecutor(max_workers=_concurrency(), thread_name_prefix="hub-sync-prs")
    community = _CommunityPass(pool, force=force)
    try:
        community.add(repo_ids)
        return community.drain()
    finally:
        community.abandon()
        pool.shutdown(wait=True, cancel_futures=True)


class _CommunityPass:
    """Community scores read in a pool while the caller goes on (a sync: listing and writing models).

    `add` queues models (once each), `drain` waits and returns the counts. The Hub is read in the pool;
    the cache and the database are used in the caller's thread only, one transaction per chunk.
    """

    def __init__(self, pool: ThreadPoolExecutor, *, force: bool = False) -> None:
        self.pool = pool
        self.force = force
        self.interval = max(0, int(settings.HUB_SYNC_PR_INTERVAL_MINUTES)) * 60
        self.counts = {"checked": 0, "read": 0, "changed": 0}
        self.queued: set[str] = set()
        self.fresh: set[int] = set()  # pks inserted by this sync: no community scores stored
        self.pending: deque[tuple[str, Future[_CommunityRead]]] = deque()

    def add(self, repo_ids: Iterable[str], *, fresh: Mapping[str, tuple[int, str]] | None = None) -> None:
        """Queue the PR reads of these models that are due (one query); stores the reads already done.

        `fresh`: repo id -> (pk, sha) of open models on the Hub the caller has just inserted (no query for
        them; they have no community scores stored yet).
        """
        fresh = fresh or {}
        ids = [repo_id for repo_id in dict.fromkeys(repo_ids) if repo_id not in self.queued]
        self.queued.update(ids)
        if not ids:
            return
        models = [(fresh[repo_id][0], repo_id, fresh[repo_id][1]) for repo_id in ids if repo_id in fresh]
        self.fresh.update(pk for pk, _, _ in models)
        others = [repo_id for repo_id in ids if repo_id not in fresh]
        if others:
            models += LanguageModel.objects.filter(
                repo_id__in=others, weights=LanguageModel.Weights.OPEN, on_hub=True
            ).values_list("pk", "repo_id", "hub_sha")
        due = [  # a model listed less than the interval ago is skipped
            (pk, repo_id, main)
            for pk, repo_id, main in models
            if self.force or not self.interval or cache.add(_pr_keys(repo_id)[0], 1, timeout=self.interval)
        ]
        heads_read = cache.get_many([_pr_keys(repo_id)[1] for _, repo_id, _ in due]) if due else {}
        for pk, repo_id, main in due:
            if len(self.pending) >= WRITE_AHEAD:
                self._store_next()
            last = None if self.force else heads_read.get(_pr_keys(repo_id)[1])
            self.pending.append((repo_id, self.pool.submit(_community_read, pk, repo_id, main or "main", last)))
        while len(self.pending) >= WRITE_CHUNK and all(f.done() for _, f in islice(self.pending, WRITE_CHUNK)):
            self._store_next()

    def drain(self) -> dict[str, int]:
        while self.pending:
            self._store_next()
        return self.counts

    def abandon(self) -> None:
        """Reads that will not be stored (the sync stopped): list those models' PRs again next time."""
        if self.pending:
            cache.delete_many([_pr_keys(repo_id)[0] for repo_id, _ in self.pending])
            self.pending.clear()

    def _store_next(self) -> None:
        reads = []
        for _ in range(min(WRITE_CHUNK, len(self.pending))):
            item = self.pending.popleft()[1].result()
            self.counts["checked"] += item.heads is not None
            if item.error is not None:
                _community_failed(item.repo_id, item.error)
            elif item.facts is not None:
                self.counts["read"] += 1
                reads.append(item)
        # A model inserted by this sync with no open PRs has no scores to store or replace: only its PR heads.
        empty = [r for r in reads if not r.facts and r.pk in self.fresh]
        if empty:
            cache.set_many({_pr_keys(r.repo_id)[1]: r.heads for r in empty}, timeout=None)
        self.counts["changed"] += _community_publish([r for r in reads if r.facts or r.pk not in self.fresh])


def _community_read(pk: int, repo_id: str, main: str, last_heads: Any) -> _CommunityRead:
    """List the model's open PRs and, when they moved since `last_heads`, read their files (HTTP only)."""
    heads = None
    try:
        pull_requests = hub_model_pull_requests(repo_id)
        heads = [(pr.num, pr.sha) for pr in pull_requests]
        if last_heads == heads:
            return _CommunityRead(pk, repo_id, heads)  # the same open PRs at the same commits: stored already
        return _CommunityRead(pk, repo_id, heads, hub_community_facts(pk, repo_id, pull_requests, main=main))
    except Exception as exc:  # community scores must never fail the registry's sync
        return _CommunityRead(pk, repo_id, heads, error=exc)


@dataclass(frozen=True)
class _CommunityRead:
    pk: int
    repo_id: str
    heads: list[tuple[int, str]] | None  # None: the PRs could not be listed
    facts: list[ReportedFact] | None = None  # None: unchanged since the last read (or an error)
    error: Exception | None = None


def _community_publish(reads: Sequence[_CommunityRead]) -> int:
    """Store the community scores read, a chunk per transaction; a chunk that fails goes model by model."""
    if not reads:
        return 0
    try:
        with transaction.atomic():
            changed = reported_facts_publish(COMMUNITY_ORIGIN, {r.pk: r.facts or [] for r in reads})
    except Exception as exc:  # retried one by one below, so one bad model fails alone
        _db_recover(exc)
        if len(reads) == 1:
            _community_failed(reads[0].repo_id, exc)
            return 0
        return sum(_community_publish([r]) for r in reads)
    cache.set_many({_pr_keys(r.repo_id)[1]: r.heads for r in reads}, timeout=None)
    return changed


def _community_failed(repo_id: str, exc: BaseException) -> None:
    """The model keeps its community scores and its PRs are listed again at the next sync."""
    cache.delete(_pr_keys(repo_id)[0])
    logger.warning("Hub sync: community scores of %s not read: %s", repo_id, exc)
    _db_recover(exc)


def _mark_missing(qs) -> int:
    return qs.filter(on_hub=True).update(on_hub=False, hub_missing_since=timezone.now())


# -- a whole sync ---------------------------------------------------------------------------------------
@dataclass
class _Tally:
    run: SyncRun
    seen: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(
        default_factory=lambda: {"created": 0, "updated": 0, "unchanged": 0, "failed": 0, "missing": 0}
    )
    errors: list[dict[str, Any]] = field(default_factory=list)
    aborted: bool = False
    began: datetime = field(default_factory=timezone.now)
    # downloads of new and changed models (HTTP only)
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=_concurrency(), thread_name_prefix="hub-sync")
    )
    # the next listing page, fetched apart so that it never queues behind the downloads
    reader: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-sync-list")
    )
    # community scores of the models seen, read in the same pool as the models are written
    community: _CommunityPass = field(init=False)

    def __post_init__(self) -> None:
        self.community = _CommunityPass(self.pool)

    def error(self, repo_id: str | None, exc: BaseException) -> None:
        kind = getattr(exc, "kind", type(exc).__name__)
        if repo_id is not None:
            self.counts["failed"] += 1
        if len(self.errors) < MAX_ERRORS_KEPT:
            message = str(exc).strip().splitlines()[0][:500] if str(exc).strip() else type(exc).__name__
            self.errors.append({"repo_id": repo_id, "kind": kind, "message": message})
        logger.warning("Hub sync #%s: %s %s: %s", self.run.pk, repo_id or "listing", kind, exc)
        _db_recover(exc)


def _db_recover(exc: BaseException) -> None:
    """After a database error, drop a dead connection so the next model reconnects (a restarted
    PostgreSQL must not fail every later model). Never inside a transaction the caller holds."""
    if isinstance(exc, DatabaseError) and not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


@dataclass(frozen=True)
class _Fetched:
    """What the pool downloaded for one new or changed model: everything its write needs, or the error."""

    info: HubModel
    config_file: dict[str, Any] | None = None
    eval_files: dict[str, bytes] = field(default_factory=dict)
    error: HubError | None = None


def _fetch(info: HubModel) -> _Fetched:
    """The Hub requests of one model's write (runs in the pool: HTTP only, never the database)."""
    try:
        if not info.complete:  # the list item lacked a field we need: ask for the model itself
            info = hub_model_info(info.repo_id)
            if not info.sha:
                raise HubTemporaryError("the Hub sent no commit sha for this model", kind="malformed")
        return _Fetched(info, _config_for(info), hub_eval_results_files(info))
    except HubError as exc:
        return _Fetched(info, error=exc)


class _Writer:
    """Downloads new and changed models in the pool while this thread writes the ones already fetched.

    Downloads run at most WRITE_AHEAD models ahead of the writes (memory stays bounded however long the
    listing), across page boundaries, so the pool never waits for a page's last chunk to be written.
    Writes stay in the sync's own thread and connection, chunk by chunk, in listing order.
    """

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally
        self.pending: deque[Future[_Fetched]] = deque()
        self.existing: dict[str, dict[str, Any]] = {}  # repo id -> its row, for scheduled models already stored
        self.scheduled: set[str] = set()

    def add_page(self, items: Sequence[HubModel | HubError]) -> None:
        """Skip the page's unchanged models and queue the downloads of the others (one query)."""
        tally = self.tally
        pipelines = _pipelines()
        wanted: list[HubModel] = []
        for item in items:
            if not isinstance(item, HubModel):
                tally.error(None, item)  # an item the client could not even parse: its id is unknown
                continue
            tally.seen.add(item.repo_id)
            if item.pipeline_tag and item.pipeline_tag not in pipelines:
                continue
            if item.repo_id in self.scheduled:
                continue  # listed twice (the listing moved under us): one download and one write
            wanted.append(item)
        rows = {
            row["repo_id"]: row
            for row in LanguageModel.objects.filter(repo_id__in=[m.repo_id for m in wanted]).values(
                "repo_id", "hub_sha", "on_hub"
            )
        }
        for info in wanted:
            row = rows.get(info.repo_id)
            if info.complete and row and row["hub_sha"] == info.sha and row["on_hub"]:
                tally.counts["unchanged"] += 1
                continue
            if row:
                self.existing[info.repo_id] = dict(row)
            self.scheduled.add(info.repo_id)
            if len(self.pending) >= WRITE_AHEAD:
                self._write_next()  # the downloads are far enough ahead: let the writes catch up
            self.pending.append(tally.pool.submit(_fetch, info))
        # the others' community scores are read once they are written
        tally.community.add(
            item.repo_id for item in items if isinstance(item, HubModel) and item.repo_id not in self.scheduled
        )
        while len(self.pending) >= WRITE_CHUNK and all(f.done() for f in islice(self.pending, WRITE_CHUNK)):
            self._write_next()  # chunks already downloaded are written while the next page is listed

    def drain(self) -> None:
        """Write everything queued (waits for its downloads)."""
        while self.pending:
            self._write_next()

    def _write_next(self) -> None:
        chunk = [self.pending.popleft().result() for _ in range(min(WRITE_CHUNK, len(self.pending)))]
        inserted = _write_chunk(chunk, self.existing, self.tally)
        _reported_write(chunk, inserted)
        self.tally.community.add((f.info.repo_id for f in chunk), fresh=inserted)


def _reported_write(fetched: Sequence[_Fetched], inserted: Mapping[str, tuple[int, str]]) -> None:
    """The published scores of the chunk's models that were written (one query for the pks of those the
    chunk did not insert)."""
    written = [(f.info, f.eval_files) for f in fetched if f.error is None]
    if not written:
        return
    pks = {repo_id: pk for repo_id, (pk, _) in inserted.items()}
    others = [info for info, _ in written if info.repo_id not in pks]
    if others:
        pks |= dict(
            LanguageModel.objects.filter(
                repo_id__in=[info.repo_id for info in others], hub_sha__in=[info.sha for info in others]
            ).values_list("repo_id", "pk")
        )
    hub_reported_scores_write(written, pks, fresh={pk for pk, _ in inserted.values()})


def _write_chunk(fetched: Sequence[_Fetched], existing: dict[str, Any], tally: _Tally) -> dict[str, tuple[int, str]]:
    """Write the chunk's new and changed models; returns repo id -> (pk, sha) of the rows it inserted."""
    new: list[tuple[HubModel, dict[str, Any]]] = []
    changed: list[tuple[HubModel, dict[str, Any]]] = []
    for item in fetched:
        info, config_file, error = item.info, item.config_file, item.error
        if error is not None or config_file is None:
            tally.error(info.repo_id, error or HubTemporaryError("no config"))
        elif info.repo_id in existing:
            changed.append((info, config_file))
        else:
            new.append((info, config_file))
    inserted: dict[str, tuple[int, str]] = {}
    if new:
        try:
            created, inserted, leftovers = _bulk_create(new)
            tally.counts["created"] += created
            changed.extend(leftovers)
        except Exception as exc:  # one bad row must not sink the chunk: go one by one
            logger.warning("Hub sync: bulk insert failed (%s); writing the chunk's new models one by one", exc)
            _db_recover(exc)
            changed.extend(new)
    updatable = [(info, config_file) for info, config_file in changed if info.repo_id in existing]
    single = [(info, config_file) for info, config_file in changed if info.repo_id not in existing]
    if updatable:
        try:
            counts, leftovers = _bulk_update(updatable)
            for name, value in counts.items():
                tally.counts[name] += value
            single.extend(leftovers)
        except Exception as exc:  # one bad row must not sink the chunk: go one by one
            logger.warning("Hub sync: bulk update failed (%s); writing the chunk's changed models one by one", exc)
            _db_recover(exc)
            single.extend(updatable)
    for info, config_file in single:
        try:
            _, outcome = hub_model_upsert(info, config_file=config_file, relink=False)
            tally.counts[outcome] += 1
        except Exception as exc:  # record and go on with the next model
            tally.error(info.repo_id, exc)
    return inserted


# What a sync writes on an existing row (see _apply_facts), for the bulk update.
UPDATE_FIELDS = (
    "name",
    "organization",
    "weights",
    "gated",
    "parameters",
    "parameters_source",
    "active_parameters",
    "architecture",
    "model_type",
    "context_length",
    "license",
    "license_name",
    "base_model",
    "base_model_ref",
    "base_relation",
    "modality",
    "pipeline_tag",
    "library_name",
    "tags",
    "hub_sha",
    "downloads",
    "likes",
    "hub_created_at",
    "hub_last_modified",
    "on_hub",
    "hub_missing_since",
    "synced_at",
    "release_date",
    "release_date_precision",
    "sources",
    "updated_at",
)


def _bulk_update(changed: Sequence[tuple[HubModel, dict[str, Any]]]) -> tuple[dict[str, int], list]:
    """Update rows whose sha changed in a few queries, holding their row locks; returns (counts, leftovers).

    Catalog rows (refined with care, languages merged) and rows that vanished meanwhile are left to the
    single-row path (leftovers). A row another sync already brought to this sha counts as unchanged.
    """
    facts = {info.repo_id: (info, hub_model_facts(info, config_file), config_file) for info, config_file in changed}
    counts = {"updated": 0, "unchanged": 0}
    leftovers: list[tuple[HubModel, dict[str, Any]]] = []
    now = timezone.now()
    with transaction.atomic():
        rows = {m.repo_id: m for m in LanguageModel.objects.select_for_update().filter(repo_id__in=list(facts))}
        work: list[tuple[LanguageModel, ModelFacts]] = []
        for repo_id, (info, f, config_file) in facts.items():
            row = rows.get(repo_id)
            if row is None or row.in_catalog:
                leftovers.append((info, config_file))
            elif info.sha and row.hub_sha == info.sha and row.on_hub:
                counts["unchanged"] += 1
            else:
                work.append((row, f))
        if not work:
            return counts, leftovers
        organizations = _organizations(f.author for _, f in work)
        licenses = _licenses(f.license_key for _, f in work if f.license_key)
        _languages(code for _, f in work for code in f.languages)
        base_ids = _base_ids({f.base_ref for _, f in work if f.base_ref})
        _revisions_moved([row.repo_id for row, f in work if row.hub_sha and row.hub_sha != f.sha])
        for row, f in work:
            _apply_facts(row, f, organization=organizations[f.author], now=now)
            row.license = licenses.get(f.license_key) if f.license_key else None
            row.base_model_id = base_ids.get(f.base_ref.lower()) if f.base_ref else None
            row.updated_at = now  # bulk_update does not touch auto_now fields
        LanguageModel.objects.bulk_update([row for row, _ in work], UPDATE_FIELDS, batch_size=250)
        through = LanguageModel.languages.through
        through.objects.filter(languagemodel_id__in=[row.pk for row, _ in work]).delete()
        through.objects.bulk_create(
            [through(languagemodel_id=row.pk, language_id=code) for row, f in work for code in f.languages],
            ignore_conflicts=True,
        )
        models_bulk_changed.send(sender=LanguageModel, model_ids=[row.pk for row, _ in work])
        counts["updated"] = len(work)
    return counts, leftovers


def _base_ids(refs: set[str]) -> dict[str, int]:
    """lower-cased repo id -> pk for the given base model ids that are in the registry (one query)."""
    if not refs:
        return {}
    lowered = LanguageModel.objects.annotate(lower_id=Lower("repo_id"))
    return {
        r.lower(): pk
        for pk, r in lowered.filter(lower_id__in={ref.lower() for ref in refs}).values_list("pk", "repo_id")
    }


def _bulk_create(
    new: Sequence[tuple[HubModel, dict[str, Any]]],
) -> tuple[int, dict[str, tuple[int, str]], list[tuple[HubModel, dict]]]:
    """Insert models absent from the registry in a few queries.

    Returns (created, the rows this call inserted as repo id -> (pk, sha), rows to upsert singly). Rows
    another sync inserted meanwhile are skipped by ON CONFLICT DO NOTHING; those it inserted with a
    different sha (or catalog rows) come back as leftovers for the row-locked single path.
    """
    facts = [(info, hub_model_facts(info, config_file), config_file) for info, config_file in new]
    now = timezone.now()
    with transaction.atomic():
        organizations = _organizations(f.author for _, f, _ in facts)
        licenses = _licenses(f.license_key for _, f, _ in facts if f.license_key)
        _languages(code for _, f, _ in facts for code in f.languages)
        base_ids = _base_ids({f.base_ref for _, f, _ in facts if f.base_ref})
        rows = []
        for _, f, _ in facts:
            row = _hub_values(f, None, now=now)
            row["repo_id"] = f.repo_id
            row["organization_id"] = organizations[f.author].pk
            license = licenses.get(f.license_key) if f.license_key else None
            row["license_id"] = license.pk if license is not None else None
            row["base_model_id"] = base_ids.get(f.base_ref.lower()) if f.base_ref else None
            rows.append(row)
        ids, inserted = _insert_new(rows, now=now)
        links = []
        leftovers = []
        created = 0
        for info, f, config_file in facts:
            pk, sha = ids.get(f.repo_id, (None, None))
            if pk is None or sha != f.sha:
                leftovers.append((info, config_file))
                continue
            created += 1
            links += [{"languagemodel_id": pk, "language_id": code} for code in f.languages]
        through = LanguageModel.languages.through
        if connection.vendor == "postgresql":
            insert_json(through._meta.db_table, ["languagemodel_id", "language_id"], links)
        else:
            through.objects.bulk_create([through(**link) for link in links], ignore_conflicts=True, batch_size=2000)
    return created, {repo_id: ids[repo_id] for repo_id in inserted}, leftovers


def _insert_new(rows: Sequence[dict[str, Any]], *, now) -> tuple[dict[str, tuple[int, str]], set[str]]:
    """Insert these new rows (attribute name -> value) unless their repo id is taken (ON CONFLICT DO NOTHING).

    Returns (repo id -> (pk, hub sha) of every row holding one of their repo ids, the repo ids this call
    inserted: empty where the database does not say). On PostgreSQL one INSERT ... SELECT from a JSON array
    (the ORM's per-value work in bulk_create was most of a first sync's writing time); elsewhere bulk_create.
    """
    if not rows:
        return {}, set()
    if connection.vendor != "postgresql":
        LanguageModel.objects.bulk_create([LanguageModel(**row) for row in rows], ignore_conflicts=True, batch_size=500)
        ids: dict[str, tuple[int, str]] = {}
        taken = [row["repo_id"] for row in rows]
    else:
        fields = [f for f in LanguageModel._meta.concrete_fields if not f.primary_key]
        defaults = {f.attname: f.get_default() for f in fields} | {"created_at": now, "updated_at": now}
        names = [(f.attname, f.column or f.attname) for f in fields]
        payload = [{column: row.get(name, defaults[name]) for name, column in names} for row in rows]
        inserted = insert_json(
            LanguageModel._meta.db_table, [column for _, column in names], payload, returning=("id", "repo_id")
        )
        sha_of = {row["repo_id"]: row["hub_sha"] for row in rows}
        ids = {repo_id: (pk, sha_of[repo_id]) for pk, repo_id in inserted}
        taken = [row["repo_id"] for row in rows if row["repo_id"] not in ids]
    fresh = set(ids)
    if taken:
        ids |= {
            repo_id: (pk, sha)
            for pk, repo_id, sha in LanguageModel.objects.filter(repo_id__in=taken).values_list(
                "pk", "repo_id", "hub_sha"
            )
        }
    return ids, fresh


def _relink_all() -> int:
    """Every model whose declared base is now in the registry points at it; returns how many were linked.

    Two reads and one bulk UPDATE: the unlinked derivatives, then their bases by lower-cased id (a
    correlated case-insensitive subquery per row was quadratic: 34 s for 1,000 derivatives of 10,000).
    """
    pending = list(
        LanguageModel.objects.filter(base_model__isnull=True).exclude(base_model_ref="").only("pk", "base_model_ref")
    )
    if not pending:
        return 0
    refs = {model.base_model_ref.lower() for model in pending}
    bases: dict[str, int] = {}
    for start in range(0, len(refs), 5000):
        chunk = sorted(refs)[start : start + 5000]
        bases.update(
            LanguageModel.objects.annotate(lower_id=Lower("repo_id"))
            .filter(lower_id__in=chunk)
            .values_list("lower_id", "pk")
        )
    links = [
        (model.pk, bases[model.base_model_ref.lower()], model.base_model_ref.lower())
        for model in pending
        if bases.get(model.base_model_ref.lower()) not in (None, model.pk)
    ]
    if connection.vendor != "postgresql":  # the embedded SQLite default: one guarded UPDATE per base
        linked = 0
        for pk, base_id, ref in links:
            linked += LanguageModel.objects.filter(pk=pk, base_model__isnull=True, base_model_ref__iexact=ref).update(
                base_model_id=base_id
            )
        return linked
    table = LanguageModel._meta.db_table
    linked = 0
    for start in range(0, len(links), 1000):
        batch = links[start : start + 1000]
        # Guarded by the row's current state, so a row another sync changed meanwhile is left alone.
        values = ", ".join(["(%s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS m SET base_model_id = v.base_id "  # table name from the model
                f"FROM (VALUES {values}) AS v(id, base_id, ref) "
                "WHERE m.id = v.id AND m.base_model_id IS NULL AND lower(m.base_model_ref) = v.ref",
                [item for link in batch for item in link],
            )
            linked += cursor.rowcount
    return linked


def sync_hub(
    *,
    authors: Sequence[str] = (),
    search: str | None = None,
    models: Sequence[str] = (),
    limit: int | None = None,
    trigger: str = "command",
    user=None,
    sync_run: SyncRun | None = None,
) -> SyncRun:
    """Sync a scope of the Hub into the registry and return its finished SyncRun.

    Scope: each author's models (`limit` per author), or models matching `search` (`limit` in all),
    plus the exact `models` ids. Only pipelines in settings.HUB_SYNC_PIPELINES are listed. Models that
    vanished from a fully listed author (no search, no limit cut) are marked gone. The run ends
    "succeeded", "partial" (some models failed; SyncRun.errors says which and why) or "failed" (a
    listing could not be read: the registry keeps its last good data). Never raises for Hub errors.
    """
    scope = {"authors": list(authors), "search": search or "", "models": list(models), "limit": limit}
    if sync_run is None:
        sync_run = SyncRun.objects.create(trigger=trigger, scope=scope, requested_by=user)
    else:
        sync_run.scope = scope
        sync_run.status = SyncRun.Status.RUNNING
        sync_run.save(update_fields=["scope", "status"])
    tally = _Tally(sync_run)
    _runs_lost_reap()
    try:
        listings: list[str | None] = list(authors) or ([None] if search or not models else [])
        for author in listings:
            _sync_listing(tally, author=author, search=search, limit=limit)
        for repo_id in models:
            tally.seen.add(repo_id)
            try:
                _, outcome = hub_model_sync(repo_id=repo_id)
                tally.counts[outcome] += 1
            except HubPermanentError as exc:
                tally.error(repo_id, exc)
                if exc.kind == "not_found":
                    tally.counts["missing"] += LanguageModel.objects.filter(
                        repo_id__iexact=repo_id, on_hub=False, hub_missing_since__isnull=False
                    ).count()
            except Exception as exc:  # recorded; the next model still syncs
                tally.error(repo_id, exc)
        tally.community.add(models)
        _relink_all()
        tally.community.drain()
    except BaseException as exc:  # a bug or a worker time limit: the run must not stay "running"
        tally.community.abandon()
        tally.aborted = True
        tally.error(None, exc)
        _finish(tally)
        raise
    return _finish(tally)


def _sync_listing(tally: _Tally, *, author: str | None, search: str | None, limit: int | None) -> None:
    remaining = limit
    complete = True
    listed: set[str] = set()
    writer = _Writer(tally)
    for pipeline in _pipelines():
        if remaining is not None and remaining <= 0:
            complete = False
            break
        listing = hub_list_pages(author=author, search=search, limit=remaining, pipeline_tag=pipeline)
        try:
            for page in _read_ahead(listing.pages, tally.reader):
                writer.add_page(page)
                listed.update(item.repo_id for item in page if isinstance(item, HubModel))
                if remaining is not None:
                    remaining -= len(page)
        except HubError as exc:
            writer.drain()  # the pages read before the failure are written, as they would be one by one
            tally.aborted = True
            tally.error(None, exc)
            return  # an unread listing proves nothing about missing models
        complete = complete and listing.exhausted
    writer.drain()  # every listed model is written before the missing ones are marked
    if author and not search and complete:
        gone = LanguageModel.objects.filter(
            repo_id__istartswith=f"{author}/", on_hub=True, pipeline_tag__in=_pipelines()
        ).exclude(hub_sha="")
        # Rows another sync wrote after this one began may be models this listing was too early to see.
        gone = gone.exclude(repo_id__in=listed).filter(Q(synced_at__isnull=True) | Q(synced_at__lt=tally.began))
        tally.counts["missing"] += _mark_missing(gone)


def _read_ahead(pages: Iterator[list[T]], pool: ThreadPoolExecutor) -> Iterator[list[T]]:
    """Yield pages while the next one is already being fetched (HTTP only) in `pool`."""
    upcoming = pool.submit(next, pages, None)
    while True:
        page = upcoming.result()  # re-raises the listing's HubError here, in the sync's thread
        if page is None:
            return
        upcoming = pool.submit(next, pages, None)
        yield page


def _finish(tally: _Tally) -> SyncRun:
    tally.reader.shutdown(wait=True, cancel_futures=True)
    tally.pool.shutdown(wait=True, cancel_futures=True)
    run = tally.run
    run.seen = len(tally.seen)
    for name, value in tally.counts.items():
        setattr(run, name, value)
    run.errors = tally.errors
    if tally.aborted:
        run.status = SyncRun.Status.FAILED
    elif tally.counts["failed"] or tally.errors:
        run.status = SyncRun.Status.PARTIAL
    else:
        run.status = SyncRun.Status.SUCCEEDED
    run.finished_at = timezone.now()
    try:
        run.save()
    except DatabaseError as exc:  # the connection died at the very end: reconnect once, or the run stays "running"
        _db_recover(exc)
        run.save()
    return run


def _runs_lost_reap() -> int:
    """Mark as failed the runs still "running" long after any worker would have killed them."""
    cutoff = timezone.now() - timedelta(seconds=settings.SYNC_SOFT_TIME_LIMIT + 600)
    return SyncRun.objects.filter(status=SyncRun.Status.RUNNING, started_at__lt=cutoff).update(
        status=SyncRun.Status.FAILED,
        finished_at=timezone.now(),
        errors=[{"repo_id": None, "kind": "lost", "message": "the sync never finished (worker lost or stopped)"}],
    )


def sync_default_scope() -> tuple[list[str], int | None]:
    """(authors, limit) of a sync with no scope given (beat, a bare `sync_hub`).

    The authors in settings.HUB_SYNC_AUTHORS (LADDER_SYNC_AUTHORS), else the Hub authors of the open
    models already in the registry; each limited to settings.HUB_SYNC_LIMIT (LADDER_SYNC_LIMIT).
    """
    from registry.selectors.syncs import hub_authors_in_registry

    authors = list(settings.HUB_SYNC_AUTHORS) or hub_authors_in_registry()
    return authors, settings.HUB_SYNC_LIMIT or None


def sync_run_request(
    *,
    user=None,
    trigger: str = SyncRun.Trigger.ADMIN,
    authors: Sequence[str] = (),
    search: str | None = None,
    models: Sequence[str] = (),
    limit: int | None = None,
) -> SyncRun:
    """Record a sync asked for from the admin or the API and queue it for a worker.

    Returns the SyncRun (status running until the worker finishes it). If the broker cannot take the
    task, the run is marked failed with the reason instead of staying "running".
    """
    scope = {"authors": list(authors), "search": search or "", "models": list(models), "limit": limit}
    run = SyncRun.objects.create(trigger=trigger, scope=scope, requested_by=user)

    def enqueue() -> None:
        from registry.tasks import hub_sync_task

        try:
            hub_sync_task.delay(
                trigger=trigger,
                authors=list(authors),
                search=search,
                models=list(models),
                limit=limit,
                sync_run_id=run.pk,
            )
        except Exception as exc:  # the broker is down: say so on the run
            SyncRun.objects.filter(pk=run.pk).update(
                status=SyncRun.Status.FAILED,
                finished_at=timezone.now(),
                errors=[{"repo_id": None, "kind": "broker", "message": f"could not queue the sync: {exc}"[:500]}],
            )

    transaction.on_commit(enqueue)
    return run
