"""Errors a client sees: JSON under /api/ (never an HTML page, never a traceback), pages elsewhere."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", ["/api/v1/evaluations/not-a-number/", "/api/v1/nothing-here/", "/api/v2/models/"])
def test_an_unknown_api_url_answers_a_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_found"


def test_an_unknown_page_answers_an_html_404(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_api_server_error_answers_json_without_details(client, settings):
    from config.views import server_error

    request = client.get("/healthz").wsgi_request
    request.path_info = "/api/v1/models/"
    response = server_error(request)
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json"
    assert b"Traceback" not in response.content
