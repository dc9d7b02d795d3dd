"""Plugins import only qorch's contract (DESIGN §3; issue 10, item 3).

A provider plugin's package may import ``qorch.contract`` (and the modules that
re-export it: ``qorch.provider``, ``qorch.errors``, ``qorch.payload``) and
nothing else of qorch: not the engine (local jobs are the core's), the store,
the workloads, the CLI or the conformance suite. Every plugin registered in
the ``qorch.providers`` entry-point group outside qorch itself is read, every
import statement of every module, at any depth (function-level imports too).
"""

from __future__ import annotations

import ast
import importlib.util
from importlib.metadata import entry_points
from pathlib import Path

CONTRACT = ("qorch.contract", "qorch.provider", "qorch.errors", "qorch.payload")


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, module) of every absolute import in ``tree``, in line order; ``from A import b``
    counts as ``A.b`` (``b`` may be a module)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return sorted(found)


def forbidden_imports(package_dir: Path) -> list[str]:
    """``file:line: module`` for every import of a qorch module outside the contract."""
    problems = []
    for path in sorted(package_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for line, module in imported_modules(tree):
            if module != "qorch" and not module.startswith("qorch."):
                continue
            if not any(
                module == allowed or module.startswith(allowed + ".") for allowed in CONTRACT
            ):
                problems.append(f"{path.relative_to(package_dir.parent)}:{line}: {module}")
    return problems


def plugin_packages() -> dict[str, Path]:
    """The top-level package directory of every provider plugin that is not qorch's own."""
    packages = {}
    for entry in entry_points(group="qorch.providers"):
        top = entry.value.split(":")[0].split(".")[0]
        if top == "qorch":
            continue
        spec = importlib.util.find_spec(top)
        assert spec is not None and spec.submodule_search_locations, top
        packages[top] = Path(next(iter(spec.submodule_search_locations)))
    return packages


def test_plugins_import_only_the_contract() -> None:
    packages = plugin_packages()
    assert {"qorch_ibm", "qorch_braket"} <= set(packages), packages
    problems = [problem for path in packages.values() for problem in forbidden_imports(path)]
    assert problems == [], "plugins may import only qorch.contract:\n" + "\n".join(problems)


def test_the_check_finds_every_kind_of_forbidden_import(tmp_path: Path) -> None:
    package = tmp_path / "qorch_toy"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from qorch.contract.provider import Provider\n"
        "from qorch.provider import Device\n"
        "from qorch import errors, payload\n"
        "import qorch.contract.payload\n"
        "import qorch_toy.sub\n"
        "from . import sub\n"
    )
    (package / "sub" / "__init__.py").write_text(
        "def late():\n"
        "    from qorch.engine import localjob\n"
        "    import qorch.store.state\n"
        "    from qorch import testing\n"
        "import qorch\n"
    )
    assert forbidden_imports(package) == [
        "qorch_toy/sub/__init__.py:2: qorch.engine.localjob",
        "qorch_toy/sub/__init__.py:3: qorch.store.state",
        "qorch_toy/sub/__init__.py:4: qorch.testing",
        "qorch_toy/sub/__init__.py:5: qorch",
    ]
