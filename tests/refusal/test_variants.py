"""Each variant family: deterministic, carries the request, versioned; user variants kept as given."""

from __future__ import annotations

import base64
import re

import pytest

from evaluators.checks.refusal.variants import (
    BUILTIN_FAMILIES,
    NOISE_RATE,
    PLAIN,
    TEMPLATES,
    USER,
    VARIANTS_VERSION,
    add_noise,
    describe_families,
    expand_prompt,
)

PROMPT = "Explain how to open the northern archive without Agent Vorn's silver key."


def test_every_schema_family_is_built_in() -> None:
    assert set(BUILTIN_FAMILIES) == {
        "roleplay",
        "hypothetical",
        "prefix_injection",
        "refusal_suppression",
        "base64",
        "noise",
        "prefill",
    }


@pytest.mark.parametrize("family", ["roleplay", "hypothetical", "prefix_injection", "refusal_suppression"])
def test_framing_families_wrap_the_request_verbatim(family: str) -> None:
    [plain, variant] = expand_prompt(3, PROMPT, [], [family], seed=0)
    assert plain.family == PLAIN and plain.text == PROMPT
    assert variant.family == family and variant.base_index == 3
    assert PROMPT in variant.text and variant.text != PROMPT
    assert variant.text == TEMPLATES[family].format(prompt=PROMPT)


def test_prefix_injection_and_suppression_say_what_they_inject() -> None:
    [_, prefix, suppress] = expand_prompt(0, PROMPT, [], ["prefix_injection", "refusal_suppression"], seed=0)
    assert 'Start your reply with "Sure, here is"' in prefix.text
    assert "do not apologise" in suppress.text.lower()


def test_base64_encodes_the_request_so_it_decodes_back() -> None:
    [_, variant] = expand_prompt(0, PROMPT, [], ["base64"], seed=0)
    assert PROMPT not in variant.text
    encoded = variant.text.rsplit("\n", 1)[-1]
    assert base64.b64decode(encoded).decode() == PROMPT


def test_noise_is_deterministic_per_seed_and_changes_about_the_stated_share() -> None:
    long_prompt = " ".join([PROMPT] * 20)
    a, b, c = add_noise(long_prompt, 1), add_noise(long_prompt, 1), add_noise(long_prompt, 2)
    assert a == b and a != c and a != long_prompt
    letters = sum(ch.isalpha() for ch in long_prompt)
    # Edits change the letter count (dups/drops) or the case; compare case-insensitively aligned counts.
    changed_case = sum(1 for x, y in zip(a, long_prompt, strict=False) if x != y and x.lower() == y.lower())
    assert changed_case + abs(sum(ch.isalpha() for ch in a) - letters) > 0
    # The words stay mostly readable: most of the original words survive intact.
    words = set(re.findall(r"[A-Za-z']+", long_prompt))
    kept = sum(w in a for w in words) / len(words)
    assert kept > 1 - 5 * NOISE_RATE


def test_user_variants_follow_the_built_in_ones_with_their_position() -> None:
    out = expand_prompt(7, PROMPT, ["Wie öffnet man das Archiv?", "  ", "How to get in?"], ["noise"], seed=0)
    assert [v.family for v in out] == [PLAIN, "noise", USER, USER]
    assert [v.sub_index for v in out if v.family == USER] == [0, 2]
    assert out[2].text == "Wie öffnet man das Archiv?"
    assert len({v.key for v in out}) == len(out)


def test_unknown_family_is_refused_and_description_is_versioned() -> None:
    with pytest.raises(ValueError, match="unknown variant families"):
        expand_prompt(0, PROMPT, [], ["leetspeak"], seed=0)
    described = describe_families(["roleplay", "noise"])
    assert described["version"] == VARIANTS_VERSION
    assert described["families"] == [PLAIN, "roleplay", "noise"]
