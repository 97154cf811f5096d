"""The parts of the wmdp-bio suite cost benchmark (run by `python -m bench.suite_cost`)."""
