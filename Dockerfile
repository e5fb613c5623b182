# The cronsvc image: one image for web (gunicorn), beat and worker (celery); the
# command chooses the process. docker-compose.yml shows how they run together.

# CSS and JS come from npm packages (package.json), pinned by package-lock.json.
FROM node:20-slim AS static
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

# Only the packages settings.STATICFILES_DIRS reads, not the whole node_modules.
COPY --from=static /build/node_modules/@picocss/pico node_modules/@picocss/pico
COPY --from=static /build/node_modules/htmx.org node_modules/htmx.org
COPY --from=static /build/node_modules/chart.js node_modules/chart.js
COPY . .

# Static files are collected into the image (VAR_DIR/static, served by WhiteNoise).
# The secret key and broker here are throwaway values for this one command: the
# image carries no key, and the real SECRET_KEY is required at run time.
RUN SECRET_KEY=build-only-not-secret CELERY_BROKER_URL=memory:// \
    python manage.py collectstatic --noinput -v0

# The code and the collected static files stay root-owned and read-only to the app.
# var/ itself is writable, for the embedded SQLite default when DATABASE_URL is unset.
# The metrics folders (VAR_DIR's and compose's shared volume) are the app's to write.
RUN useradd --system --user-group --uid 10001 --home-dir /app --no-create-home cronsvc \
    && mkdir -p /var/lib/cronsvc/metrics \
    && chown cronsvc:cronsvc /app/var \
    && chown -R cronsvc:cronsvc /app/var/metrics /var/lib/cronsvc
USER cronsvc

EXPOSE 8000
CMD ["gunicorn", "cronsvc.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--access-logfile", "-"]
