"""Attacks on unlearned models: quantization, relearning, latent-knowledge probes, memorisation."""
