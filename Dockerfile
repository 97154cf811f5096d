# unlearn-audit: the API and the worker in one image (docker-compose runs it twice, with different commands).
# CUDA-capable torch by default; for a CPU-only image:
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu .
FROM python:3.11-slim-bookworm

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128
ARG TORCH_VERSION=2.13.0

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UNLEARN_AUDIT_DATA_DIR=/data

RUN groupadd --system --gid 10001 audit \
    && useradd --system --uid 10001 --gid audit --home-dir /home/audit --create-home audit \
    && mkdir -p /data /models /datasets \
    && chown audit:audit /data

WORKDIR /app

# torch first, from the chosen index, so `pip install .` does not pull a different build.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY evaluators ./evaluators
COPY service ./service
RUN pip install .

USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["unlearn-audit"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"]
