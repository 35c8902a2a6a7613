"""The layers of DESIGN.md section 3 stay true: nothing imports upward.

    qdialect (0)  <  rewrites (1), codegen (1)  <  runtime (2)

Every import in every module counts, at module level or inside a function (a lazy import is
still a dependency). rewrites and codegen sit side by side and must not import each other.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RANK = {"qdialect": 0, "rewrites": 1, "codegen": 1, "runtime": 2}


def _imported_modules(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The absolute module names one import statement names (relative ones resolved)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    assert isinstance(node, ast.ImportFrom)
    if node.level == 0:
        return [node.module or ""]
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return [".".join([*base, node.module] if node.module else base)]


def _imports(package: str) -> list[tuple[str, int, str, str]]:
    """(file, line, statement, imported package) for each of the package's own-project imports."""
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        rel = path.relative_to(ROOT)
        is_package = path.name == "__init__.py"
        module = ".".join(rel.with_suffix("").parts)
        if is_package:
            module = module.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(), filename=str(rel))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for name in _imported_modules(node, module, is_package):
                top = name.split(".")[0]
                if top in RANK:
                    statement = ast.get_source_segment(path.read_text(), node) or ast.dump(node)
                    found.append((str(rel), node.lineno, " ".join(statement.split()), top))
    return found


def _violations(package: str) -> list[str]:
    bad = []
    for file, line, statement, target in _imports(package):
        rank, target_rank = RANK[package], RANK[target]
        if target_rank > rank or (target_rank == rank and target != package):
            bad.append(f"{file}:{line}: {statement}  ({package} may not import {target})")
    return bad


@pytest.mark.parametrize("package", sorted(RANK))
def test_no_upward_import(package):
    bad = _violations(package)
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_qdialect_imports_only_itself():
    others = {target for _, _, _, target in _imports("qdialect")} - {"qdialect"}
    assert not others, f"qdialect imports {sorted(others)}"


def test_the_walk_sees_every_package():
    # A typo in RANK or ROOT would make every check above pass vacuously.
    for package in RANK:
        assert _imports(package), package


def _package_graph(package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports (at any level of the code)."""
    graph: dict[str, set[str]] = {}
    prefix = package.replace("/", ".")
    for path in sorted((ROOT / package).glob("*.py")):
        module = f"{prefix}.{path.stem}" if path.name != "__init__.py" else prefix
        targets = graph.setdefault(module, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import | ast.ImportFrom):
                for name in _imported_modules(node, module, path.name == "__init__.py"):
                    if name.startswith(prefix + "."):
                        targets.add(".".join(name.split(".")[: prefix.count(".") + 2]))
                    elif name == prefix and isinstance(node, ast.ImportFrom):
                        targets |= {f"{prefix}.{a.name}" for a in node.names}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        for target in sorted(graph.get(module, ())):
            found = visit(target, [*path, module])
            if found:
                return found
        done.add(module)
        return None

    return next((c for m in sorted(graph) if (c := visit(m, []))), None)


def test_onnx_importer_modules_import_each_other_without_a_cycle():
    graph = _package_graph("qdialect/onnx_import")
    assert len(graph) > 3
    # The package itself imports its submodules (lazily); they must not import it back.
    graph.pop("qdialect.onnx_import")
    cycle = _cycle(graph)
    assert cycle is None, " -> ".join(cycle)


def test_importing_the_onnx_importer_loads_neither_numpy_nor_onnx():
    code = (
        "import sys; import qdialect.onnx_import; "
        "from qdialect.onnx_import import OnnxImportError, import_onnx; "
        "print(sorted({'numpy', 'onnx'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip() == "[]"
