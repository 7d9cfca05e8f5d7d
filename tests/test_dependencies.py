"""The apps depend one way: whatsapp and webhooks use streams, never the reverse. Streams
reaches a type's app only through the registered stream type (``streams.types``). Inside
``whatsapp`` the rooms import each other without a circle, so each can be read on its own."""

import ast
from pathlib import Path

import streams
import webhooks
import whatsapp

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


def _imports_of(package) -> list[tuple[str, str]]:
    root = Path(package.__file__).parent
    return [
        (str(path.relative_to(root.parent)), module)
        for path in sorted(root.rglob("*.py"))
        for module in _imported_modules(path)
    ]


def test_it_refuses_an_import_of_whatsapp_in_webhooks():
    found = [f"{path} imports {module}" for path, module in _imports_of(webhooks)]
    assert [line for line in found if " imports whatsapp" in line] == []


def test_whatsapp_reaches_webhooks_through_its_services_selectors_and_views_only():
    allowed = {"webhooks.services", "webhooks.selectors", "webhooks.views"}
    root = Path(whatsapp.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("webhooks"):
                # "from webhooks import services" names the module webhooks.services.
                names = [node.module] if node.module != "webhooks" else []
                names += [f"webhooks.{alias.name}" for alias in node.names if not names]
                found += [f"{path.relative_to(root.parent)} imports {n}" for n in names]
    assert [line for line in found if line.split()[-1] not in allowed] == []


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package → the package's modules it imports, at the top or inside a
    function (an import deferred to run time is still a dependency)."""
    paths = {
        _module_name(path, root): path
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.parts
    }
    graph = {}
    for name, path in paths.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                # "from whatsapp.api import media" imports the module whatsapp.api.media.
                targets.update(f"{node.module}.{alias.name}" for alias in node.names)
        graph[name] = {target for target in targets if target in paths and target != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One circle of imports, as the modules along it (the first again at the end), or []."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if cycle := visit(target):
                return cycle
        path.pop()
        done.add(module)
        return []

    for module in sorted(graph):
        if cycle := visit(module):
            return cycle
    return []


def test_find_cycle_finds_a_circle_of_three():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}

    assert find_cycle(graph) == ["a", "b", "c", "a"]


def test_find_cycle_accepts_a_graph_that_only_shares_dependencies():
    graph = {"a": {"b", "c"}, "b": {"c"}, "c": set()}

    assert find_cycle(graph) == []


def test_the_modules_of_whatsapp_import_each_other_without_a_circle():
    graph = _import_graph(Path(whatsapp.__file__).parent)

    assert " → ".join(find_cycle(graph)) == ""
