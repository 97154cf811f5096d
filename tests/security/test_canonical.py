"""RFC 8785 canonical JSON and its sha256."""

from __future__ import annotations

import hashlib

import pytest

from schemas.canonical import canonical_json, sha256_hex
from schemas.policy import PRESETS
from schemas.scorecard import Metric


def test_rfc8785_example_number_and_string_forms() -> None:
    # The example of RFC 8785 section 3.2.2 and its canonical output (3.2.4).
    data = {
        "numbers": [333333333.33333329, 1e30, 4.50, 2e-3, 0.000000000000000000000000001],
        "string": "\u20ac$\u000f\u000aA'\u0042\u0022\u005c\\\"/",
        "literals": [None, True, False],
    }
    expected = (
        '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],'
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )
    assert canonical_json(data) == expected.encode("utf-8")


def test_keys_sorted_by_utf16_code_units() -> None:
    # RFC 8785 3.2.3: sorting on UTF-16 code units puts U+FB33 after the surrogate pair of U+1F600.
    data = {"\U0001f600": 1, "\ufb33": 2, "a": 3, "B": 4, "1": 5}
    out = canonical_json(data).decode("utf-8")
    assert out == '{"1":5,"B":4,"a":3,"\U0001f600":1,"\ufb33":2}'


def test_large_and_small_numbers() -> None:
    assert canonical_json([1e21, 1e20, -0.0, 1.0, 1e-7]) == b"[1e+21,100000000000000000000,0,1,1e-7]"


def test_models_dump_in_json_mode_and_match_plain_data() -> None:
    m = Metric(name="x", value=0.5, ci_low=0.4, ci_high=0.6, n=10, direction="lower_is_better")
    assert canonical_json(m) == canonical_json(m.model_dump(mode="json"))
    assert canonical_json({"metrics": [m]}) == canonical_json({"metrics": [m.model_dump(mode="json")]})
    assert b'"n_min":50,' in canonical_json(PRESETS["default"])


def test_nan_and_unsafe_integers_are_refused() -> None:
    with pytest.raises(ValueError, match="canonicalisable"):
        canonical_json({"x": float("nan")})
    with pytest.raises(ValueError, match="canonicalisable"):
        canonical_json(2**60)


def test_sha256_is_over_the_canonical_bytes() -> None:
    a, b = {"b": 1, "a": [1.0, 2]}, {"a": [1, 2.0], "b": 1.0}
    assert sha256_hex(a) == sha256_hex(b) == hashlib.sha256(b'{"a":[1,2],"b":1}').hexdigest()
    assert sha256_hex(b"raw") == hashlib.sha256(b"raw").hexdigest()
