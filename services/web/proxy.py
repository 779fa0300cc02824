"""What the website believes about a request that may have come through our proxies.

The client address and the scheme both come from headers anyone can write, so they are read
only when the peer is one of ``ACOUSTID_TRUSTED_PROXIES`` (``libs.common.client_address``):
sign-in attempts are counted against the real client, and the session cookie is marked
``Secure`` when the visitor's connection to the proxy was https.
"""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import Headers
from starlette.types import Scope

from libs.common.client_address import ClientAddress


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


def client_ip(request: Request) -> str:
    addresses: ClientAddress = request.app.state.client_address
    forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
    return addresses.of(_peer(request.scope), forwarded)


def is_https(scope: Scope, addresses: ClientAddress) -> bool:
    if scope.get("scheme") == "https":
        return True
    if not addresses.is_trusted(_peer(scope)):
        return False
    proto = Headers(scope=scope).get("x-forwarded-proto", "")
    return proto.split(",")[0].strip().lower() == "https"
