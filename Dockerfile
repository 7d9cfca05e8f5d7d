FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TEXTPEAK_VAR_DIR=/app/var

WORKDIR /app
RUN useradd --system --home-dir /app textpeak

COPY pyproject.toml README.md ./
COPY textpeak ./textpeak
COPY streams ./streams
COPY whatsapp ./whatsapp
COPY webhooks ./webhooks
RUN pip install --no-cache-dir .

COPY . .
# collectstatic reads the settings, which insist on real secrets outside DEBUG; these
# throwaway values exist only for this build step.
RUN DJANGO_SECRET_KEY=collectstatic-only TEXTPEAK_ENCRYPTION_KEYS=unused \
    python manage.py collectstatic --noinput \
    && chown -R textpeak /app/var

USER textpeak
EXPOSE 8000
CMD ["gunicorn", "textpeak.wsgi", "--bind", "0.0.0.0:8000", "--config", "python:textpeak.gunicorn"]
