"""Models that live in a registry, fetched by the worker: `hub` (Hugging Face Hub), `mlflow` (an MLflow tracking
server's model registry and artifact proxy), the shared model `cache`, and `fetch` (open a registry target).

Every request goes through the checked outbound transport (`evaluators.net`). Nothing here imports torch.
"""
