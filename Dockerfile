# MNIST Studio: the app (and, with requirements-cluster.txt, a Ray head or worker) on CPU.
#   docker build -t mnist-studio .
#   docker run -p 8501:8501 mnist-studio            # MNIST downloads on first use
#   docker run -p 8501:8501 -v /path/to/mnist:/data -e MNIST_DATA=/data mnist-studio
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8501

# A CJK font for Chinese labels in the downloadable figures.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-noto-cjk=1:20* \
    && rm -rf /var/lib/apt/lists/*

# Saved runs (issue #20) go to SQLite here unless DATABASE_URL names a PostgreSQL server:
# mount a volume on it to keep them across containers.
ENV MNIST_STUDIO_DATA_DIR=/var/lib/mnist-studio
RUN useradd --create-home --uid 10001 studio \
    && mkdir -p /var/lib/mnist-studio \
    && chown 10001:10001 /var/lib/mnist-studio
WORKDIR /app

COPY requirements.txt requirements-cluster.txt ./
RUN pip install -r requirements-cluster.txt

COPY --chown=10001:10001 . .
USER 10001

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '8501')}/_stcore/health\", timeout=4)"]
ENTRYPOINT ["/app/deploy/entrypoint.sh"]
