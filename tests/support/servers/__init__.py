"""Real local HTTP servers speaking the TGI and OpenAI protocols, backed by a tiny transformers model.

`TinyLM` does the model work; `tgi_app` / `openai_app` build Litestar apps; `serve` runs one with uvicorn on a
free 127.0.0.1 port in a background thread. A `FaultPlan` scripts failures and records every payload received.
"""

from tests.support.servers.faults import Fault, FaultPlan
from tests.support.servers.openai_server import openai_app
from tests.support.servers.running import RunningServer, serve
from tests.support.servers.tgi_server import tgi_app
from tests.support.servers.tiny_lm import TinyLM

__all__ = ["Fault", "FaultPlan", "RunningServer", "TinyLM", "openai_app", "serve", "tgi_app"]
