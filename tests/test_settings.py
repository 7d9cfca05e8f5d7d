import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from textpeak.env import env_bool, env_list

ROOT = Path(__file__).resolve().parent.parent


def _manage(*args, **env):
    clean = {"PATH": os.environ["PATH"], **env, "DJANGO_SETTINGS_MODULE": "textpeak.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


def _production(tmp_path, **extra):
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": Fernet.generate_key().decode() * 2,
        "TEXTPEAK_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "ALLOWED_HOSTS": "streams.textpeak.example",
        "TEXTPEAK_VAR_DIR": str(tmp_path),
        **extra,
    }


def test_deploy_check_is_clean_with_production_settings(tmp_path):
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_it_refuses_to_start_without_a_secret_key_in_production(tmp_path):
    env = _production(tmp_path)
    del env["DJANGO_SECRET_KEY"]
    result = _manage("check", **env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_it_reports_an_encryption_key_that_is_not_a_fernet_key(tmp_path):
    result = _manage("check", **_production(tmp_path, TEXTPEAK_ENCRYPTION_KEYS="not-a-key"))
    assert result.returncode != 0
    assert "textpeak.E002" in result.stderr


def test_a_misspelt_boolean_is_an_error(monkeypatch):
    monkeypatch.setenv("DJANGO_DEBUG", "ture")
    with pytest.raises(ImproperlyConfigured, match="DJANGO_DEBUG must be true or false"):
        env_bool("DJANGO_DEBUG", default=False)


def test_lists_are_comma_separated_and_trimmed(monkeypatch):
    monkeypatch.setenv("ALLOWED_HOSTS", " a.example , b.example,,")
    assert env_list("ALLOWED_HOSTS") == ["a.example", "b.example"]
