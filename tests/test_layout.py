"""The shape of the kit: one package per paper over a small core, imports that never go round in a
cycle, no module using another module's private names, and old import paths that still work."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LABKIT = ROOT / "labkit"
PAPERS = ("diva", "propagation", "gudn", "tagclusters", "audio")
# old paths kept for one release (labkit.deprecation): aliases of the new modules, not part of the graph
DEPRECATED = {"labkit.scoring", "labkit.xmc", "labkit.tag_experiment", "labkit.tag_categories", "labkit.plots", "labkit.baselines_simple",
              "labkit.demo", "labkit.embed.tags", "labkit.cluster", "labkit.models", "labkit.models.gudn", "labkit.models.pair_classifier",
              "labkit.models.mlc", "labkit.models.pons", "labkit.models.sample_cnn"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {module_name(p): p for p in LABKIT.rglob("*.py")}
    return {name: path for name, path in found.items() if name not in DEPRECATED}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The labkit modules ``name`` imports, at module level or inside functions."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        for target in targets:
            while target and target not in known:  # labkit.x.y.name -> the module that holds it
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("labkit"):
                found.add(target)
    return found


def house(module: str) -> str:
    """The paper a module belongs to ("" for the core)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in PAPERS else ""


def test_every_paper_is_one_package_over_the_core():
    """Papers import the core, never each other; the core imports no paper (the command line, which
    runs them all, is the one exception)."""
    for paper in PAPERS:
        assert (LABKIT / paper / "__init__.py").is_file(), paper
    graph = {name: imports_of(name, path, set(modules())) for name, path in modules().items()}
    problems = []
    for name, deps in graph.items():
        if name == "labkit.cli":
            continue
        for dep in deps:
            if house(dep) and house(dep) != house(name):
                problems.append(f"{name} ({house(name) or 'core'}) imports {dep} ({house(dep)})")
    assert not problems, "\n".join(problems)


def test_no_import_cycles():
    known = set(modules())
    graph = {name: imports_of(name, path, known) for name, path in modules().items()}
    # a package's __init__ re-exporting its own modules is not a cycle of dependencies
    graph = {n: {d for d in deps if not (n.startswith(d + ".") and (LABKIT.parent / Path(*d.split("."))).is_dir())} for n, deps in graph.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def own_private_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name.startswith("_"):
            names.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and node.attr.startswith("_"):
            names.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and node.id.startswith("_"):
            names.add(node.id)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.target.id.startswith("_"):
            names.add(node.target.id)
    return names


@pytest.mark.parametrize("folder", ["labkit", "widgets"])
def test_no_module_uses_another_modules_private_names(folder):
    problems = []
    for path in (ROOT / folder).rglob("*.py"):
        if module_name(path) in DEPRECATED:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        mine = own_private_names(tree)
        outside = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names if not a.name.startswith("labkit")}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        problems.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {alias.name} from {node.module}")
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
                owner = node.value
                if isinstance(owner, ast.Name) and (owner.id in ("self", "cls") or owner.id in outside):
                    continue  # the object's own, or another library's (argparse._SubParsersAction)
                if node.attr not in mine:
                    problems.append(f"{path.relative_to(ROOT)}:{node.lineno} uses {ast.unparse(node)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("old, new, name", [
    ("labkit.scoring", "labkit.diva.scoring", "joint_score"),
    ("labkit.xmc", "labkit.gudn.training", "train_xmc"),
    ("labkit.models", "labkit.diva.classifier", "PairClassifier"),
    ("labkit.models.gudn", "labkit.gudn.model", "GUDN"),
    ("labkit.cluster", "labkit.tagclusters", "cluster_tags"),
    ("labkit.cluster.kmeans", "labkit.kmeans", "SphericalKMeans"),
    ("labkit.tag_experiment", "labkit.propagation.experiment", "hide_links"),
    ("labkit.demo", "labkit.diva.demo", "run_comparison"),
    ("labkit.embed.tags", "labkit.tagclusters.vectors", "embed_tags"),
])
def test_old_import_paths_work_with_a_deprecation_warning(old, new, name):
    code = (f"import warnings; warnings.simplefilter('always')\n"
            f"with warnings.catch_warnings(record=True) as caught:\n"
            f"    from {old} import {name} as a\n"
            f"from {new} import {name} as b\n"
            f"assert a is b\n"
            f"assert any(issubclass(w.category, DeprecationWarning) and 'moved' in str(w.message) for w in caught), caught\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_old_names_in_the_core_warn_and_resolve():
    import labkit.embed
    import labkit.losses

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nnpu = labkit.losses.nnpu
        tag_vectors = labkit.embed.TagVectors
    assert nnpu is importlib.import_module("labkit.diva.losses").nnpu
    assert tag_vectors is importlib.import_module("labkit.tagclusters.vectors").TagVectors
    assert len([w for w in caught if issubclass(w.category, DeprecationWarning)]) == 2
    with pytest.raises(AttributeError):
        labkit.losses.no_such_loss  # noqa: B018
