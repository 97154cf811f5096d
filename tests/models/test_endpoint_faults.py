"""Endpoint faults end as a retry that succeeds or a clear job error, never a hang."""

from __future__ import annotations

import time
from typing import Any

import pytest

from evaluators.models import LoglikelihoodRequest
from evaluators.models.http_retry import RetryPolicy, parse_retry_after
from evaluators.models.openai_compat import OpenAICompatModel
from evaluators.models.tgi import PREFILL_ADVICE, TGIModel
from schemas.errors import ModelProtocolError, ModelUnreachableError
from tests.support.servers import Fault

POLICY = RetryPolicy(attempts=3, backoff_s=0.05, max_backoff_s=2.0, timeout_s=15.0, concurrency=2)
SHORT = RetryPolicy(attempts=3, backoff_s=0.05, max_backoff_s=2.0, timeout_s=3.0, concurrency=2)
REQ = [LoglikelihoodRequest("Water boils at", " one hundred")]


async def _oai(url: str, policy: RetryPolicy = POLICY) -> OpenAICompatModel:
    return OpenAICompatModel(url + "/v1", "tiny", policy=policy)


async def test_500s_then_recovery(openai_server: Any) -> None:
    url, plan = openai_server
    plan.add(Fault(status=500), times=2, path="/v1/completions")
    model = await _oai(url)
    try:
        got = await model.loglikelihood(REQ)
    finally:
        await model.close()
    assert got[0][0] < 0
    assert len(plan.bodies("/v1/completions")) == 3


async def test_persistent_500_is_model_unreachable(openai_server: Any) -> None:
    url, plan = openai_server
    plan.add(Fault(status=503), times=10, path="/v1/completions")
    model = await _oai(url)
    try:
        with pytest.raises(ModelUnreachableError, match=r"after 3 attempts.*503"):
            await model.loglikelihood(REQ)
    finally:
        await model.close()


async def test_429_honours_retry_after(openai_server: Any) -> None:
    url, plan = openai_server
    plan.add(Fault(status=429, retry_after="1"), path="/v1/completions")
    model = await _oai(url)
    start = time.monotonic()
    try:
        got = await model.loglikelihood(REQ)
    finally:
        await model.close()
    assert time.monotonic() - start >= 0.95  # waited as told, not the 0.05 s backoff
    assert got[0][0] < 0


async def test_timeout_then_recovery_and_timeout_exhaustion(openai_server: Any) -> None:
    url, plan = openai_server
    warm = await _oai(url)
    try:
        await warm.loglikelihood(REQ)  # a cold server's first answer may itself be slow
    finally:
        await warm.close()
    plan.add(Fault(delay_s=5.0), path="/v1/completions")
    model = await _oai(url, SHORT)
    try:
        assert (await model.loglikelihood(REQ))[0][0] < 0
        plan.add(Fault(delay_s=5.0), times=3, path="/v1/completions")
        start = time.monotonic()
        with pytest.raises(ModelUnreachableError, match=r"no answer within 3s"):
            await model.loglikelihood(REQ)
        assert time.monotonic() - start < 3 * SHORT.timeout_s + 3
    finally:
        await model.close()


async def test_malformed_json_is_protocol_error(openai_server: Any, tgi_server: Any) -> None:
    url, plan = openai_server
    plan.add(Fault(malformed=True), path="/v1/completions")
    model = await _oai(url)
    try:
        with pytest.raises(ModelProtocolError, match="malformed JSON"):
            await model.loglikelihood(REQ)
    finally:
        await model.close()
    tgi_url, tgi_plan = tgi_server
    tgi_plan.add(Fault(malformed=True), path="/")
    tgi = TGIModel(tgi_url, policy=POLICY)
    try:
        with pytest.raises(ModelProtocolError, match="malformed JSON"):
            await tgi.loglikelihood(REQ)
    finally:
        await tgi.close()


async def test_connection_refused_is_model_unreachable() -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    model = OpenAICompatModel(f"http://127.0.0.1:{port}/v1", "tiny", policy=POLICY)
    tgi = TGIModel(f"http://127.0.0.1:{port}", policy=POLICY)
    try:
        with pytest.raises(ModelUnreachableError, match="connection failed"):
            await model.loglikelihood(REQ)
        with pytest.raises(ModelUnreachableError, match="connection failed"):
            await tgi.loglikelihood(REQ)
    finally:
        await model.close()
        await tgi.close()


async def test_tgi_retries_generate_errors(tgi_server: Any) -> None:
    url, plan = tgi_server
    plan.add(Fault(status=500), path="/")
    plan.add(Fault(status=429, retry_after="0"), path="/")
    tgi = TGIModel(url, policy=POLICY)
    try:
        got = await tgi.loglikelihood(REQ)
    finally:
        await tgi.close()
    assert got[0][0] < 0
    assert len(plan.bodies("/")) == 3


async def test_tgi_without_prefill_logprobs_names_the_flag(tgi_server: Any) -> None:
    url, plan = tgi_server
    plan.prefill_logprobs = False
    tgi = TGIModel(url, policy=POLICY)
    try:
        with pytest.raises(ModelProtocolError) as info:
            await tgi.loglikelihood(REQ)
    finally:
        await tgi.close()
    assert info.value.message == PREFILL_ADVICE
    assert "--enable-prefill-logprobs" in PREFILL_ADVICE


def test_retry_after_forms() -> None:
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: retry now
    assert parse_retry_after("soon") is None
