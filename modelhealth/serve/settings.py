"""What the desk is started with: where the register and the state are, how it is reached,
whom it trusts, and its clock.

Everything here is parsed and checked once, when ``modelhealth serve`` starts; a bad
value is a clear error (exit 2), never a surprise at the first request.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Final
from urllib.parse import urlsplit

__all__ = [
    "MIN_SECRET_BYTES",
    "SECRET_ENV",
    "Clock",
    "DeskSettings",
    "ProxyNetwork",
    "parse_proxies",
    "public_base",
    "running_clock",
    "session_secret",
    "utc_now",
]

Clock = Callable[[], datetime]
ProxyNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: The environment variable that may hold the key that signs session cookies.
SECRET_ENV: Final = "MODELHEALTH_DESK_SECRET"
#: A session key shorter than this is refused.
MIN_SECRET_BYTES: Final = 32


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(timezone.utc)


def running_clock(start: datetime) -> Clock:
    """A clock that reads ``start`` now and runs forward in real time from there (for
    demos and tests on stored timelines: SLA countdowns still move)."""
    origin = time.monotonic()
    begin = start if start.tzinfo else start.replace(tzinfo=timezone.utc)

    def now() -> datetime:
        return begin + timedelta(seconds=time.monotonic() - origin)

    return now


def parse_proxies(values: Iterable[str]) -> tuple[ProxyNetwork, ...]:
    """``127.0.0.1``, ``10.0.0.0/8``, ``::1`` … as networks.

    Raises
    ------
    ValueError
        Naming the value that is not an address or network.
    """
    out: list[ProxyNetwork] = []
    for value in values:
        try:
            out.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError as exc:
            raise ValueError(f"--trusted-proxy {value!r} is not an IP address or network") from exc
    return tuple(out)


def public_base(url: str | None) -> str | None:
    """``url`` without a trailing slash, checked to be an absolute http(s) URL.

    Raises
    ------
    ValueError
        When it is not.
    """
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ValueError(
            f"--public-url must be an absolute http(s) URL without a query, not {url!r}"
        )
    return url.rstrip("/")


def session_secret(path: Path | None, environ: dict[str, str] | None = None) -> tuple[bytes, str]:
    """The key that signs session cookies and where it came from: a file, the
    environment variable :data:`SECRET_ENV`, or (neither given) random for this process
    only, so sessions end when the desk restarts.

    Raises
    ------
    ValueError
        When the file cannot be read or the key is shorter than :data:`MIN_SECRET_BYTES`.
    """
    env = os.environ if environ is None else environ
    if path is not None:
        try:
            value = path.expanduser().read_bytes().strip()
        except OSError as exc:
            raise ValueError(f"cannot read the session key file {path}: {exc.strerror}") from exc
        where = str(path)
    elif env.get(SECRET_ENV):
        value, where = env[SECRET_ENV].strip().encode("utf-8"), f"${SECRET_ENV}"
    else:
        return secrets.token_bytes(32), "random for this process (sessions end at restart)"
    if len(value) < MIN_SECRET_BYTES:
        raise ValueError(
            f"the session key in {where} is {len(value)} bytes; it needs at least "
            f"{MIN_SECRET_BYTES} (e.g. `openssl rand -hex 32`)"
        )
    return value, where


@dataclass(frozen=True)
class DeskSettings:
    """How one desk runs.

    Attributes
    ----------
    register_path, state_url
        The register file and the state store (the same URL the nightly check writes).
    public_url
        The desk's address as people reach it (``https://ops.example.com/modelhealth``);
        links in notifications point there, cookies are ``Secure`` when it is https, and
        its path is the prefix the desk is served under behind a proxy.
    trusted_proxies
        Addresses whose ``X-Forwarded-For`` (and SSO header) are believed.
    sso_header
        The header an authenticating proxy sets to the person's name
        (``X-Forwarded-User``); off when ``None``.
    session_hours
        How long a page session lasts (never longer than the token it came from).
    tick_seconds
        How often the SLA clocks run (0: never, e.g. when ``ladder tick`` runs from cron).
    notify_url
        The webhook the outbox is delivered to after each tick (none: nothing is sent).
    """

    register_path: Path
    state_url: str
    secret: bytes = field(repr=False)
    public_url: str | None = None
    trusted_proxies: tuple[ProxyNetwork, ...] = ()
    sso_header: str | None = None
    session_hours: float = 12.0
    tick_seconds: float = 60.0
    notify_url: str | None = field(default=None, repr=False)
    clock: Clock = utc_now

    @property
    def secure_cookies(self) -> bool:
        """Whether cookies carry ``Secure`` (the public URL is https)."""
        return bool(self.public_url and self.public_url.startswith("https://"))

    @property
    def root_path(self) -> str:
        """The path prefix of the public URL (``""`` at the root)."""
        return urlsplit(self.public_url).path.rstrip("/") if self.public_url else ""

    def trusts(self, address: str | None) -> bool:
        """Whether ``address`` is one of the trusted proxies."""
        if not address or not self.trusted_proxies:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.trusted_proxies)
