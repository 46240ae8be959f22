"""Which ``X-Forwarded-*`` headers the app believes: only those a configured proxy sent (issue 14).

Behind a reverse proxy every request comes from the proxy's address, over plain http; the proxy
says who the client was (``X-Forwarded-For``) and whether it spoke https (``X-Forwarded-Proto``).
Anyone can send those headers, so they count only when the connection itself comes from an
address in ``forwarded_allow_ips``: otherwise a client could pick its own address to escape the
per-client rate limits, or claim https. The check lives in the app, not in uvicorn's options,
so that every way of serving it (one process, ``--workers``, tests) trusts the same proxies;
`papertide serve` switches uvicorn's own header handling off (it trusts loopback by default).

``X-Forwarded-Host`` is never read: absolute links come from ``base_url`` alone.
"""

from __future__ import annotations

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from papertide.config import Settings, proxy_entries


def install_forwarded(app: FastAPI, settings: Settings) -> None:
    """Rewrite client address and scheme from a trusted proxy's headers; add last, so it runs first."""
    trusted = proxy_entries(settings.forwarded_allow_ips)
    if trusted:
        # uvicorn's middleware takes the right-most address in X-Forwarded-For that is not itself
        # a trusted proxy: a client cannot push its own forged entry past the proxy's.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=trusted)
