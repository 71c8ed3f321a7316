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
