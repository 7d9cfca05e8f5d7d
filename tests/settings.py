"""Settings for the test suite: the real settings module, with test-only values in the env."""

import atexit
import os
import shutil
import tempfile

os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-secret-key-" + "x" * 40)
os.environ.setdefault("TEXTPEAK_ENCRYPTION_KEYS", "0b6mN1zPOfvH8Yv0gjMpn5JERorZTnTrhsVNkOtQG-k=")
os.environ.setdefault("WEBHOOK_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Keep the suite's SQLite files and embedded broker away from the ones `make run` uses.
os.environ["TEXTPEAK_VAR_DIR"] = tempfile.mkdtemp(prefix="textpeak-tests-")
atexit.register(shutil.rmtree, os.environ["TEXTPEAK_VAR_DIR"], ignore_errors=True)

from textpeak.queues import celery_queues  # noqa: E402
from textpeak.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = False
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Tasks the tests publish go to queues of their own, never to a worker of `make run`.
CELERY_TASK_QUEUES, CELERY_TASK_ROUTES, CELERY_TASK_DEFAULT_QUEUE = celery_queues("textpeak-tests-")
STATIC_ROOT.mkdir(exist_ok=True)  # noqa: F405  (WhiteNoise warns about a missing folder)

# One cache per test process: tests clear it freely, which must never flush the Redis that
# holds the broker's queues.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Changes (a disabled stream, a paused template) reach the API at once; the tests of the
# process-local caches set their own value.
API_CACHE_SECONDS = 0
# Each task is published as its transaction commits, so tests see it at once; the tests of
# coalescing turn it on.
TASK_COALESCE_SECONDS = 0
# Most tests send several messages to one recipient at once; the tests of the pair limit turn
# it on.
SEND_PAIR_SECONDS = 0
