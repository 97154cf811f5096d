"""Multiple-choice prompt templates: lm-eval's MMLU/WMDP standard format and pluggable variants.

A template turns one `MultipleChoiceItem` into an `MCPrompt`: a context and one continuation per choice.
The standard template reproduces lm-eval 0.4.13's MMLU/WMDP task exactly (zero-shot):

    The following are multiple choice questions (with answers) about {subject}.\n\n
    {question.strip()}\nA. {choice 0}\nB. {choice 1}\n...\nAnswer:

with continuations " A", " B", ... (lm-eval's target delimiter " " before each letter). Other formats (cloze
with length-normalised scoring, another question wording, few-shot prefixes, wrappers) are the same dataclass
with other fields, so every format is scored through the same batched path. `version` names the prompt text;
when a template's text changes, its version changes, and the scorecard records it.
"""

from __future__ import annotations

import dataclasses
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from schemas.datasets import MultipleChoiceItem

LETTERS = tuple(string.ascii_uppercase)
"""Answer letters for up to 26 choices."""

MMLU_DESCRIPTION = "The following are multiple choice questions (with answers) about {subject}.\n\n"


@dataclass(frozen=True)
class MCPrompt:
    """One rendered question: the context and one continuation per choice (in choice order)."""

    context: str
    continuations: tuple[str, ...]
    letters: tuple[str, ...] | None
    """The answer letters when continuations are " A".." Z" (next-token and generation scorers need them)."""


@dataclass(frozen=True)
class MCTemplate:
    """A multiple-choice prompt format. Defaults are lm-eval's MMLU/WMDP standard format.

    - `answer_kind="letter"`: choices are listed in the prompt as "A. ..." and the continuations are " A"..;
      `"text"`: the continuations are " {choice text}" (cloze).
    - `score_by="length"`: pick the argmax of log-likelihood divided by the continuation's length in
      characters (lm-eval's acc_norm); `"raw"`: argmax of log-likelihood (acc).
    - `shots`: solved examples put between the description and the question, each followed by "\n\n".
    - `wrapper`: a format string with `{prompt}` wrapped around the question body (e.g. a jailbreak frame).
    """

    name: str = "standard"
    version: str = "mmlu-lm-eval-0.4.13"
    description: str = MMLU_DESCRIPTION
    question_prefix: str = ""
    answer_prefix: str = "Answer:"
    answer_kind: Literal["letter", "text"] = "letter"
    score_by: Literal["raw", "length"] = "raw"
    shots: tuple[MultipleChoiceItem, ...] = ()
    wrapper: str = "{prompt}"

    def body(self, item: MultipleChoiceItem) -> str:
        """The question part, ending with the answer prefix (no trailing space)."""
        lines = [self.question_prefix + item.question.strip()]
        if self.answer_kind == "letter":
            lines += [f"{LETTERS[i]}. {choice}" for i, choice in enumerate(item.choices)]
        lines.append(self.answer_prefix)
        return self.wrapper.format(prompt="\n".join(lines))

    def target(self, item: MultipleChoiceItem, choice: int) -> str:
        """The continuation scored for `choice` (lm-eval's target delimiter " " + the choice)."""
        if self.answer_kind == "letter":
            return " " + LETTERS[choice]
        return " " + item.choices[choice]

    def render(self, item: MultipleChoiceItem, subject: str) -> MCPrompt:
        """Context and continuations for one item."""
        if len(item.choices) > len(LETTERS):
            raise ValueError(f"at most {len(LETTERS)} choices are supported, got {len(item.choices)}")
        shots = "".join(self.body(s) + self.target(s, s.answer) + "\n\n" for s in self.shots)
        context = self.description.format(subject=subject) + shots + self.body(item)
        continuations = tuple(self.target(item, i) for i in range(len(item.choices)))
        letters = LETTERS[: len(item.choices)] if self.answer_kind == "letter" else None
        return MCPrompt(context=context, continuations=continuations, letters=letters)

    def with_shots(self, shots: Sequence[MultipleChoiceItem]) -> MCTemplate:
        """The same template with a few-shot prefix."""
        return dataclasses.replace(self, shots=tuple(shots))

    @property
    def version_string(self) -> str:
        """`name@version`, plus the shot count when few-shot (what the scorecard records)."""
        suffix = f"+{len(self.shots)}shot" if self.shots else ""
        return f"{self.name}@{self.version}{suffix}"


STANDARD = MCTemplate()
"""lm-eval 0.4.13 MMLU/WMDP zero-shot: accuracy = argmax of log-likelihood over " A".." D"."""

CLOZE = MCTemplate(
    name="cloze",
    version="1",
    question_prefix="Question: ",
    answer_kind="text",
    score_by="length",
)
"""Cloze: "Question: ...\\nAnswer:" scored over the choice texts, length-normalised (acc_norm)."""
