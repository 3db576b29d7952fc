"""The sign-in limiter's answer once an account or an address is locked out (django-axes calls it).

Settings: AXES_* in config/settings/base.py (LADDER_LOGIN_FAILURE_LIMIT, LADDER_LOGIN_COOLOFF_MINUTES).
The page says how long to wait and nothing about whether the username exists.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """429 with the lockout page: the failure limit and the minutes to wait."""
    minutes = max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))
    context = {"failure_limit": settings.AXES_FAILURE_LIMIT, "minutes": minutes}
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response
