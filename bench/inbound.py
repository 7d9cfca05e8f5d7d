"""Throughput and latency of Meta's webhook callback under the production web server.

    python bench/inbound.py [--seconds 10] [--connections 32] [--web-workers 3]

Starts gunicorn as docker-compose.yml does, on PostgreSQL and Redis (see bench/setup.py),
for a stream with an app secret and an Incoming Messages Webhook (set up against the fake Graph
API, as a real stream is checked with Meta), and drives it with wrk
(Debian's package) at 32 connections (gunicorn's sync workers close each after its answer):
the trivial endpoint (``/healthz?live``), then signed Meta payloads of one text message
each, every one a different message (so none is deduplicated). No worker runs: the
callback's work ends when the body is kept and its task enqueued. Then the kept bodies are
stored as a worker does, and the messages and deliveries counted.
"""

import tempfile
from pathlib import Path

import setup

APP_SECRET = "bench-app-secret"
WABA_ID = "102000000000001"
BODIES = 40_000


def _body(number: int) -> bytes:
    return setup.meta_body(
        wamid=f"wamid.BENCH{number:012d}", text=f"Where is my order #{number}?", waba_id=WABA_ID
    )


def _lua(path: str, data: str) -> str:
    """A wrk script that posts a different signed body on every request, read from ``data``
    (one "signature body" line each: a script holding them all is too big for LuaJIT)."""
    with open(data, "w") as lines:
        for number in range(BODIES):
            body = _body(number)
            lines.write(f"{setup.meta_signature(body, APP_SECRET)} {body.decode()}\n")
    return f"""
local bodies, signatures = {{}}, {{}}
for line in io.lines("{data}") do
  local signature, body = line:match("^(%S+) (.*)$")
  signatures[#signatures + 1] = signature
  bodies[#bodies + 1] = body
end
local counter = 0
local offset = 0
setup = function(thread) offset = offset + {BODIES // 2}; thread:set("start", offset) end
init = function(args) counter = start or 0 end
request = function()
  counter = counter % {BODIES} + 1
  return wrk.format("POST", "{path}", {{["Content-Type"] = "application/json",
    ["X-Hub-Signature-256"] = signatures[counter]}}, bodies[counter])
end
"""


def main():
    args = setup.web_arguments(__doc__.splitlines()[0])
    setup.require("wrk", "postgresql", "redis")
    from whatsapp.testing.fake_graph import FakeGraph

    # Only the setup asks the Graph API (the callback never does): the fake runs in this
    # process until the stream is Ready.
    with FakeGraph() as fake:
        business = fake.add_business(waba_id=WABA_ID)
        setup.ENV["WHATSAPP_GRAPH_URL"] = fake.url
        setup.django_setup()
        stream, _ = setup.ready_stream(
            name="inbound bench", business=business, app_secret=APP_SECRET
        )
    from webhooks.services import webhook_save
    from whatsapp.services import callback_path

    webhook_save(stream=stream, method="POST", url="https://hooks.example.com/in", headers=[])
    path = callback_path(stream.whatsapp)
    data = str(Path(tempfile.gettempdir()) / f"textpeak-inbound-{stream.uid}.txt")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_lua(path, data))
    run = {"seconds": args.seconds, "connections": args.connections}
    try:
        with setup.web_server(args.web_workers):
            trivial = setup.wrk(setup.WEB_URL + setup.TRIVIAL, **run)
            inbound = setup.wrk(setup.WEB_URL + path, script.name, **run)
    finally:
        Path(script.name).unlink()
        Path(data).unlink()

    from webhooks.models import Delivery
    from whatsapp.inbound.payloads import payloads_store
    from whatsapp.models import InboundPayload, Message

    kept = list(InboundPayload.objects.filter(stream=stream).values_list("pk", flat=True))
    payloads_store(payload_ids=kept)
    stored = Message.objects.filter(stream=stream).count()
    deliveries = Delivery.objects.filter(endpoint__stream=stream).count()
    setup.print_figures(
        args,
        {"GET /healthz?live (trivial)": trivial, "POST Meta callback, 1 message": inbound},
    )
    print(f"  callback rate vs trivial: {inbound[0] / trivial[0]:.0%} (target >= 35%, p99 < 50 ms)")
    print(
        f"  bodies kept {len(kept):,}; stored afterwards as messages {stored:,}, "
        f"deliveries queued {deliveries:,}"
    )


if __name__ == "__main__":
    main()
