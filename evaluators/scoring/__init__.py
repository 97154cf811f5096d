"""Multiple-choice scoring that matches lm-eval 0.4.13, with pluggable templates and scorers."""

from evaluators.scoring.multiple_choice import (
    MCItemScore,
    ScorerName,
    choose_scorer,
    parse_answer_letter,
    score_mc_prompts,
    score_multiple_choice,
)
from evaluators.scoring.templates import CLOZE, LETTERS, STANDARD, MCPrompt, MCTemplate

__all__ = [
    "CLOZE",
    "LETTERS",
    "STANDARD",
    "MCItemScore",
    "MCPrompt",
    "MCTemplate",
    "ScorerName",
    "choose_scorer",
    "parse_answer_letter",
    "score_mc_prompts",
    "score_multiple_choice",
]
