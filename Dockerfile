# unlearn-audit: the API and the worker in one image (compose and Kubernetes run it with different commands).
# Two stages: the build stage installs requirements.lock (every dependency pinned with its hashes; regenerate
# it with deploy/lock-requirements.sh) into a virtual environment, and the runtime stage copies only that.
# CPU torch by default; for GPU workers, a CUDA build:
#   docker build --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 -t unlearn-audit:0.1.0-cuda .
FROM python:3.11-slim-bookworm AS build

ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
ARG TORCH_VERSION=2.13.0

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv

WORKDIR /src

# torch first, from the chosen index (a CUDA build brings its CUDA libraries); the lock leaves torch out.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}"

COPY requirements.lock ./
RUN pip install --no-deps --require-hashes -r requirements.lock

COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY evaluators ./evaluators
COPY service ./service
RUN pip install --no-deps . \
    && pip check

FROM python:3.11-slim-bookworm AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    UNLEARN_AUDIT_DATA_DIR=/data

RUN groupadd --system --gid 10001 audit \
    && useradd --system --uid 10001 --gid audit --home-dir /home/audit --create-home audit \
    && mkdir -p /data /models /datasets \
    && chown audit:audit /data

COPY --from=build /opt/venv /opt/venv

WORKDIR /home/audit
USER 10001:10001
EXPOSE 8000
VOLUME ["/data"]

# The API's liveness. Workers serve no HTTP: compose disables this check for them, Kubernetes ignores it.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["unlearn-audit"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"]
