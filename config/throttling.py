"""Who a request comes from, for every limit that counts per client: API throttles and the login limiter.

The client address is the socket address unless the deployment says how many proxies in front of the
service it trusts (LADDER_TRUSTED_PROXIES, REST_FRAMEWORK["NUM_PROXIES"]). Each trusted proxy appends
the address it received the request from to X-Forwarded-For, so with N trusted proxies the client is
the N-th entry from the right; everything left of it was written by the client and proves nothing.
Without trusted proxies the header is ignored: DRF's default (NUM_PROXIES unset) used the whole header
as the identity, so a client could pick a fresh bucket with every request.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import throttling


def client_address(request: Any) -> str:
    """The client's address as far as the trusted proxies can vouch for it (a Django or DRF request)."""
    meta = request.META
    remote = meta.get("REMOTE_ADDR") or ""
    proxies = int(getattr(settings, "TRUSTED_PROXIES", 0) or 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if proxies <= 0 or not forwarded:
        return remote
    hops = [part.strip() for part in forwarded.split(",") if part.strip()]
    if not hops:
        return remote
    return hops[-min(proxies, len(hops))]


class _ClientAddressMixin:
    def get_ident(self, request: Any) -> str:
        return client_address(request)


class AnonRateThrottle(_ClientAddressMixin, throttling.AnonRateThrottle):
    """Anonymous API clients per address (LADDER_ANON_RATE)."""


class ScopedRateThrottle(_ClientAddressMixin, throttling.ScopedRateThrottle):
    """A view's `throttle_scope`: per user when signed in, else per address."""


class UserRateThrottle(_ClientAddressMixin, throttling.UserRateThrottle):
    """Per user when signed in, else per address."""
