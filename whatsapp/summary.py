"""What a stored message says, in one line: the Messages tab shows it, the demo's simulated
replies quote it.

Sent messages keep what the send API accepted (an interactive one as Meta's own object);
received ones what ``whatsapp.inbound.parse`` kept, each type under its own key.
"""

from whatsapp.models import Message


def message_summary(message: Message) -> str:
    """The message's text, choices, file, place or cards; "" when it has none to show."""
    payload = message.payload or {}
    if message.direction == Message.Direction.INBOUND:
        return _received(message.type, payload)
    return _sent(message.type, payload)


def _sent(kind: str, payload: dict) -> str:
    if kind == "text":
        return payload.get("body", "")
    if kind == "template":
        return f"Template {payload.get('name', '')}"
    if kind == "interactive":
        return _interactive(payload)
    if kind == "contacts":
        return _cards(payload.get("contacts", []))
    if kind == "location":
        return _place(payload)
    if kind == "reaction":
        return payload.get("emoji") or "Reaction removed"
    return payload.get("caption") or payload.get("filename") or payload.get("url", "")


def _received(kind: str, payload: dict) -> str:
    if kind == "text":
        return payload.get("body", "")
    if kind == "interactive":  # a button or list row chosen
        return payload["interactive"].get("title", "")
    if kind == "button":  # a template's quick-reply button
        return payload["button"].get("text", "")
    if kind == "contacts":
        return _cards(payload.get("contacts", []))
    if kind == "location":
        return _place(payload.get("location", {}))
    if kind == "reaction":
        return payload["reaction"].get("emoji") or "Reaction removed"
    media = payload.get("media")
    return (media.get("caption") or media.get("filename") or "") if media else ""


def _interactive(interactive: dict) -> str:
    """Its body and what the recipient can choose: ``Pick a slot [Morning | Evening]``."""
    action = interactive.get("action", {})
    choices = [button["reply"]["title"] for button in action.get("buttons", [])]
    choices += [row["title"] for section in action.get("sections", []) for row in section["rows"]]
    if "parameters" in action:
        choices.append(action["parameters"]["display_text"])
    body = interactive.get("body", {}).get("text", "")
    return f"{body} [{' | '.join(choices)}]" if choices else body


def _cards(cards: list) -> str:
    return ", ".join(card.get("name", {}).get("formatted_name", "") for card in cards)


def _place(location: dict) -> str:
    if location.get("name") or location.get("address"):
        return location.get("name") or location.get("address")
    return f"{location.get('latitude')}, {location.get('longitude')}"
