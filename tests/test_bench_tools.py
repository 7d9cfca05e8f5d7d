"""Each benchmark checks what it needs before it starts (``bench/setup.py``'s ``require``)."""

import importlib.util
from pathlib import Path

import pytest

BENCH_SETUP = Path(__file__).resolve().parents[1] / "bench" / "setup.py"


def _bench_setup():
    """bench/setup.py as the benchmarks import it, read afresh (it reads BENCH_* at import)."""
    spec = importlib.util.spec_from_file_location("bench_setup", BENCH_SETUP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_it_says_in_one_line_how_to_install_a_missing_wrk(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit) as stopped:
        _bench_setup().require("wrk")
    assert stopped.value.code == 2
    assert capsys.readouterr().err == "Missing: wrk (apt-get install wrk)\n"


def test_it_names_an_unreachable_redis_without_its_password(monkeypatch, capsys):
    monkeypatch.setenv("BENCH_REDIS_URL", "redis://:hunter2@127.0.0.1:1/15")
    with pytest.raises(SystemExit) as stopped:
        _bench_setup().require("redis")
    assert stopped.value.code == 2
    assert capsys.readouterr().err == (
        "Missing: Redis at 127.0.0.1:1 (apt-get install redis-server, then service redis-server"
        " start; or set BENCH_REDIS_URL)\n"
    )
