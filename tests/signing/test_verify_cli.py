"""`unlearn-audit verify`: exit 0 valid, 1 invalid, 2 usage; keys from a file or a real server."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.datastructures import State

from service.routes.deps import STATE_DEPENDENCIES
from service.settings import Settings
from service.signing import KeyStore, verify_main
from service.signing.routes import signing_router
from service.store import create_store
from tests.reports.scorecards import build_scorecard
from tests.reports.server import serve


@pytest.fixture
def signed(tmp_path: Path) -> tuple[KeyStore, Path]:
    store = KeyStore.under(tmp_path / "data")
    path = tmp_path / "scorecard.json"
    path.write_text(json.dumps(store.sign(build_scorecard())))
    return store, path


def _key_file(store: KeyStore, tmp_path: Path) -> Path:
    path = tmp_path / "key.pub.pem"
    path.write_text("".join(k.public_key_pem for k in store.published()))
    return path


def test_verify_valid_prints_the_weight_fingerprint(
    signed: tuple[KeyStore, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, path = signed
    assert verify_main([str(path), "--key", str(_key_file(store, tmp_path))]) == 0
    out = capsys.readouterr().out
    sc = build_scorecard()
    assert sc.provenance.target is not None and sc.provenance.target.fingerprint
    assert sc.provenance.target.fingerprint in out and "valid" in out


def test_verify_tampered_is_invalid(signed: tuple[KeyStore, Path], tmp_path: Path) -> None:
    store, path = signed
    envelope = json.loads(path.read_text())
    data = json.loads(base64.b64decode(envelope["payload"]))
    data["checks"]["forget"]["verdict"] = "pass"
    envelope["payload"] = base64.b64encode(json.dumps(data).encode()).decode()
    path.write_text(json.dumps(envelope))
    assert verify_main([str(path), "--key", str(_key_file(store, tmp_path))]) == 1


def test_verify_wrong_key_is_invalid_and_missing_key_is_usage(signed: tuple[KeyStore, Path], tmp_path: Path) -> None:
    _, path = signed
    stranger = KeyStore.under(tmp_path / "stranger")
    assert verify_main([str(path), "--key", str(_key_file(stranger, tmp_path))]) == 1
    assert verify_main([str(path)]) == 2
    assert verify_main([str(tmp_path / "absent.json"), "--key", str(_key_file(stranger, tmp_path))]) == 2


def test_verify_with_keys_from_a_real_server(signed: tuple[KeyStore, Path], tmp_path: Path, sqlite_url: str) -> None:
    store, path = signed
    store.rotate()  # the envelope was signed by the now-retired key: still listed, still valid
    # The data dir's own keys are imported into the database the server publishes from.
    settings = Settings(data_dir=tmp_path / "data")

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        app.state.store = await create_store(sqlite_url)
        try:
            yield
        finally:
            await app.state.store.close()

    app = Litestar(
        route_handlers=[signing_router],
        dependencies=STATE_DEPENDENCIES,
        lifespan=[database],
        state=State({"settings": settings}),
    )
    with serve(app) as base:
        assert verify_main([str(path), "--server", base]) == 0
        listing_path = tmp_path / "keys.json"
        import httpx

        listing = httpx.get(f"{base}/v1/signing-keys").json()
    assert [k["status"] for k in listing["keys"]] == ["active", "retired"]
    listing_path.write_text(json.dumps(listing))
    assert verify_main([str(path), "--key", str(listing_path)]) == 0
