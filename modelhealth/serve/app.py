"""The desk as an ASGI application, and how ``modelhealth serve`` runs it on uvicorn."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from importlib.metadata import PackageNotFoundError, version

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from modelhealth.serve import api, pages
from modelhealth.serve.desk import Desk
from modelhealth.serve.errors import install_handlers
from modelhealth.serve.identity import SessionCodec, Throttle
from modelhealth.serve.settings import DeskSettings
from modelhealth.serve.ticker import SlaTicker
from modelhealth.serve.views import WaitingCache
from thresholds.schema import Register

__all__ = ["create_app", "run"]

log = logging.getLogger("modelhealth.serve")


def _version() -> str:
    try:
        return version("modelhealth")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        return "0"


def create_app(settings: DeskSettings, register: Register) -> FastAPI:
    """The desk over ``settings.state_url``, enforcing the people pinned there.

    The SLA loop (:class:`~modelhealth.serve.ticker.SlaTicker`) runs while the app is
    served, every ``settings.tick_seconds`` (0: never).
    """
    desk = Desk(settings, register)
    ticker = SlaTicker(desk, settings.tick_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(ticker.loop()) if settings.tick_seconds > 0 else None
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            desk.close()

    app = FastAPI(
        title="modelhealth escalation desk",
        summary="See, decide and acknowledge escalation-ladder steps.",
        description="Authenticate with `Authorization: Bearer <token>` "
        "(`modelhealth people token create`). Refusals carry the ladder's reason.",
        version=_version(),
        docs_url=None,  # Swagger UI loads scripts from a CDN: /openapi.json is the document
        redoc_url=None,
        root_path=settings.root_path,
        lifespan=lifespan,
    )
    app.state.desk = desk
    app.state.ticker = ticker
    app.state.sessions = SessionCodec(settings.secret)
    app.state.throttle = Throttle()
    app.state.waiting = WaitingCache()
    install_handlers(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("modelhealth.serve", "static")]), name="static")
    return app


def run(app: FastAPI, *, host: str, port: int) -> None:
    """Serve ``app`` with uvicorn until interrupted."""
    import uvicorn

    # proxy_headers off: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1;
    # the desk honours it only from --trusted-proxy addresses (identity.client_address).
    uvicorn.run(
        app, host=host, port=port, proxy_headers=False, server_header=False, log_level="info"
    )
