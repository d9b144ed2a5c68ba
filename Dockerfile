FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    BOT_DATA_DIR=/data BOT_HTTP_HOST=0.0.0.0 BOT_HTTP_PORT=8080

WORKDIR /app

# Pango and the CJK fonts the PDF forms are drawn with (forms/SYSTEM_DEPS.txt).
COPY forms/SYSTEM_DEPS.txt /tmp/SYSTEM_DEPS.txt
RUN apt-get update \
    && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' /tmp/SYSTEM_DEPS.txt | awk '{print $1}' | grep -v poppler \
       | xargs apt-get install -y --no-install-recommends \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, from pyproject alone, so that a source change does not reinstall them.
COPY pyproject.toml README.md ./
RUN python - <<'PY' > /tmp/requirements.txt
import tomllib
print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))
PY
RUN pip install -r /tmp/requirements.txt

COPY contests ./contests
COPY bot ./bot
COPY dialogs ./dialogs
COPY handlers ./handlers
COPY validators ./validators
COPY forms ./forms
RUN pip install --no-deps .

RUN useradd --create-home --uid 10001 kepu && mkdir -p /data && chown kepu /data
USER kepu
VOLUME ["/data"]
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)" || exit 1
CMD ["python", "-m", "bot", "serve"]
