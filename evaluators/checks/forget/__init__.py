"""Forget efficacy: is the knowledge gone, or only hidden? (see `check.py` for the definitions)."""
