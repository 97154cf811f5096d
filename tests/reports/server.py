"""A small real app serving the report routes on a SQLite store, and a helper to seed finished jobs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import uvicorn
from litestar import Litestar
from litestar.datastructures import State

from schemas import EvaluationRequest, SandboxTarget
from schemas.scorecard import Scorecard
from service.auth import KeyRing
from service.errors import EXCEPTION_HANDLERS
from service.reports.routes import report_router
from service.routes.deps import STATE_DEPENDENCIES
from service.settings import Settings
from service.store import JobStore, create_store
from tests.reports.scorecards import build_scorecard


def report_app(store: JobStore | None = None, url: str | None = None, settings: Settings | None = None) -> Litestar:
    """The report router in an app that keeps its store in `app.state.store`, as create_app does."""

    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if store is not None:
            yield
            return
        assert url is not None
        own = await create_store(url)
        app.state.store = own
        try:
            yield
        finally:
            await own.close()

    return Litestar(
        route_handlers=[report_router],
        dependencies=STATE_DEPENDENCIES,
        exception_handlers=EXCEPTION_HANDLERS,
        lifespan=[lifespan],
        state=State({"settings": settings, "keyring": KeyRing.from_settings(settings), "store": store}),
    )


async def seed_finished_job(store: JobStore, **scorecard_kw: object) -> Scorecard:
    """Create, claim and finish a job with a built scorecard; returns the stored scorecard."""
    request = EvaluationRequest(
        target=SandboxTarget(name="shallow"),
        baseline=SandboxTarget(name="base"),
        suite="sandbox",
        labels={"ci_run": "7"},
    )
    job, _ = await store.create_job(request)
    claimed = await store.claim_next("report-test", 30.0)
    assert claimed is not None and claimed.id == job.id
    sc = build_scorecard(evaluation_id=job.id, **scorecard_kw)  # type: ignore[arg-type]
    await store.finish_job(
        job.id, "report-test", status="succeeded", scorecard=sc.model_dump(mode="json"), verdict=sc.verdict
    )
    return sc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def asgi_client(app: Litestar) -> httpx.AsyncClient:
    """An in-process client on the test's own event loop (a PostgreSQL pool is bound to one loop)."""
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar types its ASGI scope narrower
    return httpx.AsyncClient(transport=transport, base_url="http://report.test")


@contextmanager
def serve(app: Any, log_level: str = "warning") -> Iterator[str]:
    """Run an ASGI `app` under uvicorn on a free 127.0.0.1 port in a thread; yields its base URL. With
    `log_level="info"`, uvicorn writes its access log (logger `uvicorn.access`)."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("report server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
