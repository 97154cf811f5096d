"""The worker's model pool: the per-worker model environment and the models of the running job.

Loaded weights are reused across jobs by the backends' own cache (the checkpoint backend keys it by the
weights' fingerprint, so an overwritten checkpoint is reloaded); this pool opens each target once per job
so all checks share it, and closes the job's models when the job ends.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from evaluators.models.protocol import LanguageModel

log = logging.getLogger(__name__)

Opener = Callable[[Any], LanguageModel | Awaitable[LanguageModel]]
"""Opens a ModelTarget; a sync opener runs in a thread so the job's heartbeat keeps running."""


def target_key(target: Any) -> str:
    """A stable key for a ModelTarget (its JSON with sorted keys)."""
    return json.dumps(target.model_dump(mode="json"), sort_keys=True)


class ModelPool:
    """Opens targets through `opener`; the same target twice in one job (target == baseline) opens once."""

    def __init__(self, opener: Opener) -> None:
        self._opener = opener
        self._models: dict[str, LanguageModel] = {}
        self.opened = 0
        """How many targets were opened (tests check sharing)."""

    async def get(self, target: Any) -> LanguageModel:
        """The model for `target`, opened on first use in this job."""
        key = target_key(target)
        model = self._models.get(key)
        if model is None:
            if inspect.iscoroutinefunction(self._opener):
                opened = await self._opener(target)
            else:
                opened = await asyncio.to_thread(self._opener, target)
                if inspect.isawaitable(opened):
                    opened = await opened
            model = opened
            self._models[key] = model
            self.opened += 1
        return model

    async def release(self) -> None:
        """The job is over: close its models (clients, handles); cached weights stay in the backend."""
        models, self._models = self._models, {}
        for key, model in models.items():
            try:
                await model.close()
            except Exception:
                log.exception("closing model %s failed", key)

    async def close(self) -> None:
        await self.release()
