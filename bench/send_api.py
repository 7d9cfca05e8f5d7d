"""Throughput and latency of POST /api/whatsapp/send/ under the production web server.

    python bench/send_api.py [--seconds 10] [--connections 32] [--web-workers 3]

Starts gunicorn as docker-compose.yml does, on PostgreSQL and Redis (see bench/setup.py),
then drives it with wrk (Debian's package) at 32 connections (gunicorn's sync workers close
each after its answer): the trivial endpoint (``/healthz?live``), 1-message send requests,
100-message send requests of templates, and 100-message requests mixing templates, reply
buttons, lists, media by link and texts, one after the other in the same run. No worker runs:
accepted messages stay queued (the API's work ends at the commit and the enqueue).
"""

import json
import tempfile
from pathlib import Path

import setup


def _message(number: int) -> dict:
    return {
        "sender": "15550100100",
        "recipient_phone": "4915112345678",
        "type": "template",
        "template": {
            "name": "order_update",
            "language": "en_US",
            "variables": ["Anna", f"#{number}"],
        },
    }


def _interactive(number: int) -> dict:
    """Reply buttons or a list, as large as Meta allows them often are."""
    if number % 2:
        action = {
            "buttons": [
                {"type": "reply", "reply": {"id": f"{number}-{choice}", "title": choice}}
                for choice in ("Yes", "Another day", "To the shop")
            ]
        }
        kind = "button"
    else:
        rows = [
            {"id": f"{number}-{n}", "title": f"Slot {n}", "description": f"{n}:00"}
            for n in range(8)
        ]
        action = {"button": "Choose a slot", "sections": [{"title": "Tomorrow", "rows": rows}]}
        kind = "list"
    return {
        "type": kind,
        "body": {"text": f"When should we deliver order #{number}?"},
        "action": action,
    }


def _mixed(number: int) -> dict:
    """Templates, interactive messages, media and texts, in turn."""
    kind = number % 5
    if kind == 0:
        return _message(number)
    message = {"sender": "15550100100", "recipient_phone": "4915112345678"}
    if kind in (1, 2):
        return {**message, "type": "interactive", "interactive": _interactive(number)}
    if kind == 3:
        media = {"url": f"https://example.com/parcels/{number}.jpg", "caption": f"Order #{number}"}
        return {**message, "type": "image", "media": media}
    return {**message, "type": "text", "message_content": f"Your order #{number} is on its way."}


def _wrk(path: str, *, seconds: int, connections: int, token: str = "", body: dict | None = None):
    script = ""
    if body is not None:
        script = (
            'wrk.method = "POST"\n'
            f"wrk.body = {json.dumps(json.dumps(body))}\n"
            'wrk.headers["Content-Type"] = "application/json"\n'
            f'wrk.headers["Authorization"] = "{token}"\n'
        )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        return setup.wrk(setup.WEB_URL + path, lua.name, seconds=seconds, connections=connections)
    finally:
        Path(lua.name).unlink()


def main():
    args = setup.web_arguments(__doc__.splitlines()[0])
    setup.require("wrk", "postgresql", "redis")
    setup.django_setup()
    _, token = setup.ready_stream(name="send API bench")
    run = {"seconds": args.seconds, "connections": args.connections}
    with setup.web_server(args.web_workers):
        trivial = _wrk(setup.TRIVIAL, **run)
        single = _wrk("/api/whatsapp/send/", token=token, body={"messages": [_message(1)]}, **run)
        batch = _wrk(
            "/api/whatsapp/send/",
            token=token,
            body={"messages": [_message(n) for n in range(100)]},
            **run,
        )
        mixed = _wrk(
            "/api/whatsapp/send/",
            token=token,
            body={"messages": [_mixed(n) for n in range(100)]},
            **run,
        )
    setup.print_figures(
        args,
        {
            "GET /healthz?live (trivial)": trivial,
            "POST send, 1 message": single,
            "POST send, 100 messages": batch,
            "POST send, 100 mixed messages": mixed,
        },
    )
    print(f"  1-message rate vs trivial: {single[0] / trivial[0]:.0%} (target >= 35%, p99 < 50 ms)")
    print(
        f"  accepted messages/s with 100-message requests: {batch[0] * 100:,.0f} (target >= 5,000)"
    )
    print(
        f"  accepted messages/s with 100 mixed messages: {mixed[0] * 100:,.0f}, "
        f"{mixed[0] / batch[0]:.0%} of the templates' (target >= 85%)"
    )


if __name__ == "__main__":
    main()
