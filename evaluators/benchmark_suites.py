"""The standard benchmark suites: WMDP's forget sets, MMLU as collateral, HarmBench and XSTest for refusals.

Every dataset is named by its Hub repository, config and split, so the service fetches and pins it, and is
scored in the reference harness's format (lm-eval 0.4.13's `wmdp_*` and `mmlu_*` tasks: the same prompt,
the description line's subject, zero-shot, accuracy as argmax of log-likelihood over " A".." D"):

- forget: `cais/wmdp`, config `wmdp-bio|wmdp-cyber|wmdp-chem`, split `test` (1,273 / 1,987 / 408 items;
  MIT), the subject of lm-eval's description line ("biology", "cybersecurity", "chemistry");
- collateral: `cais/mmlu`, the 57 subject configs, split `test` (14,042 items; MIT), pooled into two gated
  groups: `mmlu-adjacent` (the subjects neighbouring the domain) and `mmlu-other`; per-subject figures are
  reported, not gated. WMDP's paper (Li et al. 2024, section 5) measures unlearning's cost on the closest
  MMLU subjects: college biology and virology for biosecurity, college computer science and computer
  security for cyber; the lists below add the subjects of the same field (high-school biology, anatomy,
  medical genetics, college medicine; high-school computer science; college and high-school chemistry);
- refusal: harmful prompts from `walledai/HarmBench` (config `standard`, split `train`: HarmBench's 200
  standard behaviours; MIT), restricted to the domain's category where at least `n_min` prompts hold it,
  else the whole set (the scorecard says which); benign look-alikes from `walledai/XSTest` (split `test`,
  the 250 prompts labelled `safe`: XSTest's over-refusal set; CC-BY-4.0).

Revisions default to `main` and are pinned at submit (the operator may pin them: docs/registries.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from schemas.datasets import CollateralDatasetRef, DatasetRef, HubDataset
from schemas.requests import Checks, CollateralCheck, ForgetCheck, RefusalCheck

WMDP_REPO = "cais/wmdp"
MMLU_REPO = "cais/mmlu"
HARMBENCH_REPO = "walledai/HarmBench"
XSTEST_REPO = "walledai/XSTest"
SUITE_REPOS = (WMDP_REPO, MMLU_REPO, HARMBENCH_REPO, XSTEST_REPO)
"""The Hub repositories the standard suites read (the default of UNLEARN_AUDIT_HUB_DATASETS)."""

MMLU_SUBJECTS = (
    "abstract_algebra", "anatomy", "astronomy", "business_ethics", "clinical_knowledge", "college_biology",
    "college_chemistry", "college_computer_science", "college_mathematics", "college_medicine", "college_physics",
    "computer_security", "conceptual_physics", "econometrics", "electrical_engineering", "elementary_mathematics",
    "formal_logic", "global_facts", "high_school_biology", "high_school_chemistry", "high_school_computer_science",
    "high_school_european_history", "high_school_geography", "high_school_government_and_politics",
    "high_school_macroeconomics", "high_school_mathematics", "high_school_microeconomics", "high_school_physics",
    "high_school_psychology", "high_school_statistics", "high_school_us_history", "high_school_world_history",
    "human_aging", "human_sexuality", "international_law", "jurisprudence", "logical_fallacies", "machine_learning",
    "management", "marketing", "medical_genetics", "miscellaneous", "moral_disputes", "moral_scenarios", "nutrition",
    "philosophy", "prehistory", "professional_accounting", "professional_law", "professional_medicine",
    "professional_psychology", "public_relations", "security_studies", "sociology", "us_foreign_policy", "virology",
    "world_religions",
)  # fmt: skip
"""MMLU's 57 subjects: the configs of `cais/mmlu` and lm-eval's `mmlu_<subject>` tasks."""


@dataclass(frozen=True)
class WmdpDomain:
    """One WMDP suite: its config, lm-eval's subject line, MMLU's neighbouring subjects, HarmBench's category."""

    config: str
    subject: str
    adjacent: tuple[str, ...]
    harm_category: str


WMDP_DOMAINS = {
    "wmdp-bio": WmdpDomain(
        "wmdp-bio",
        "biology",
        (
            "college_biology",
            "high_school_biology",
            "virology",
            "anatomy",
            "medical_genetics",
            "college_medicine",
        ),
        "chemical_biological",
    ),
    "wmdp-cyber": WmdpDomain(
        "wmdp-cyber",
        "cybersecurity",
        ("computer_security", "college_computer_science", "high_school_computer_science"),
        "cybercrime_intrusion",
    ),
    "wmdp-chem": WmdpDomain(
        "wmdp-chem",
        "chemistry",
        ("college_chemistry", "high_school_chemistry"),
        "chemical_biological",
    ),
}


def mmlu_subject_line(subject: str) -> str:
    """lm-eval's description subject for an MMLU config: `college_biology` -> `college biology`."""
    return subject.replace("_", " ")


def wmdp_checks(suite: str, n_min: int) -> Checks:
    """The three checks of a WMDP suite; `n_min` decides whether the harmful set is cut to the domain."""
    domain = WMDP_DOMAINS[suite]
    return Checks(
        forget=ForgetCheck(
            dataset=DatasetRef(hub=HubDataset(repo=WMDP_REPO, config=domain.config, split="test")),
            subject=domain.subject,
        ),
        refusal=RefusalCheck(
            harmful=DatasetRef(
                hub=HubDataset(repo=HARMBENCH_REPO, config="standard", split="train"),
                name="harmbench",
                where={"category": [domain.harm_category]},
                where_min=n_min,
            ),
            benign=DatasetRef(
                hub=HubDataset(repo=XSTEST_REPO, split="test"), name="xstest-safe", where={"label": ["safe"]}
            ),
        ),
        collateral=CollateralCheck(
            datasets=[
                CollateralDatasetRef(
                    hub=HubDataset(repo=MMLU_REPO, config=subject, split="test"),
                    subject=mmlu_subject_line(subject),
                    adjacent=subject in domain.adjacent,
                    group="mmlu-adjacent" if subject in domain.adjacent else "mmlu-other",
                )
                for subject in MMLU_SUBJECTS
            ]
        ),
    )
