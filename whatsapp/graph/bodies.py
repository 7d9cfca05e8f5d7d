"""Messages in Meta's Cloud API format, built from what the send API accepted."""

from whatsapp.models import Message


def _template(content: dict) -> dict:
    components = []
    header = content.get("header")
    if header and header["type"] == "text":
        components.append(
            {"type": "header", "parameters": [{"type": "text", "text": header["text"]}]}
        )
    elif header:
        kind = header["type"]
        components.append(
            {"type": "header", "parameters": [{"type": kind, kind: {"link": header["url"]}}]}
        )
    if content["variables"]:
        parameters = [{"type": "text", "text": value} for value in content["variables"]]
        components.append({"type": "body", "parameters": parameters})
    for button in content.get("buttons", []):
        parameter = (
            {"type": "text", "text": button["parameter"]}
            if button["sub_type"] == "url"
            else {"type": "payload", "payload": button["parameter"]}
        )
        components.append(
            {
                "type": "button",
                "sub_type": button["sub_type"],
                "index": str(button["index"]),
                "parameters": [parameter],
            }
        )
    template = {"name": content["name"], "language": {"code": content["language"]}}
    if components:
        template["components"] = components
    return template


def _media(content: dict) -> dict:
    # A file fetched by TextPeak has been uploaded by now: it goes by the id it was given.
    media = {"id": content["id"]} if "id" in content else {"link": content["url"]}
    for key in ("caption", "filename"):
        if key in content:
            media[key] = content[key]
    return media


def meta_payload(message: Message) -> dict:
    """The body of ``POST /{phone-number-id}/messages`` for the message."""
    content = message.payload
    payload = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": message.contact_number,
        "type": message.type,
    }
    quoted = message.reply_to.wamid if message.reply_to_id and message.reply_to else None
    if message.type == "text":
        payload["text"] = {"body": content["body"], "preview_url": content["preview_url"]}
    elif message.type == "template":
        payload["template"] = _template(content)
    elif message.type == "interactive":
        payload["interactive"] = content  # kept in Meta's own shape
    elif message.type == "contacts":
        payload["contacts"] = content["contacts"]
    elif message.type == "location":
        payload["location"] = {k: v for k, v in content.items() if v != ""}
    elif message.type == "reaction":
        payload["reaction"] = {"message_id": quoted, "emoji": content["emoji"]}
        return payload
    else:
        payload[message.type] = _media(content)
    if quoted:
        payload["context"] = {"message_id": quoted}
    return payload
