"""Closed-loop HTTP load: N keep-alive connections send requests back to back for D seconds.

    python bench/http_load.py http://127.0.0.1:8000/healthz --connections 32 --seconds 10

Prints requests/s, latency percentiles and the status codes seen. Other benchmarks import
``run`` to measure their endpoint beside a trivial one in the same run. Only aim it at servers
on this machine.
"""

import argparse
import http.client
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Result:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, pct: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000

    def summary(self, label: str) -> str:
        if not self.latencies:
            return f"{label}: no responses"
        mean = statistics.mean(self.latencies) * 1000
        return (
            f"{label}: {self.rate:,.0f} req/s, p50 {self.percentile(50):.1f} ms, "
            f"p99 {self.percentile(99):.1f} ms, mean {mean:.1f} ms, statuses {dict(self.statuses)}"
        )


def run(
    url: str,
    *,
    connections: int = 32,
    seconds: float = 10.0,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Result:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + seconds
    result = Result(seconds=seconds)
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
        latencies, statuses = [], Counter()
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers or {})
                response = conn.getresponse()
                response.read()
                statuses[response.status] += 1
            except (OSError, http.client.HTTPException) as error:
                statuses[type(error).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
                continue
            latencies.append(time.perf_counter() - started)
        conn.close()
        with lock:
            result.latencies.extend(latencies)
            result.statuses.update(statuses)

    threads = [threading.Thread(target=client) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    print(run(args.url, connections=args.connections, seconds=args.seconds).summary(args.url))


if __name__ == "__main__":
    main()
