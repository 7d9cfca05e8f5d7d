"""The API's docs page for people, rendered from the OpenAPI document (``openapi.document``):
the same dictionary the tests check real responses against, so the page cannot drift from the
API."""

import json
import re

from django.contrib.auth.decorators import login_not_required
from django.shortcuts import render
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_safe

from whatsapp.api import openapi

# The page: rendered from the document, so it says what the document says.


def _inline(text: str) -> str:
    html = escape(text)
    html = re.sub(r"`([^`]+)`", r"<code>\1</code>", html)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", html)


def _rich(text: str) -> str:
    """The descriptions' Markdown subset: paragraphs and code spans."""
    paragraphs = [" ".join(block.split()) for block in text.strip().split("\n\n")]
    html = "".join(f"<p>{_inline(paragraph)}</p>" for paragraph in paragraphs if paragraph)
    return mark_safe(html)  # noqa: S308 (every text went through escape())


def _sections(text: str) -> list[dict]:
    """The info description's intro and its ``## `` sections."""
    intro, *rest = re.split(r"^## ", text, flags=re.MULTILINE)
    sections = [{"title": "", "slug": "overview", "html": _rich(intro)}]
    for block in rest:
        title, _, body = block.partition("\n")
        slug = re.sub(r"\W+", "-", title.strip().lower()).strip("-")
        sections.append({"title": title.strip(), "slug": slug, "html": _rich(body)})
    return sections


def _resolve(doc: dict, schema: dict) -> dict:
    while "$ref" in schema:
        node = doc
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        schema = node
    return schema


def _type_label(doc: dict, schema: dict) -> str:
    schema = _resolve(doc, schema)
    if "const" in schema:
        return json.dumps(schema["const"])
    if "oneOf" in schema:
        return " or ".join(dict.fromkeys(_type_label(doc, option) for option in schema["oneOf"]))
    kinds = schema.get("type", "object")
    label = " or ".join(kinds) if isinstance(kinds, list) else kinds
    if label == "array":
        label = f"array of {_type_label(doc, schema.get('items', {}))}"
    return label


def _rules(schema: dict) -> list[str]:
    rules = []
    low, high = schema.get("minLength"), schema.get("maxLength")
    if high is not None:
        rules.append(f"{low} to {high} characters" if low else f"up to {high} characters")
    elif low:
        rules.append(f"at least {low} character")
    if "minimum" in schema or "maximum" in schema:
        rules.append(f"from {schema.get('minimum', '…')} to {schema.get('maximum', '…')}")
    if "maxItems" in schema:
        rules.append(f"{schema.get('minItems', 0)} to {schema['maxItems']} items")
    elif "minItems" in schema:
        rules.append(
            f"at least {schema['minItems']} item" + ("s" if schema["minItems"] > 1 else "")
        )
    if "enum" in schema:
        rules.append("one of " + ", ".join(json.dumps(value) for value in schema["enum"]))
    if "pattern" in schema:
        rules.append(f"matches {schema['pattern']}")
    if "format" in schema:
        rules.append(f"format: {schema['format']}")
    if "default" in schema:
        rules.append(f"default {json.dumps(schema['default'], ensure_ascii=False)}")
    return rules


def _field_rows(doc: dict, schema: dict, prefix: str = "") -> list[dict]:
    """One row per field of an object schema; nested objects and arrays of objects are
    flattened into dotted names (``template.buttons[].index``)."""
    schema = _resolve(doc, schema)
    required = dict.fromkeys(schema.get("required", []), "yes")
    if "if" in schema:
        condition = ", ".join(
            f"{name} is {json.dumps(value['const'])}"
            for name, value in schema["if"]["properties"].items()
        )
        required |= dict.fromkeys(schema["then"].get("required", []), f"if {condition}")
        required |= dict.fromkeys(schema.get("else", {}).get("required", []), "otherwise")
    rows = []
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(doc, prop)
        items = _resolve(doc, prop.get("items", {}))
        nested = "properties" in items
        rows.append(
            {
                "name": prefix + name,
                "type": _type_label(doc, prop),
                "required": required.get(name, "no"),
                "rules": _rules(prop) + ([] if nested else _rules(items)),
                "description": _rich(prop.get("description", "")),
            }
        )
        if "properties" in prop:
            rows += _field_rows(doc, prop, f"{prefix}{name}.")
        elif nested:
            rows += _field_rows(doc, items, f"{prefix}{name}[].")
    return rows


def _pretty(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _enum_table(schema: dict) -> list[dict]:
    return [
        {"value": value, "html": _rich(text)}
        for value, text in schema["x-enumDescriptions"].items()
    ]


def _parameter_rows(doc: dict, operation: dict) -> list[dict]:
    """One row per parameter (in the path or the query) of an operation."""
    return [
        {
            "name": parameter["name"],
            "type": _type_label(doc, parameter["schema"]),
            "required": f"yes (in the {parameter['in']})"
            if parameter.get("required")
            else f"no (in the {parameter['in']})",
            "rules": _rules(_resolve(doc, parameter["schema"])),
            "description": _rich(parameter.get("description", "")),
        }
        for parameter in operation.get("parameters", [])
    ]


def _request_examples(operation: dict, body: dict) -> list[dict]:
    """The request body's examples, or the code samples of an operation without them."""
    if body.get("examples"):
        return [
            {
                "summary": example["summary"],
                "description": example.get("description", ""),
                "json": _pretty(example["value"]),
            }
            for example in body.get("examples", {}).values()
        ]
    return [
        {"summary": sample["label"], "description": "", "json": sample["source"]}
        for sample in operation.get("x-codeSamples", [])
    ]


def _operation(doc: dict, path: str, method: str, operation: dict) -> dict:
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get(openapi.JSON) or content.get(openapi.MULTIPART, {})
    request_schema = _resolve(doc, body["schema"]) if body else {}
    types = []
    for name, prop in request_schema.get("properties", {}).items():
        for option in _resolve(doc, prop.get("items", {})).get("oneOf", []):
            message = _resolve(doc, option)
            types.append(
                {
                    "name": message["properties"]["type"]["const"],
                    "title": message["title"],
                    "description": _rich(message["description"]),
                    "fields": _field_rows(doc, message, f"{name}[]."),
                }
            )
    responses = []
    for status, response in operation["responses"].items():
        content = response.get("content", {}).get(openapi.JSON, {})
        responses.append(
            {
                "status": status,
                "description": _rich(response["description"]),
                "headers": [
                    {"name": header, "html": _rich(value.get("description", ""))}
                    for header, value in response.get("headers", {}).items()
                ],
                "examples": [
                    {"summary": example["summary"], "json": _pretty(example["value"])}
                    for example in content.get("examples", {}).values()
                ],
            }
        )
    # The fields every type has are shown once, before the types.
    common = []
    if types:
        names = set.intersection(*({row["name"] for row in t["fields"]} for t in types))
        common = [row for row in types[0]["fields"] if row["name"] in names]
        for row in common:
            if row["name"].endswith(".type") or row["name"].endswith("].type"):
                kinds = ", ".join(json.dumps(t["name"]) for t in types)
                row |= {"type": "string", "rules": [f"one of {kinds}"]}
        for t in types:
            t["fields"] = [row for row in t["fields"] if row["name"] not in names]
    return {
        "id": operation["operationId"],
        "method": method.upper(),
        "common_fields": common,
        "path": path,
        "url": doc["servers"][0]["url"] + path,
        "summary": operation["summary"],
        "description": _rich(operation["description"]),
        "fields": _parameter_rows(doc, operation) + _field_rows(doc, request_schema),
        "types": types,
        "examples": _request_examples(operation, body),
        "responses": responses,
    }


def docs_context(doc: dict) -> dict:
    """What ``whatsapp/api_docs.html`` shows, all of it read from the document."""
    schemas = doc["components"]["schemas"]
    security = doc["components"]["securitySchemes"]["StreamToken"]
    return {
        "info": doc["info"],
        "sections": _sections(doc["info"]["description"]),
        "auth": {"header": security["name"], "html": _rich(security["description"])},
        "operations": [
            _operation(doc, path, method, operation)
            for path, item in doc["paths"].items()
            for method, operation in item.items()
        ],
        "error_codes": _enum_table(schemas["RefusedResult"]["properties"]["error"]),
        "statuses": _enum_table(schemas["MessageStatus"]["properties"]["status"]),
        "forbidden": _enum_table(schemas["Forbidden"]["properties"]["detail"]),
        "server": doc["servers"][0]["url"],
    }


@login_not_required
@require_safe
def api_docs(request):
    """GET /api/docs: the document as a page."""
    return render(request, "whatsapp/api_docs.html", docs_context(openapi.document(request)))
