"""The OpenAPI document (/api/openapi.json) and its page (/api/docs) against the real API.

The document must be valid OpenAPI; every real answer of the API (200, 400, 403, 405, 413,
429) must match the schema the document gives for that path and status; every request
example it shows must be accepted by the real API; and the limits it states must be the
limits the API applies, on both sides of each boundary.
"""

import json
import re
import uuid

import pytest
from django.test import Client
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from streams import services as stream_services
from streams.models import Stream
from tests.factories import AccountFactory, StreamFactory, contact_wrote, whatsapp_stream
from whatsapp import services as wa
from whatsapp.api import docs, openapi
from whatsapp.api.examples import api_examples
from whatsapp.graph.demo import DEMO_BUSINESS_ID
from whatsapp.models import Message
from whatsapp.outbox import read
from whatsapp.testing.fake_graph import INVALID_TOKEN

pytestmark = pytest.mark.django_db

SEND = openapi.SEND_PATH
STATUS = openapi.STATUS_PATH
MEDIA = openapi.MEDIA_PATH
CONTACTS = openapi.CONTACTS_PATH
UPLOAD = openapi.UPLOAD_PATH
READ = openapi.READ_PATH
SENDER = "15550100100"  # the demo sender (whatsapp.graph.demo)
RECIPIENT = "4915112345678"


@pytest.fixture
def doc():
    return openapi.document()


@pytest.fixture
def stream(account, whatsapp_access):
    """A Ready Demo Sending stream with its senders and templates cached."""
    stream = StreamFactory(account=account, is_demo=True, name="Demo")
    account = wa.whatsapp_settings_save(stream=stream, business_id=DEMO_BUSINESS_ID)
    wa.whatsapp_account_refresh(account=account)
    return stream


@pytest.fixture
def post(client, token):
    def post(path, body, authorization=token, **extra):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        if authorization is not None:
            extra["HTTP_AUTHORIZATION"] = authorization
        return client.post(path, data, content_type="application/json", **extra)

    return post


@pytest.fixture
def replied(stream):
    """The message the documented ``reply_to`` / reaction examples point at: one the stream
    sent and WhatsApp accepted (it has a wamid)."""
    return Message.objects.create(
        uuid=openapi.EXAMPLE_REPLY_TO,
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number=SENDER,
        contact_number=RECIPIENT,
        type="text",
        payload={"body": "Your order is on its way"},
        status=Message.Status.SENT,
        wamid="wamid.DEMO-replied",
    )


def _validator(doc, schema):
    # The schema's $refs point into the document's components: resolve them from there.
    return OAS31Validator(
        {**schema, "components": doc["components"]}, format_checker=OAS31Validator.FORMAT_CHECKER
    )


def _check(doc, schema, instance):
    errors = sorted(_validator(doc, schema).iter_errors(instance), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def _response(doc, path, status):
    return doc["paths"][path]["post"]["responses"][str(status)]


def _check_response(doc, path, response):
    """The real answer matches the document's schema (and headers) for its path and status."""
    documented = _response(doc, path, response.status_code)
    for name, header in documented.get("headers", {}).items():
        assert response.has_header(name), name
        value = response[name]
        if header["schema"]["type"] == "integer":
            assert value.isdigit(), value
            value = int(value)
        _check(doc, header["schema"], value)
    if "content" not in documented:
        assert response.content == b""
        return None
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    _check(doc, documented["content"]["application/json"]["schema"], body)
    return body


def _example_values(doc, path, status):
    content = _response(doc, path, status)["content"]["application/json"]
    return [example["value"] for example in content["examples"].values()]


def _request_schema(doc, path):
    return doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]


MESSAGE_SCHEMA = {"$ref": "#/components/schemas/Message"}


def _message(kind="text", **fields):
    message = {"sender": SENDER, "recipient_phone": RECIPIENT, "type": kind}
    if kind == "text":
        message["message_content"] = "Hello"
    message.update(fields)
    return message


# A body every POST endpoint accepts.
BOTH = {
    "messages": [_message()],
    "message_uuids": ["0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10"],
    "contacts": [RECIPIENT],
    "message_uuid": "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10",
}


# The document


def test_document_is_valid_openapi(doc, settings):
    validate_spec(doc)
    assert doc["openapi"] == "3.1.0"
    assert doc["info"]["title"] == "TextPeak Streams API"
    assert doc["servers"] == [{"url": settings.SITE_URL}]
    scheme = doc["components"]["securitySchemes"]["StreamToken"]
    assert (scheme["type"], scheme["in"], scheme["name"]) == ("apiKey", "header", "Authorization")
    assert set(doc["paths"]) == {SEND, STATUS, CONTACTS, UPLOAD, READ, MEDIA}
    assert set(doc["paths"][MEDIA]) == {"get"}
    assert set(doc["paths"][MEDIA]["get"]["responses"]) == {
        "200",
        "403",
        "404",
        "405",
        "410",
        "429",
        "502",
    }
    for path in (SEND, STATUS, CONTACTS):
        assert set(doc["paths"][path]["post"]["responses"]) == {
            "200",
            "400",
            "403",
            "405",
            "413",
            "429",
        }
    assert set(doc["paths"][UPLOAD]["post"]["responses"]) == {
        "200",
        "400",
        "403",
        "405",
        "413",
        "429",
        "502",
    }
    assert set(doc["paths"][READ]["post"]["responses"]) == {
        "200",
        "202",
        "400",
        "403",
        "404",
        "405",
        "413",
        "429",
    }


def test_every_example_matches_its_schema(doc):
    for path, item in doc["paths"].items():
        (operation,) = item.values()
        content = operation.get("requestBody", {}).get("content", {})
        request = content.get("application/json")
        # The media download is a GET with no body; the upload takes a form.
        assert request or path == MEDIA or set(content) == {"multipart/form-data"}, path
        for example in request["examples"].values() if request else ():
            _check(doc, request["schema"], example["value"])
        for status, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if content:
                assert content["examples"], (path, status)
                for example in content["examples"].values():
                    _check(doc, content["schema"], example["value"])


def test_the_batch_example_shows_one_accepted_and_one_refused_message(doc):
    (partial, *_) = _example_values(doc, SEND, 200)
    assert [m["error"] for m in partial["messages"]] == [None, "UNKNOWN_TEMPLATE"]


def test_the_document_states_the_configured_limits(settings):
    settings.STREAM_API_REQUESTS_PER_SECOND = 7
    settings.API_MAX_BODY_BYTES = 1234
    text = json.dumps(openapi.document())
    assert "7 requests per second" in text
    assert "1234 bytes" in text


# Served in public


def test_json_and_docs_need_no_login():
    client = Client()
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == json.loads(json.dumps(openapi.document()))

    page = client.get("/api/docs")
    assert page.status_code == 200
    html = page.content.decode()
    assert "TextPeak Streams API" in html
    for path in (SEND, STATUS, CONTACTS):
        assert f"<code>{path}</code>" in html
    assert 'href="/api/openapi.json"' in html
    for code in openapi.ERROR_CODES:
        assert f"<code>{code}</code>" in html
    assert "Customer service window" in html
    for kind in openapi.MESSAGE_TYPES:
        assert f'id="type-{kind}"' in html
    for field in (
        "messages[].template.variables",
        "messages[].media.filename",
        "messages[].interactive.action.buttons[].reply.title",
        "messages[].interactive.action.sections[].rows[].description",
        "messages[].contacts[].name.formatted_name",
    ):
        assert f"<code>{field}</code>" in html
    assert html.count("data-copy=") >= 15
    # Server-rendered with the app's own assets: no script or style from elsewhere.
    assert not re.search(r"""(src|href)=["']https?://""", html)
    assert "&quot;recipient_phone&quot;: &quot;4915112345678&quot;" in html


def test_the_page_is_rendered_from_the_document():
    context = docs.docs_context(openapi.document())
    send, status, contacts, upload, read_receipt, media = context["operations"]
    assert (read_receipt["method"], read_receipt["path"]) == ("POST", READ)
    assert [f["name"] for f in read_receipt["fields"]] == ["message_uuid", "typing"]
    assert (send["method"], send["path"], status["path"]) == ("POST", SEND, STATUS)
    assert (contacts["method"], contacts["path"], contacts["types"]) == ("POST", CONTACTS, [])
    [numbers] = contacts["fields"]
    assert (numbers["name"], numbers["rules"][0]) == ("contacts", "1 to 1000 items")
    assert (media["method"], media["path"], media["types"]) == ("GET", MEDIA, [])
    assert (upload["method"], upload["path"]) == ("POST", UPLOAD)
    assert [row["name"] for row in upload["fields"]] == ["sender", "file"]
    assert upload["examples"][0]["summary"] == "curl"
    assert [t["name"] for t in send["types"]] == list(openapi.MESSAGE_TYPES)
    rows = {row["name"]: row for t in send["types"] for row in t["fields"]}
    assert rows["messages[].message_content"]["rules"] == ["1 to 4096 characters"]
    assert rows["messages[].interactive.action.buttons"]["rules"] == ["1 to 3 items"]
    assert rows["messages[].contacts"]["rules"] == ["at least 1 item"]
    assert rows["messages[].template.header.text"]["required"] == 'if type is "text"'
    assert rows["messages[].media.url"]["required"] == "if fetch is true"
    assert "messages[].media.id" in rows
    assert "messages[].media.fetch" in rows
    common = {row["name"]: row for row in send["common_fields"]}
    assert common["messages[].recipient_phone"]["required"] == "yes"
    assert [r["status"] for r in send["responses"]] == ["200", "400", "403", "405", "413", "429"]


MARKUP = " <b>plain</b> `<i>code</i>` **<u>strong</u>**"


def _with_markup(node):
    """The document with markup added to every text the page shows as prose."""
    if isinstance(node, list):
        return [_with_markup(item) for item in node]
    if not isinstance(node, dict):
        return node
    marked = {}
    for key, value in node.items():
        if key in ("description", "summary", "title") and isinstance(value, str):
            marked[key] = value + MARKUP
        elif key == "x-enumDescriptions":
            marked[key] = {name: text + MARKUP for name, text in value.items()}
        else:
            marked[key] = _with_markup(value)
    return marked


def test_the_page_shows_the_documents_texts_as_text(client, monkeypatch):
    real = openapi.document
    monkeypatch.setattr(openapi, "document", lambda request=None: _with_markup(real(request)))
    html = client.get("/api/docs").content.decode()
    for raw in ("<b>plain</b>", "<i>code</i>", "<u>strong</u>"):
        assert raw not in html
    # Only the Markdown subset becomes markup, around text that stays escaped.
    assert "&lt;b&gt;plain&lt;/b&gt;" in html
    assert "<code>&lt;i&gt;code&lt;/i&gt;</code>" in html
    assert "<strong>&lt;u&gt;strong&lt;/u&gt;</strong>" in html


def test_docs_only_answer_get_and_head(client):
    assert client.post("/api/openapi.json").status_code == 405
    assert client.post("/api/docs").status_code == 405
    assert client.head("/api/docs").status_code == 200


# Real answers against the document


def test_batch_with_accepted_and_refused_messages(doc, post):
    body = {
        "messages": [
            _message(internal_id="a-1"),
            _message(
                "template",
                internal_id="a-2",
                template={"name": "order_update", "language": "en_US", "variables": ["Anna"]},
            ),
            _message("template", internal_id="a-3", template={"name": "nope", "language": "en"}),
            _message(internal_id="a-4", sender="15550009999"),
            _message(internal_id="a-5", recipient_phone="012"),
            "not an object",
        ]
    }
    response = post(SEND, body)
    assert response.status_code == 200
    result = _check_response(doc, SEND, response)
    assert [m["error"] for m in result["messages"]] == [
        None,
        "INVALID_MESSAGE",
        "UNKNOWN_TEMPLATE",
        "UNKNOWN_SENDER",
        "INVALID_RECIPIENT",
        "INVALID_MESSAGE",
    ]
    assert [m["internal_id"] for m in result["messages"]] == [
        "a-1",
        "a-2",
        "a-3",
        "a-4",
        "a-5",
        None,
    ]

    again = post(SEND, {"messages": [_message(internal_id="a-1")]})
    (retry,) = _check_response(doc, SEND, again)["messages"]
    assert retry["message_uuid"] == result["messages"][0]["message_uuid"]


def test_the_documented_send_answers_are_real(doc, post):
    """The 200 examples' refusals are what the API answers for such messages."""
    documented = [m for value in _example_values(doc, SEND, 200) for m in value["messages"]]
    template = {"name": "order_update", "language": "en_US", "variables": ["Anna", "#1001"]}
    body = {
        "messages": [
            _message("template", internal_id="ord-1001", template=template),
            _message(
                "template", internal_id="ord-1004", template={**template, "name": "order_updates"}
            ),
            _message(internal_id="ord-1005", recipient_phone="12345"),
        ]
    }
    real = _check_response(doc, SEND, post(SEND, body))["messages"]
    ignore_uuid = [{**m, "message_uuid": bool(m["message_uuid"])} for m in real]
    assert ignore_uuid == [{**m, "message_uuid": bool(m["message_uuid"])} for m in documented]


def test_bearer_token_is_accepted(doc, post, token):
    response = post(SEND, {"messages": [_message()]}, authorization=f"Bearer {token}")
    assert response.status_code == 200
    _check_response(doc, SEND, response)


def test_status_api(doc, post, stream):
    (accepted,) = post(SEND, {"messages": [_message()]}).json()["messages"]
    failed = Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number=SENDER,
        contact_number=RECIPIENT,
        type="text",
        status=Message.Status.SENT_FAILED,
        error_code="131026",
        error_message="Message undeliverable",
    )
    uuids = [
        accepted["message_uuid"],
        str(failed.uuid).upper(),
        "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10",
        "not a uuid",
    ]
    response = post(STATUS, {"message_uuids": uuids})
    assert response.status_code == 200
    result = _check_response(doc, STATUS, response)
    assert [(m["message_uuid"], m["status"]) for m in result["messages"]] == [
        (uuids[0], "queued"),
        (uuids[1], "sent_failed"),
        (uuids[2], "not_found"),
        (uuids[3], "not_found"),
    ]
    assert result["messages"][1]["error"] == {"code": "131026", "message": "Message undeliverable"}


def test_the_status_api_answers_pricing_as_documented(doc, post, stream):
    priced = Message.objects.create(
        stream=stream,
        direction=Message.Direction.OUTBOUND,
        sender_number=SENDER,
        contact_number=RECIPIENT,
        type="text",
        status=Message.Status.DELIVERED,
        pricing_billable=True,
        pricing_category="utility",
        pricing_model="PMP",
    )
    response = post(STATUS, {"message_uuids": [str(priced.uuid)]})
    [answer] = _check_response(doc, STATUS, response)["messages"]
    assert answer["pricing"] == {"billable": True, "category": "utility", "model": "PMP"}
    schema = doc["components"]["schemas"]["MessageStatus"]
    assert "pricing" in schema["required"]
    assert set(doc["components"]["schemas"]["Pricing"]["properties"]) == {
        "billable",
        "category",
        "model",
    }


@pytest.mark.parametrize(
    ("path", "key"),
    [(SEND, "messages"), (STATUS, "message_uuids"), (CONTACTS, "contacts")],
    ids=["send", "status", "contacts"],
)
def test_bad_requests_answer_as_documented(doc, post, path, key):
    bodies = {
        "not_json": "{malformed",
        "not_a_number": f'{{"{key}": [NaN]}}',
        "not_object": "[]",
        "no_array": {key: "everything"},
        "too_many": {key: ["x"] * 1001},
    }
    documented = _response(doc, path, 400)["content"]["application/json"]["examples"]
    for name, body in bodies.items():
        response = post(path, body)
        assert response.status_code == 400, name
        detail = _check_response(doc, path, response)["detail"]
        if name != "not_json":
            assert detail == documented[name]["value"]["detail"]
        else:
            assert detail.startswith("The body is not valid JSON: ")
    # The exact text of the documented malformed-JSON example.
    assert post(path, "").json() == documented["not_json"]["value"]


def test_status_api_refuses_uuids_that_are_not_strings(doc, post):
    response = post(STATUS, {"message_uuids": [1, 2]})
    assert response.status_code == 400
    _check_response(doc, STATUS, response)


@pytest.mark.parametrize("path", [SEND, STATUS, CONTACTS, READ])
def test_forbidden_answers_as_documented(doc, post, stream, token, path):
    documented = {value["detail"] for value in _example_values(doc, path, 403)}
    seen = set()

    def refused(**kwargs):
        response = post(path, BOTH, **kwargs)
        assert response.status_code == 403
        detail = _check_response(doc, path, response)["detail"]
        assert detail in documented
        seen.add(detail)
        return detail

    assert refused(authorization=None) == "Not authenticated"
    assert refused(authorization="tp_not-a-token") == "Not authenticated"
    assert refused(authorization="Bearer ") == "Not authenticated"

    stream.ip_acl_enabled = True
    stream.allowed_networks = ["203.0.113.0/24"]
    stream.save()
    assert refused() == "IP address not allowed"
    assert post(path, BOTH, REMOTE_ADDR="203.0.113.9").status_code in (200, 404)
    stream.ip_acl_enabled = False
    stream.save()

    stream_services.stream_disable(stream=stream)
    assert refused() == "Stream is disabled"
    Stream.objects.filter(pk=stream.pk).update(status=Stream.Status.DRAFT)
    assert refused().startswith("Stream is not ready")

    outsider = StreamFactory(account=AccountFactory(), is_demo=True)
    other_token = stream_services.stream_token_regenerate(stream=outsider)
    assert refused(authorization=other_token) == (
        "This account does not have access to this stream type"
    )
    assert seen == documented


@pytest.mark.parametrize("path", [SEND, STATUS, CONTACTS, READ])
def test_too_large_body(doc, post, settings, path):
    settings.API_MAX_BODY_BYTES = 300
    doc = openapi.document()
    response = post(path, {"messages": [_message(message_content="x" * 400)]})
    assert response.status_code == 413
    assert _check_response(doc, path, response) == _example_values(doc, path, 413)[0]


@pytest.mark.parametrize("path", [SEND, STATUS, CONTACTS, READ])
def test_too_many_requests(doc, post, settings, path):
    settings.STREAM_API_REQUESTS_PER_SECOND = 1
    doc = openapi.document()
    statuses = [post(path, BOTH) for _ in range(3)]
    response = next(r for r in statuses if r.status_code == 429)
    assert _check_response(doc, path, response) == _example_values(doc, path, 429)[0]
    assert int(response["Retry-After"]) >= 1


@pytest.mark.parametrize("path", [SEND, STATUS, CONTACTS, READ])
def test_too_many_unknown_tokens(doc, post, settings, path):
    settings.UNKNOWN_KEY_MISS_LIMIT = 1
    settings.UNKNOWN_KEY_WINDOW_SECONDS = 6
    statuses = [post(path, BOTH, authorization="tp_" + "x" * 43) for _ in range(2)]
    assert [response.status_code for response in statuses] == [403, 429]
    documented = _example_values(doc, path, 429)[1]
    assert _check_response(doc, path, statuses[1]) == documented
    assert statuses[1]["Retry-After"] == "6"


@pytest.mark.parametrize("path", [SEND, STATUS, CONTACTS, READ])
def test_other_methods(doc, client, token, path):
    response = client.get(path, HTTP_AUTHORIZATION=token)
    assert response.status_code == 405
    _check_response(doc, path, response)


# The documented requests are what the API accepts


def test_every_request_example_is_accepted_by_the_api(doc, post, replied):
    send = doc["paths"][SEND]["post"]["requestBody"]["content"]["application/json"]
    assert {"batch", "text", "template", "location", "reaction"} <= set(send["examples"])
    kinds = set()
    for name, example in send["examples"].items():
        _check(doc, send["schema"], example["value"])
        response = post(SEND, example["value"])
        assert response.status_code == 200, name
        for result in _check_response(doc, SEND, response)["messages"]:
            assert result["error"] is None, (name, result)
            assert result["message_uuid"]
        kinds |= {m["type"] for m in example["value"]["messages"]}
    assert kinds == set(openapi.MESSAGE_TYPES)

    for path in (STATUS, CONTACTS):
        request = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        for example in request["examples"].values():
            _check(doc, request["schema"], example["value"])
            response = post(path, example["value"])
            assert response.status_code == 200
            _check_response(doc, path, response)


def test_the_read_examples_are_accepted_by_the_api(doc, post, stream):
    # The message the examples mark read: one the demo stream received.
    Message.objects.create(
        uuid=openapi.EXAMPLE_UUIDS[0],
        stream=stream,
        direction=Message.Direction.INBOUND,
        status=Message.Status.RECEIVED,
        sender_number=SENDER,
        contact_number=RECIPIENT,
        type="text",
        wamid="wamid.DEMOREPLY-example",
    )
    request = doc["paths"][READ]["post"]["requestBody"]["content"]["application/json"]
    assert set(request["examples"]) == {"read", "typing"}
    for example in request["examples"].values():
        _check(doc, request["schema"], example["value"])
        response = post(READ, example["value"])
        assert response.status_code == 202
        _check_response(doc, READ, response)


def test_console_examples_match_the_document(doc, stream):
    for example in api_examples(stream):
        _check(doc, _request_schema(doc, SEND), json.loads(example.body))


def _buttons(count, title="Yes", button_id=None):
    return {
        "type": "button",
        "body": {"text": "Confirm?"},
        "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": button_id or f"b{n}", "title": title + "!" * n}}
                for n in range(count)
            ]
        },
    }


def _rows(count, title="Row", description=""):
    rows = [{"id": f"r{n}", "title": title if count == 1 else f"{title} {n}"} for n in range(count)]
    if description:
        rows[0]["description"] = description
    return {
        "type": "list",
        "body": {"text": "Pick"},
        "action": {"button": "Open", "sections": [{"rows": rows}]},
    }


def _cta(**parameters):
    return {
        "type": "cta_url",
        "body": {"text": "Track"},
        "action": {
            "name": "cta_url",
            "parameters": {"display_text": "Track", "url": "https://e.com/t", **parameters},
        },
    }


# (interactive object, whether the document and the API both accept it). Counted across
# sections and unique ids are the API's alone: JSON Schema cannot say them.
INTERACTIVE = [
    (_buttons(3), True),
    (_buttons(4), False),
    (_buttons(0), False),
    (_buttons(1, title="t" * 20), True),
    (_buttons(1, title="t" * 21), False),
    (_buttons(1, button_id="i" * 256), True),
    (_buttons(1, button_id="i" * 257), False),
    ({**_buttons(1), "body": {"text": "b" * 1024}}, True),
    ({**_buttons(1), "body": {"text": "b" * 1025}}, False),
    ({**_buttons(1), "body": {}}, False),
    ({**_buttons(1), "footer": {"text": "f" * 60}}, True),
    ({**_buttons(1), "footer": {"text": "f" * 61}}, False),
    ({**_buttons(1), "header": {"type": "text", "text": "h" * 60}}, True),
    ({**_buttons(1), "header": {"type": "text", "text": "h" * 61}}, False),
    ({**_buttons(1), "header": {"type": "video", "video": {"link": "https://e.com/v.mp4"}}}, True),
    ({**_buttons(1), "header": {"type": "video"}}, False),
    ({**_buttons(1), "type": "carousel"}, False),
    ({**_rows(1), "body": {"text": "b" * 4096}}, True),
    ({**_rows(1), "body": {"text": "b" * 4097}}, False),
    ({**_cta(), "body": {"text": "b" * 1025}}, False),
    (_rows(10), True),
    (_rows(11), False),
    (_rows(1, title="r" * 24), True),
    (_rows(1, title="r" * 25), False),
    (_rows(1, description="d" * 72), True),
    (_rows(1, description="d" * 73), False),
    ({**_rows(1), "header": {"type": "image", "image": {"link": "https://e.com/a.jpg"}}}, False),
    ({**_rows(1), "action": {"sections": _rows(1)["action"]["sections"]}}, False),
    (_cta(display_text="d" * 20), True),
    (_cta(display_text="d" * 21), False),
    (_cta(url="ftp://e.com/t"), False),
    (
        {**_cta(), "action": {"name": "cta_call", "parameters": _cta()["action"]["parameters"]}},
        False,
    ),
]


BOUNDARIES = [
    # (message, whether the document and the API both accept it)
    (_message(recipient_phone="+4915112345678"), True),
    (_message(recipient_phone="1234567"), True),
    (_message(recipient_phone="123456"), False),
    (_message(recipient_phone="1" * 16), False),
    (_message(recipient_phone="04915112345678"), False),
    (_message(recipient_phone=4915112345678), False),
    (_message(sender="+" + SENDER), True),
    (_message(sender="1 555 010 0100"), False),
    (_message(internal_id="i" * 100), True),
    (_message(internal_id="i" * 101), False),
    (_message(message_content="x" * 4096), True),
    (_message(message_content="x" * 4097), False),
    (_message(message_content=""), False),
    (_message(type="sticker"), False),
    (_message(preview_url=True), True),
    (_message("image", media={"url": "https://example.com/a.jpg", "caption": "c" * 1024}), True),
    (_message("image", media={"url": "https://example.com/a.jpg", "caption": "c" * 1025}), False),
    (_message("image", media={"url": "ftp://example.com/a.jpg"}), False),
    (_message("image", media={"url": "https://" + "a" * 1992}), True),
    (_message("image", media={"url": "https://" + "a" * 1993}), False),
    (_message("image"), False),
    (_message("audio", media={"url": "https://example.com/a.ogg"}), True),
    (_message("image", media={"id": "1037543291543636"}), True),
    (_message("image", media={"id": "1037543291543636", "url": "https://example.com/a"}), False),
    (_message("image", media={"id": "1" * 101}), False),
    (_message("image", media={"url": "https://example.com/a.jpg", "fetch": True}), True),
    (_message("image", media={"id": "1037543291543636", "fetch": True}), False),
    (_message("image", media={"id": "1037543291543636", "fetch": False}), True),
    (_message("image", media={"caption": "no file"}), False),
    (_message("video", media={"url": "https://example.com/a.mp4", "caption": "Hi"}), True),
    (
        _message("document", media={"url": "https://example.com/a.pdf", "filename": "f" * 240}),
        True,
    ),
    (
        _message("document", media={"url": "https://example.com/a.pdf", "filename": "f" * 241}),
        False,
    ),
    (_message("location", location={"latitude": 90, "longitude": -180}), True),
    (_message("location", location={"latitude": 90.5, "longitude": 0}), False),
    (_message("location", location={"latitude": 0, "longitude": 180.5}), False),
    (_message("location", location={"latitude": "52.5", "longitude": 13.4}), False),
    (_message("location", location={"latitude": 0}), False),
    (_message("location", location={"latitude": 1, "longitude": 2, "name": "n" * 1001}), False),
    (_message("reaction", reaction={"message_uuid": openapi.EXAMPLE_REPLY_TO}), True),
    (_message("reaction", reaction={"message_uuid": openapi.EXAMPLE_REPLY_TO, "emoji": ""}), True),
    (
        _message(
            "reaction", reaction={"message_uuid": openapi.EXAMPLE_REPLY_TO, "emoji": "x" * 11}
        ),
        False,
    ),
    (_message("reaction", reaction={"emoji": "👍"}), False),
    (_message(reply_to=openapi.EXAMPLE_REPLY_TO), True),
    (_message(reply_to=openapi.EXAMPLE_REPLY_TO.upper()), True),
    (_message(reply_to=openapi.EXAMPLE_REPLY_TO.replace("-", "")), True),
    (_message(reply_to="3f6c2b9e"), False),
    (
        _message(
            "template",
            template={
                "name": "order_update",
                "language": "en_US",
                "variables": ["Anna", 1001],
                "header": {"type": "text", "text": "h" * 60},
                "buttons": [
                    {"sub_type": "url", "parameter": "p"},
                    {"index": 9, "sub_type": "quick_reply", "parameter": "yes"},
                ],
            },
        ),
        True,
    ),
    (
        _message(
            "template",
            template={"name": "hello_world", "language": "en_US", "header": {"type": "text"}},
        ),
        False,
    ),
    (
        _message(
            "template",
            template={
                "name": "hello_world",
                "language": "en_US",
                "header": {"type": "image", "url": "https://example.com/h.png"},
            },
        ),
        True,
    ),
    (
        _message(
            "template",
            template={"name": "hello_world", "language": "en_US", "header": {"type": "audio"}},
        ),
        False,
    ),
    (
        _message(
            "template",
            template={
                "name": "hello_world",
                "language": "en_US",
                "buttons": [{"sub_type": "url", "parameter": "p"}] * 11,
            },
        ),
        False,
    ),
    (
        _message(
            "template",
            template={
                "name": "hello_world",
                "language": "en_US",
                "buttons": [{"index": 10, "sub_type": "url", "parameter": "p"}],
            },
        ),
        False,
    ),
    (
        _message(
            "template",
            template={"name": "order_update", "language": "en_US", "variables": ["", "x"]},
        ),
        False,
    ),
    (
        _message(
            "template",
            template={"name": "order_update", "language": "en_US", "variables": ["a", "v" * 1025]},
        ),
        False,
    ),
    (_message("template", template={"language": "en_US"}), False),
    (_message("template", template={"name": "hello_world", "language": "x" * 16}), False),
    (
        _message(
            "template",
            template={"name": "hello_world", "language": "en_US"},
            reply_to=openapi.EXAMPLE_REPLY_TO,
        ),
        True,
    ),
    (_message("sticker", media={"url": "https://example.com/a.webp"}), True),
    (_message("sticker", media={"url": "ftp://example.com/a.webp"}), False),
    (_message("sticker"), False),
    *[(_message("interactive", interactive=value), valid) for value, valid in INTERACTIVE],
    (_message("interactive"), False),
    (_message("contacts", contacts=[{"name": {"formatted_name": "A"}}]), True),
    (
        _message(
            "contacts",
            contacts=[{"name": {"formatted_name": "A"}, "phones": [{"phone": "+1 555"}]}],
            reply_to=openapi.EXAMPLE_REPLY_TO,
        ),
        True,
    ),
    (_message("contacts", contacts=[]), False),
    (_message("contacts", contacts=[{"name": {"first_name": "A"}}]), False),
    (_message("contacts", contacts=[{"name": {"formatted_name": "A"}, "birthday": "1.2."}]), False),
]


@pytest.mark.parametrize(("message", "valid"), BOUNDARIES)
def test_the_documented_rules_are_the_apis(doc, post, replied, message, valid):
    """Both sides of each documented limit: the schema and the real API agree."""
    schema_valid = not list(_validator(doc, MESSAGE_SCHEMA).iter_errors(message))
    assert schema_valid == valid, "the document disagrees"
    response = post(SEND, {"messages": [message]})
    assert response.status_code == 200
    (result,) = _check_response(doc, SEND, response)["messages"]
    assert (result["error"] is None) == valid, result


# The media download (GET, answers the file itself)


def _media_url(message_uuid) -> str:
    return MEDIA.replace("{message_uuid}", str(message_uuid))


def _check_media_response(doc, response) -> dict | None:
    """The real answer of the media download matches the document for its status."""
    documented = doc["paths"][MEDIA]["get"]["responses"][str(response.status_code)]
    for name, header in documented.get("headers", {}).items():
        if response.status_code == 200 and name == "Content-Length" and name not in response:
            continue  # "when WhatsApp says it"
        assert response.has_header(name), name
        value = response[name]
        if header["schema"]["type"] == "integer":
            assert value.isdigit(), value
            value = int(value)
        _check(doc, header["schema"], value)
    if "application/json" not in documented["content"]:
        assert set(documented["content"]) == {"*/*"}
        return None
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    _check(doc, documented["content"]["application/json"]["schema"], body)
    return body


def _media_examples(doc, status) -> list[str]:
    content = doc["paths"][MEDIA]["get"]["responses"][str(status)]["content"]["application/json"]
    return [example["value"]["detail"] for example in content["examples"].values()]


def _incoming(stream, media):
    return Message.objects.create(
        stream=stream,
        direction=Message.Direction.INBOUND,
        sender_number=RECIPIENT,
        contact_number=RECIPIENT,
        type="image",
        payload={"media": media},
        status=Message.Status.RECEIVED,
    )


def test_the_media_download_answers_as_documented(doc, client, stream, token):
    message = _incoming(stream, {"id": "demo-1", "mime_type": "image/png", "sha256": ""})

    response = client.get(_media_url(message.uuid), HTTP_AUTHORIZATION=token)
    assert response.status_code == 200
    _check_media_response(doc, response)
    # Reading it to the end closes it (closing it again by hand would close the test's
    # database connection, as the end of a real request does).
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")

    text = Message.objects.create(
        stream=stream,
        direction=Message.Direction.INBOUND,
        sender_number=RECIPIENT,
        contact_number=RECIPIENT,
        type="text",
        payload={"body": "Hi"},
        status=Message.Status.RECEIVED,
    )
    for missing in (text.uuid, "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10", "not-a-uuid"):
        response = client.get(_media_url(missing), HTTP_AUTHORIZATION=token)
        assert response.status_code == 404
        assert _check_media_response(doc, response)["detail"] in _media_examples(doc, 404)

    response = client.post(_media_url(message.uuid), HTTP_AUTHORIZATION=token)
    assert response.status_code == 405
    assert _check_media_response(doc, response)["detail"] in _media_examples(doc, 405)

    response = client.get(_media_url(message.uuid))
    assert response.status_code == 403
    assert _check_media_response(doc, response) == {"detail": "Not authenticated"}


def test_the_media_downloads_whatsapp_errors_answer_as_documented(
    doc, client, account, whatsapp_access, fake_graph
):
    business = fake_graph.business
    stream = StreamFactory(account=account, name="Live", setup_progress=4)
    wa.whatsapp_settings_save(
        stream=stream, business_id=business.waba_id, access_token=business.token
    )
    token = stream_services.stream_token_regenerate(stream=stream)
    gone = _incoming(stream, {"id": "1093470098452461", "mime_type": "image/jpeg"})
    media_id = fake_graph.add_media(business, b"\xff\xd8\xff" + bytes(100), "image/jpeg")
    refused = _incoming(stream, {"id": media_id, "mime_type": "image/jpeg"})

    response = client.get(_media_url(gone.uuid), HTTP_AUTHORIZATION=token)
    assert response.status_code == 410
    assert _check_media_response(doc, response)["detail"] in _media_examples(doc, 410)

    fake_graph.fail_next(INVALID_TOKEN)
    response = client.get(_media_url(refused.uuid), HTTP_AUTHORIZATION=token)
    assert response.status_code == 502
    assert _check_media_response(doc, response)["detail"] in _media_examples(doc, 502)

    response = client.get(_media_url(refused.uuid), HTTP_AUTHORIZATION=token)
    assert response.status_code == 200
    _check_media_response(doc, response)
    assert response["Content-Length"] == "103"
    response.close()


def test_the_media_download_is_rate_limited_as_documented(doc, client, settings, stream, token):
    settings.STREAM_API_REQUESTS_PER_SECOND = 1
    doc = openapi.document()
    statuses = [client.get(_media_url(uuid.uuid4()), HTTP_AUTHORIZATION=token) for _ in range(3)]
    response = next(r for r in statuses if r.status_code == 429)
    assert _check_media_response(doc, response) == _example_values(doc, SEND, 429)[0]


def test_the_page_shows_the_media_download(client):
    html = client.get("/api/docs").content.decode()
    assert f"<code>{MEDIA}</code>" in html
    assert "<code>message_uuid</code>" in html
    assert "yes (in the path)" in html
    assert "curl -f -H &quot;Authorization: $STREAM_TOKEN&quot;" in html
    assert 'id="incoming-media"' in html


def test_the_docs_page_tells_of_the_status_apis_pricing(client):
    page = client.get("/api/docs").content.decode()
    assert "<code>pricing</code> (<code>billable</code>, <code>category</code>" in page
    assert "&quot;category&quot;: &quot;utility&quot;" in page  # in the answer's example


# The customer service window (a real stream: a demo stream's windows are always open)


@pytest.fixture
def live(account, whatsapp_access, fake_graph):
    """A Ready stream on the fake Graph API's business, and its token."""
    stream = whatsapp_stream(account=account, fake_graph=fake_graph, name="Live")
    return stream, stream_services.stream_token_regenerate(stream=stream)


def test_the_window_refusal_answers_as_documented(doc, post, live):
    stream, token = live
    text = _message(sender="15550001111", internal_id="chat-1")
    response = post(SEND, {"messages": [text]}, authorization=token)
    [result] = _check_response(doc, SEND, response)["messages"]
    assert result["error"] == "OUTSIDE_SERVICE_WINDOW"
    assert result["detail"] in doc["info"]["description"]

    contact_wrote(stream, RECIPIENT)
    response = post(SEND, {"messages": [text]}, authorization=token)
    [result] = _check_response(doc, SEND, response)["messages"]
    assert result["error"] is None


def test_the_contacts_api_answers_as_documented(doc, post, live):
    stream, token = live
    contact_wrote(stream, RECIPIENT)
    response = post(CONTACTS, {"contacts": [RECIPIENT, "+4917612345678"]}, authorization=token)
    assert response.status_code == 200
    body = _check_response(doc, CONTACTS, response)
    assert [c["window"]["open"] for c in body["contacts"]] == [True, False]


def test_the_contacts_apis_number_refusal_is_the_documented_one(doc, post):
    response = post(CONTACTS, {"contacts": [RECIPIENT, "0151 12345678"]})
    assert response.status_code == 400
    documented = _response(doc, CONTACTS, 400)["content"]["application/json"]["examples"]
    assert _check_response(doc, CONTACTS, response) == documented["bad_number"]["value"]


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        (RECIPIENT, True),
        ("+" + RECIPIENT, True),
        ("1234567", True),
        ("123456", False),
        ("1" * 16, False),
        ("04915112345678", False),
        (4915112345678, False),
    ],
)
def test_the_documented_contact_numbers_are_the_apis(doc, post, number, valid):
    schema = _request_schema(doc, CONTACTS)
    assert (not list(_validator(doc, schema).iter_errors({"contacts": [number]}))) == valid
    response = post(CONTACTS, {"contacts": [number]})
    assert response.status_code == (200 if valid else 400)
    _check_response(doc, CONTACTS, response)


# The upload (a multipart form, answers JSON)


def _upload_response(doc, response) -> dict:
    documented = doc["paths"][UPLOAD]["post"]["responses"][str(response.status_code)]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    _check(doc, documented["content"]["application/json"]["schema"], body)
    return body


def _upload_examples(doc, status) -> list[dict]:
    content = doc["paths"][UPLOAD]["post"]["responses"][str(status)]["content"]
    return [example["value"] for example in content["application/json"]["examples"].values()]


def _upload(client, token, sender=SENDER, file=("a.png", b"\x89PNG\r\n\x1a\n" + bytes(99))):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = {"sender": sender}
    if file is not None:
        data["file"] = SimpleUploadedFile(file[0], file[1], "image/png")
    headers = {"HTTP_AUTHORIZATION": token} if token else {}
    return client.post(UPLOAD, data, **headers)


def test_the_upload_answers_as_documented(doc, client, stream, token):
    response = _upload(client, token)
    assert response.status_code == 200
    assert _upload_response(doc, response)["mime_type"] == "image/png"

    documented = _upload_examples(doc, 400)
    for kwargs in (
        {"file": ("a.exe", b"MZ" + bytes(99))},
        {"sender": "4915100000000"},
        {"file": None},
    ):
        response = _upload(client, token, **kwargs)
        assert response.status_code == 400
        assert _upload_response(doc, response) in documented
    response = client.post(UPLOAD, {}, content_type="application/json", HTTP_AUTHORIZATION=token)
    assert _upload_response(doc, response) in documented

    response = _upload(client, token, file=("big.jpg", b"\xff\xd8\xff" + bytes(int(7.2 * 2**20))))
    assert response.status_code == 413
    assert _upload_response(doc, response) in _upload_examples(doc, 413)

    response = client.get(UPLOAD, HTTP_AUTHORIZATION=token)
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert _upload_response(doc, response) in _upload_examples(doc, 405)

    response = _upload(client, None)
    assert response.status_code == 403
    assert _upload_response(doc, response) == {"detail": "Not authenticated"}


def test_the_uploads_whatsapp_errors_answer_as_documented(
    doc, client, account, whatsapp_access, fake_graph
):
    from tests.factories import whatsapp_stream

    live = whatsapp_stream(account=account, fake_graph=fake_graph, name="Live")
    token = stream_services.stream_token_regenerate(stream=live)
    fake_graph.fail_next(INVALID_TOKEN, path="/media")

    response = _upload(client, token, sender="15550001111")

    assert response.status_code == 502
    assert _upload_response(doc, response) in _upload_examples(doc, 502)


def test_the_page_shows_the_upload(client):
    html = client.get("/api/docs").content.decode()
    assert f"<code>{UPLOAD}</code>" in html
    assert "-F sender=15550100100 -F file=@parcel.jpg" in html
    assert "image: <code>image/jpeg</code>, <code>image/png</code>, at most 5 MB" in html
    assert "<code>messages[].media.fetch</code>" in html


# Read receipts (a real stream: a message it received, marked read at the fake Graph API)


def _received(stream, fake_graph) -> Message:
    return Message.objects.create(
        stream=stream,
        direction=Message.Direction.INBOUND,
        status=Message.Status.RECEIVED,
        sender_number="15550001111",
        phone_number_id=fake_graph.business.phone_numbers[0]["id"],
        contact_number=RECIPIENT,
        type="text",
        wamid=fake_graph.add_received(fake_graph.business),
    )


def test_the_read_api_answers_as_documented(doc, post, live, fake_graph):
    stream, token = live
    message = _received(stream, fake_graph)
    body = {"message_uuid": str(message.uuid), "typing": True}
    response = post(READ, body, authorization=token)
    assert response.status_code == 202
    assert _check_response(doc, READ, response)["read"] == "queued"
    read.read_receipts_send(receipt_ids=[message.read_receipt.pk])
    response = post(READ, body, authorization=token)
    assert response.status_code == 200
    assert _check_response(doc, READ, response)["read"] == "sent"


def test_the_read_apis_refusals_are_the_documented_ones(doc, post, replied):
    examples = _response(doc, READ, 400)["content"]["application/json"]["examples"]
    refused = {
        "not_json": "",
        "not_object": "[]",
        "bad_uuid": {"message_uuid": "not a uuid"},
        "bad_typing": {"message_uuid": str(replied.uuid), "typing": 1},
        "not_incoming": {"message_uuid": str(replied.uuid)},
    }
    for name, body in refused.items():
        response = post(READ, body)
        assert response.status_code == 400, name
        assert _check_response(doc, READ, response) == examples[name]["value"], name
    response = post(READ, {"message_uuid": "0b7f9f5e-3c1a-4a52-9c3e-6f1d2b8a4e10"})
    assert response.status_code == 404
    assert _check_response(doc, READ, response) == _example_values(doc, READ, 404)[0]
