"""One torch thread in these tests: on shared CPUs, torch's thread pool spin-waits and a 1-second training
loop takes 40 (measured here with 8 jobs on 2 cores). Restored after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
