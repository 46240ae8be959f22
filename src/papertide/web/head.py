"""HEAD on every GET route: the same status and headers as GET, without the body.

FastAPI registers only the methods a route names, so ``HEAD /`` answered 405 and monitors
and link checkers that probe with HEAD saw the site as broken (issue 9). Rather than naming
HEAD on each route (and forgetting it on the next one), this middleware answers a HEAD by
running the GET and dropping the body; a path with no GET still answers 405.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class HeadAsGetMiddleware:
    """Runs a HEAD request as a GET and sends the response's status and headers only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        finished = False

        async def send_headers_only(message: Message) -> None:
            nonlocal finished
            if message["type"] == "http.response.body":
                if finished:
                    return
                finished = not message.get("more_body", False)
                await send({"type": "http.response.body", "body": b"", "more_body": not finished})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, send_headers_only)
