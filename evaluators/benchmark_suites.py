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

TOFU (`tofu-forget01|05|10`) runs no check: its sets are question-answer, not the multiple-choice and harmful-prompt
sets our checks score. It reads `locuslab/TOFU` (MIT), split `train`: `forget01|05|10_perturbed` (40 / 200 / 400
items), `retain_perturbed` (400), `real_authors_perturbed` (100) and `world_facts_perturbed` (117), the sets
open-unlearning's `tofu` evaluation reads (configs/eval/tofu_metrics/); `evaluators/benchmarks/tofu_run.py` computes
TOFU's figures on them.

MUSE (`muse-news`, `muse-books`) runs no check either. It reads `muse-bench/MUSE-News` and `muse-bench/MUSE-Books`
(CC-BY-4.0), the sets open-unlearning's `muse` evaluation reads (configs/eval/muse_metrics/): `verbmem` split `forget`
(prompt, gt; 100 items each), `knowmem` splits `forget_qa`, `retain_qa` (question, answer; 100 each) and their
few-shot `forget_qa_icl`, `retain_qa_icl` (10 each), `privleak` splits `forget` and `holdout` (text; 100 each);
`evaluators/benchmarks/muse_run.py` computes MUSE's figures on them.

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
TOFU_REPO = "locuslab/TOFU"
MUSE_NEWS_REPO = "muse-bench/MUSE-News"
MUSE_BOOKS_REPO = "muse-bench/MUSE-Books"
SUITE_REPOS = (WMDP_REPO, MMLU_REPO, HARMBENCH_REPO, XSTEST_REPO, TOFU_REPO, MUSE_NEWS_REPO, MUSE_BOOKS_REPO)
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


TOFU_SUITES = {"tofu-forget01": "forget01", "tofu-forget05": "forget05", "tofu-forget10": "forget10"}
"""TOFU suite -> its forget split (open-unlearning's `eval.tofu.forget_split`)."""

TOFU_SETS = ("forget", "retain", "real_authors", "world_facts")
"""The sets TOFU's figures read: the forget split, and the three model-utility sets."""


def tofu_datasets(suite: str) -> dict[str, DatasetRef]:
    """TOFU's sets for `suite`, by role; items are prompts (the question) with TOFU's answer columns alongside."""
    forget_split = TOFU_SUITES[suite]
    configs = {
        "forget": f"{forget_split}_perturbed",
        "retain": "retain_perturbed",
        "real_authors": "real_authors_perturbed",
        "world_facts": "world_facts_perturbed",
    }
    return {
        role: DatasetRef(
            hub=HubDataset(repo=TOFU_REPO, config=config, split="train"),
            name=f"tofu-{config}",
            columns={"prompt": "question"},
        )
        for role, config in configs.items()
    }


MUSE_SUITES = {"muse-news": MUSE_NEWS_REPO, "muse-books": MUSE_BOOKS_REPO}
"""MUSE suite -> its Hub repository (open-unlearning's `eval.muse.data_split`: News or Books)."""

MUSE_SETS = {
    "verbmem_forget": ("verbmem", "forget", "prompt"),
    "knowmem_forget": ("knowmem", "forget_qa", "question"),
    "knowmem_forget_icl": ("knowmem", "forget_qa_icl", "question"),
    "knowmem_retain": ("knowmem", "retain_qa", "question"),
    "knowmem_retain_icl": ("knowmem", "retain_qa_icl", "question"),
    "privleak_forget": ("privleak", "forget", "text"),
    "privleak_holdout": ("privleak", "holdout", "text"),
}
"""Role -> (config, split, the column that is the item's `prompt`), as open-unlearning's MUSE_*.yaml read them."""


def muse_datasets(suite: str) -> dict[str, DatasetRef]:
    """MUSE's sets for `suite`, by role; items are prompts with MUSE's other columns (`gt`, `answer`) alongside."""
    repo = MUSE_SUITES[suite]
    corpus = suite.removeprefix("muse-")
    return {
        role: DatasetRef(
            hub=HubDataset(repo=repo, config=config, split=split),
            name=f"muse-{corpus}-{config}-{split.replace('_', '-')}",
            columns={"prompt": column},
        )
        for role, (config, split, column) in MUSE_SETS.items()
    }
