"""open_model: confinement, allowlist, sandbox controls, secrets by name, and the shared checkpoint cache."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from evaluators.models import Capability, LoglikelihoodRequest
from evaluators.models.factory import BackendEnv, open_model
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.models.tgi import TGIModel
from schemas.errors import BadInputError, PathNotAllowedError, SecretNotAllowedError, URLNotAllowedError
from schemas.targets import CheckpointTarget, OpenAITarget, SandboxTarget, TGITarget


async def test_checkpoint_inside_roots_is_cached(tiny_checkpoint: Path) -> None:
    env = BackendEnv(model_roots=[tiny_checkpoint.parent])
    first = await open_model(CheckpointTarget(path=tiny_checkpoint.name), env)
    second = await open_model(CheckpointTarget(path=str(tiny_checkpoint)), env)
    assert Capability.WHITE_BOX in first.capabilities
    assert env.checkpoint_cache().loads == 1
    assert (await first.fingerprint()).fingerprint == (await second.fingerprint()).fingerprint
    assert first.runtime().device == "cpu" and first.runtime().dtype == "float32"
    got = await second.loglikelihood([LoglikelihoodRequest("Water", " boils")])
    assert got[0][0] < 0


async def test_checkpoint_outside_roots_refused(tiny_checkpoint: Path, tmp_path: Path) -> None:
    env = BackendEnv(model_roots=[tmp_path])
    with pytest.raises(PathNotAllowedError):
        await open_model(CheckpointTarget(path=str(tiny_checkpoint)), env)
    with pytest.raises(PathNotAllowedError):
        await open_model(CheckpointTarget(path="../x"), env)


async def test_sandbox_target_uses_control_path(tiny_checkpoint: Path, tmp_path: Path) -> None:
    sandbox = tmp_path / "sandbox"
    with pytest.raises(BadInputError, match="not built"):
        await open_model(SandboxTarget(name="base"), BackendEnv(sandbox_dir=sandbox))
    shutil.copytree(tiny_checkpoint, sandbox / "models" / "base")
    (sandbox / "manifest.json").write_text("{}")
    model = await open_model(SandboxTarget(name="base"), BackendEnv(sandbox_dir=sandbox))
    assert (await model.fingerprint()).fingerprint_verified


async def test_endpoints_pass_allowlist_and_resolve_secrets(tgi_server: Any, openai_server: Any) -> None:
    env = BackendEnv(allowed_hosts=["example.org"], environ={})
    with pytest.raises(URLNotAllowedError):
        await open_model(TGITarget(url=tgi_server[0]), env)
    with pytest.raises(URLNotAllowedError):
        await open_model(OpenAITarget(base_url="http://169.254.169.254/v1", model="m"), BackendEnv())
    env = BackendEnv(
        environ={"OAI_KEY": "sk-test", "OTHER": "x"}, endpoint_secrets=frozenset({"OAI_KEY", "MISSING_KEY"})
    )
    with pytest.raises(BadInputError, match=r"MISSING_KEY.*allowed but not set"):
        await open_model(OpenAITarget(base_url=openai_server[0] + "/v1", model="tiny", api_key_env="MISSING_KEY"), env)
    # A set variable the operator did not list is refused even when the worker has it.
    with pytest.raises(SecretNotAllowedError):
        await open_model(OpenAITarget(base_url=openai_server[0] + "/v1", model="tiny", api_key_env="OTHER"), env)
    tgi = await open_model(TGITarget(url=tgi_server[0]), env)
    oai = await open_model(
        OpenAITarget(base_url=openai_server[0] + "/v1", model="tiny", api_key_env="OAI_KEY", chat_only=True),
        env,
    )
    try:
        assert isinstance(tgi, TGIModel) and isinstance(oai, OpenAICompatModel)
        assert Capability.LOGLIKELIHOOD not in oai.capabilities
        assert (await tgi.fingerprint()).fingerprint_verified is False
    finally:
        await tgi.close()
        await oai.close()


def test_endpoint_backends_do_not_import_torch() -> None:
    import subprocess
    import sys

    probe = "import sys, evaluators.models.tgi, evaluators.models.openai_compat; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
