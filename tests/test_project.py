"""House rules of the repository: environment files in step, a headless library, clean notebooks."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import tomllib
import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    wanted = set(project["dependencies"]) | set(extras["gui"]) | set(extras["ray"]) | set(extras["dev"])
    assert not {d for d in project["dependencies"] if d.split(">")[0] in {"ipywidgets", "anywidget", "jupyterlab", "ipykernel"}}, \
        "the GUI packages are an extra: labkit is headless"
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["name"] == "labkit"
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    makefile = (ROOT / "Makefile").read_text()
    torch_pin = re.search(r"^TORCH_PIN := (\S+)", makefile, re.M).group(1)
    assert torch_pin in pip, "environment.yml must pin torch as the Makefile does"
    assert set(pip) - {"-e .", torch_pin} == wanted
    # musicnn (the pretrained taggers' checkpoints) and libpecos (XR-Linear) go in with --no-deps, after the rest, in both
    from labkit.audio.musicnn import PACKAGE_PIN
    from labkit.gudn.peers import PECOS_PIN

    musicnn_pin = re.search(r"^MUSICNN_PIN := (\S+)", makefile, re.M).group(1)
    pecos_pin = re.search(r"^PECOS_PIN := (\S+)", makefile, re.M).group(1)
    assert (musicnn_pin, pecos_pin) == (PACKAGE_PIN, PECOS_PIN)
    assert re.search(r'pip install --quiet --no-deps "\$\(MUSICNN_PIN\)" "\$\(PECOS_PIN\)"', makefile)
    assert f"pip install --no-deps {musicnn_pin} {pecos_pin}" in (ROOT / "environment.yml").read_text()
    assert not any(d.startswith("musicnn") for d in wanted | set(pip)), "musicnn as a dependency would pull tensorflow and numpy<1.17"
    assert not any(d.startswith("libpecos") for d in wanted | set(pip)), "libpecos as a dependency would downgrade numpy and scipy"
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = python.split("=")[1].split(".")[:2]
    low = project["requires-python"].removeprefix(">=")
    assert (int(major), int(minor)) >= tuple(int(x) for x in low.split("."))


def test_labkit_never_imports_ipywidgets():
    for path in (ROOT / "labkit").rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            assert not any(n.split(".")[0] in {"ipywidgets", "widgets"} for n in names), f"{path} imports {names}"
    code = (
        "import sys\n"
        "for gui in ('ipywidgets', 'anywidget', 'jupyterlab'):\n"
        "    sys.modules[gui] = None  # import labkit works where the GUI extra is not installed\n"
        "import pkgutil, importlib, labkit\n"
        "for m in pkgutil.walk_packages(labkit.__path__, 'labkit.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "print('ok')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_notebooks_have_no_outputs():
    for nb_path in (ROOT / "notebooks").glob("*.ipynb"):
        nb = json.loads(nb_path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert not cell.get("outputs") and cell.get("execution_count") is None, f"{nb_path.name} has outputs"


def test_readme_gives_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_no_pickle_no_eval_safetensors_only():
    """Nothing the kit reads can run code: no pickle, no eval/exec, no torch.load; weights are safetensors."""
    forbidden_modules = {"pickle", "cPickle", "dill", "joblib", "shelve", "marshal"}
    for folder in ("labkit", "widgets"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    assert not {a.name.split(".")[0] for a in node.names} & forbidden_modules, f"{path} imports {node.names[0].name}"
                elif isinstance(node, ast.ImportFrom) and node.module:
                    assert node.module.split(".")[0] not in forbidden_modules, f"{path} imports {node.module}"
                elif isinstance(node, ast.Call):
                    func = node.func
                    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                    owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
                    plain = isinstance(func, ast.Name) or owner == "builtins"  # model.eval() is torch's eval mode, not eval()
                    assert not (plain and name in {"eval", "exec", "compile", "__import__"}), f"{path}:{node.lineno} calls {name}"
                    assert not (owner == "torch" and name == "load"), f"{path}:{node.lineno} calls torch.load (pickle)"
                    assert not any(k.arg == "allow_pickle" and getattr(k.value, "value", False) is True for k in node.keywords), \
                        f"{path}:{node.lineno} allows pickle"
    saved = [p for p in (ROOT / "labkit").rglob("*.py") if "save_file(" in p.read_text()]
    assert saved, "weights are written with safetensors' save_file"
