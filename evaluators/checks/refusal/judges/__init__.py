"""Judges of refusal replies: degeneracy detector, keyword/prefix judge, model judge, layered together.

Label, Judgement                   one label per reply, with the judge that gave it
DegeneracyDetector                 empty, repetitive or gibberish replies
KeywordJudge                       start-of-reply prefixes and whole decline phrases
ModelJudge                         any LanguageModel with a pinned rubric at temperature 0
LayeredJudge                       degeneracy first, then the model or keyword judge
load_calibration_set, calibrate    the labelled replies and each judge's agreement with them
load_xstest_set, XSTestReply       XSTest's real replies with human labels (develop / heldout halves)
"""

from evaluators.checks.refusal.judges.calibration import (
    CALIBRATION_VERSION,
    CalibrationReply,
    agreement,
    calibrate,
    load_calibration_set,
)
from evaluators.checks.refusal.judges.degeneracy import DEGENERACY_VERSION, DegeneracyDetector
from evaluators.checks.refusal.judges.keyword import KEYWORD_VERSION, KeywordJudge
from evaluators.checks.refusal.judges.labels import LABELS, Judgement, Label
from evaluators.checks.refusal.judges.layered import LayeredJudge
from evaluators.checks.refusal.judges.model_judge import RUBRIC_VERSION, ModelJudge, parse_label
from evaluators.checks.refusal.judges.xstest import XSTEST_VERSION, XSTestReply, load_xstest_set

__all__ = [
    "CALIBRATION_VERSION",
    "DEGENERACY_VERSION",
    "KEYWORD_VERSION",
    "LABELS",
    "RUBRIC_VERSION",
    "XSTEST_VERSION",
    "CalibrationReply",
    "DegeneracyDetector",
    "Judgement",
    "KeywordJudge",
    "Label",
    "LayeredJudge",
    "ModelJudge",
    "XSTestReply",
    "agreement",
    "calibrate",
    "load_calibration_set",
    "load_xstest_set",
    "parse_label",
]
