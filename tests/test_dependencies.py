"""The apps depend one way: whatsapp and webhooks use streams, never the reverse. Streams
reaches a type's app only through the registered stream type (``streams.types``)."""

import ast
from pathlib import Path

import streams

FORBIDDEN = ("whatsapp", "webhooks")


def _imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_it_refuses_an_import_of_whatsapp_or_webhooks_in_streams():
    root = Path(streams.__file__).parent
    found = [
        f"{path.relative_to(root.parent)} imports {module}"
        for path in sorted(root.rglob("*.py"))
        for module in _imported_modules(path)
        if module.split(".")[0] in FORBIDDEN
    ]
    assert found == []
