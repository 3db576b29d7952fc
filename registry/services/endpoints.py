"""The rules for closed-model endpoints: an OpenAI-compatible base URL and the NAME of the key variable.

One home for them: the admin form, the catalog import and the openai backend call these, so what staff
can save is what a worker may reach. Two moments:

- Save time (`endpoint_validate`): the URL's shape (http(s), a host, no credentials, no query or
  fragment); https whenever a key is sent (http only with `ENDPOINT_ALLOW_HTTP`, for a local server);
  the key variable within `ENDPOINT_KEY_PREFIX` (default `LADDER_KEY_`), so the workers' other secrets
  (SECRET_KEY, DATABASE_URL, HF_TOKEN) can never be named and sent as a Bearer token; and a host that
  is not plainly internal: a literal private/loopback/link-local address (in any spelling the resolver
  accepts, `2130706433` included), `localhost`, or a single-label name such as `redis` (unless
  `ENDPOINT_ALLOW_PRIVATE`). There is no DNS lookup at save time: the catalog loads offline, and DNS
  can change after saving anyway.
- Connect time (`endpoint_host_addresses`, `endpoint_target_check`): the host is resolved and every
  address must be public (unless `ENDPOINT_ALLOW_PRIVATE`). Refused: loopback, private, link-local
  (169.254.169.254, the cloud metadata service), shared (100.64/10), multicast, reserved and
  unspecified addresses, IPv4 and IPv6, and IPv4 addresses embedded in IPv6 (mapped, 6to4, Teredo,
  NAT64). The openai backend connects to exactly the addresses returned here (see
  evals/backends/openai.py), so a name cannot resolve to a public address for the check and to an
  internal one for the connection.

Messages never name the URL, the host or an address: they can become a run's public error.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.utils.translation import gettext as _

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_LEGACY_IPV4_RE = re.compile(r"[0-9a-fA-FxX.]+")  # 127.1, 0x7f.0.0.1, 2130706433: inet_aton's spellings
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True)
class EndpointPolicy:
    """What the deployment allows; `endpoint_policy()` reads it from the settings."""

    key_prefix: str = "LADDER_KEY_"
    allow_http: bool = False
    allow_private: bool = False


class EndpointInvalid(ValueError):
    """An endpoint that must not be saved or reached; `field` is "base_url" or "key_env"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def endpoint_policy() -> EndpointPolicy:
    """The policy in force (LADDER_ENDPOINT_KEY_PREFIX, LADDER_ENDPOINT_ALLOW_HTTP, LADDER_ENDPOINT_ALLOW_PRIVATE)."""
    return EndpointPolicy(
        key_prefix=settings.ENDPOINT_KEY_PREFIX,
        allow_http=settings.ENDPOINT_ALLOW_HTTP,
        allow_private=settings.ENDPOINT_ALLOW_PRIVATE,
    )


def endpoint_key_env_check(name: str, policy: EndpointPolicy | None = None) -> str:
    """The key variable's name, stripped ("" for none); raises EndpointInvalid("key_env", ...)."""
    policy = policy or endpoint_policy()
    name = (name or "").strip()
    if not name:
        return ""
    if name.lower().startswith(("sk-", "sk_")) or len(name) > 64:
        raise EndpointInvalid("key_env", _("This looks like a key, not a variable name. Never store keys here."))
    if not (name.isascii() and _NAME_RE.fullmatch(name)):
        raise EndpointInvalid(
            "key_env",
            _("Give the NAME of an environment variable (letters, digits, underscores), e.g. %(example)s.")
            % {"example": f"{policy.key_prefix}OPENAI"},
        )
    if not name.startswith(policy.key_prefix) or name == policy.key_prefix:
        raise EndpointInvalid(
            "key_env",
            _(
                "Key variables must start with %(prefix)s (e.g. %(example)s): the evaluation workers hold "
                "other secrets that must never be sent to an endpoint."
            )
            % {"prefix": policy.key_prefix, "example": f"{policy.key_prefix}OPENAI"},
        )
    return name


def endpoint_url_check(url: str, policy: EndpointPolicy | None = None, *, key_sent: bool = False) -> str:
    """The base URL without its trailing slash ("" for none); raises EndpointInvalid("base_url", ...)."""
    policy = policy or endpoint_policy()
    url = (url or "").strip()
    if not url:
        return ""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - a port that is not a number raises ValueError here
    except ValueError as exc:
        raise EndpointInvalid("base_url", _("This is not a valid URL.")) from exc
    if parts.scheme not in ("http", "https"):
        raise EndpointInvalid("base_url", _("Use an http:// or https:// URL."))
    if not parts.hostname:
        raise EndpointInvalid("base_url", _("The URL needs a host name."))
    if parts.username or parts.password or "@" in parts.netloc:
        raise EndpointInvalid(
            "base_url",
            _("Do not put credentials in the URL: name the environment variable holding the key instead."),
        )
    if parts.query or parts.fragment:
        raise EndpointInvalid("base_url", _("Leave out query strings and fragments (keys must not travel in the URL)."))
    if parts.scheme == "http" and key_sent and not policy.allow_http:
        raise EndpointInvalid(
            "base_url",
            _(
                "Use https:// when a key is sent (http:// would send it in clear text); a local server over "
                "http needs LADDER_ENDPOINT_ALLOW_HTTP."
            ),
        )
    if not policy.allow_private and _host_is_internal(parts.hostname):
        raise EndpointInvalid("base_url", _private_message())
    return url.rstrip("/")


def endpoint_validate(base_url: str, key_env: str, policy: EndpointPolicy | None = None) -> tuple[str, str]:
    """Save-time check of an endpoint: the cleaned (base_url, key_env); raises EndpointInvalid.

    Used by the admin form, the catalog import and, once more, by the openai backend before a run.
    """
    policy = policy or endpoint_policy()
    key_env = endpoint_key_env_check(key_env, policy)
    base_url = endpoint_url_check(base_url, policy, key_sent=bool(key_env))
    return base_url, key_env


def endpoint_address_public(address: str | IPAddress) -> bool:
    """Whether an address may be reached without ENDPOINT_ALLOW_PRIVATE (IPv4 inside IPv6 included)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0] if isinstance(address, str) else address)
    candidates: list[IPAddress] = [ip]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d is a.b.c.d, whatever ipaddress thinks of ::ffff:0:0/96
            candidates = [ip.ipv4_mapped]
        elif ip in _NAT64:  # DNS64 networks spell every public IPv4 host this way
            candidates = [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
        if ip.sixtofour is not None:
            candidates.append(ip.sixtofour)
        if ip.teredo:
            candidates += list(ip.teredo)
    return all(
        c.is_global and not (c.is_multicast or c.is_reserved or c.is_unspecified or c.is_link_local) for c in candidates
    )


def endpoint_host_addresses(host: str, port: int, policy: EndpointPolicy | None = None) -> list[str]:
    """Connect-time check: the host's addresses, each one allowed; the caller connects to these only.

    Raises EndpointInvalid("base_url", ...) when any address is internal (a name that resolves to a
    public and an internal address is refused whole), and OSError (socket.gaierror) when the name does
    not resolve at all: that is a connection failure, worth a retry.
    """
    policy = policy or endpoint_policy()
    infos = socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    if not policy.allow_private and not all(endpoint_address_public(a) for a in addresses):
        raise EndpointInvalid("base_url", _private_message())
    return addresses


def endpoint_target_check(url: str, policy: EndpointPolicy | None = None) -> list[str]:
    """Connect-time check of a whole URL: its host's allowed addresses (see endpoint_host_addresses)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise EndpointInvalid("base_url", _("The URL needs a host name."))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return endpoint_host_addresses(parts.hostname, port, policy)


def _literal_address(host: str) -> IPAddress | None:
    """The address a host spells directly, in any form the system resolver would accept."""
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    if _LEGACY_IPV4_RE.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _host_is_internal(host: str) -> bool:
    host = host.lower().rstrip(".")
    literal = _literal_address(host)
    if literal is not None:
        return not endpoint_address_public(literal)
    # localhost names resolve to loopback; a single-label name (redis, postgres, vm) is a local service.
    return host == "localhost" or host.endswith(".localhost") or "." not in host


def _private_message() -> str:
    return _(
        "The endpoint's host is a loopback, private, link-local or otherwise internal address; set "
        "LADDER_ENDPOINT_ALLOW_PRIVATE to reach a server inside your network."
    )
