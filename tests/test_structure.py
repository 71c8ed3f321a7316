"""The package's shape: its layers in one import order (import-linter's contracts in pyproject.toml), and
every model with one table row."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from lsnb.engine import config, tasks
from lsnb.models import registry

LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` on the package under ``root`` with the contracts of ``root/pyproject.toml``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=root, env=env, capture_output=True, text=True)


@pytest.fixture(scope="module")
def tool():
    if not LINT_IMPORTS.exists():
        pytest.skip(f"import-linter is not installed beside {sys.executable} (make setup installs it)")
    return LINT_IMPORTS


def test_every_module_imports_only_from_its_own_layer_and_those_below(tool):
    r = lint_imports(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("module, upward", [
    ("lsnb/engine/train.py", "from ..book.glue import pm"),          # the loop pulling in the book helpers
    ("lsnb/book/results.py", "from ..build import editions"),         # the results files needing the build tools
    ("lsnb/models/vision.py", "from ..engine import tasks"),          # a network needing the run engine
    ("lsnb/models/vision.py", "from ..data import text"),             # a ResNet loading the translation corpus
    ("lsnb/methods/metrics.py", "import pandas"),                     # the methods needing the tables
])
def test_an_upward_import_breaks_the_contract(tool, tmp_path, module, upward):
    shutil.copytree(ROOT / "lsnb", tmp_path / "lsnb", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    planted = tmp_path / module
    planted.write_text(planted.read_text() + f"\n{upward}  # planted\n")
    r = lint_imports(tmp_path)
    assert r.returncode != 0 and "BROKEN" in r.stdout, r.stdout + r.stderr


def test_every_model_name_has_a_class_and_a_task():
    assert set(registry.ARCHITECTURES) == set(config.MODELS)
    assert set(config.MODELS.values()) <= set(tasks.TASKS)


@pytest.mark.parametrize("model, augment", [("transformer", "none"), ("fcn", "tokens")])
def test_augmentation_must_suit_the_models_task(model, augment):
    dataset = "en_de" if model == "transformer" else "fashion_mnist"
    with pytest.raises(ValueError, match=f"augment={augment!r} does not suit model={model!r}"):
        config.TrainConfig(model=model, dataset=dataset, augment=augment)


def _lsnb_modules():
    return sorted((ROOT / "lsnb").rglob("*.py"))


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_reach_ins(path: Path) -> list:
    """Where the module at ``path`` takes a private name (``_x``) of another lsnb module: ``from .m import _x``,
    or ``m._x`` on a module it imported. A private name is that module's own business."""
    import ast
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), str(path))
    modules, found = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            source = ".".join(base[:len(base) - node.level + 1] + ([node.module] if node.module else [])) \
                if node.level else (node.module or "")
            if not source.startswith("lsnb"):
                continue
            for alias in node.names:
                if _private(alias.name) and f"{source}.{alias.name}" != name:
                    found.append(f"{path.name}:{node.lineno} from {source} import {alias.name}")
                else:
                    modules.add(alias.asname or alias.name)  # maybe a module (from . import train as train_mod)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("lsnb"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and isinstance(node.value, ast.Name) \
                and node.value.id in modules:
            found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
    return found


def test_no_module_takes_a_private_name_of_another():
    found = [hit for path in _lsnb_modules() for hit in private_reach_ins(path)]
    assert found == [], "private names used across lsnb modules:\n" + "\n".join(found)


def test_the_private_name_check_sees_a_reach_in(tmp_path, monkeypatch):
    planted = ROOT / "lsnb" / "engine" / "batched.py"
    text = planted.read_text() + "\nfrom .train import _labels_count\nx = train_mod._load_finished\n"
    copy = tmp_path / "lsnb" / "engine" / "batched.py"
    copy.parent.mkdir(parents=True)
    copy.write_text(text)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    hits = private_reach_ins(copy)
    assert any("import _labels_count" in h for h in hits) and any("train_mod._load_finished" in h for h in hits)
