# spendbot: one process serves Slack (Socket Mode or HTTP), /healthz and /metrics on port 3000.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    SPENDBOT_DATA_DIR=/data

WORKDIR /app

# Reproducible install: exactly the pinned runtime dependencies, then the package without resolving again.
COPY requirements.lock ./
RUN pip install --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip install --no-deps . \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin spendbot \
    && mkdir -p /data \
    && chown spendbot:spendbot /data

USER spendbot
# A directory, not a file: SQLite's WAL mode keeps -wal and -shm files next to the database.
VOLUME ["/data"]
EXPOSE 3000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4).status == 200 else 1)"]

CMD ["spendbot", "run"]
