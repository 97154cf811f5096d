"""The forget check's attack names, black-box and white-box, in the order the check runs them.

Torch-free, so the API (a dry run's plan) reads them without importing the check."""

BLACK_BOX_ATTACKS = ("cloze", "alt_template", "generation", "few_shot", "roleplay", "refusal_suppression")
WHITE_BOX_ATTACKS = ("relearning", "benign_relearning", "quantization", "direction_ablation", "logit_lens", "probe")
