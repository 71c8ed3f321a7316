"""The package's shape: modules import each other without a circle, and every model has one table row."""
import ast
from pathlib import Path

import pytest

from conftest import ROOT
from lsnb.engine import config, tasks
from lsnb.models.vision import vision as models

PACKAGE = ROOT / "lsnb"


def imports(path: Path) -> set:
    """The lsnb modules a module imports (module level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            out |= {node.module.split(".")[0]} if node.module else {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("lsnb."):
            out.add(node.module.split(".")[1])
    return out - {"__future__"}


def test_no_module_imports_itself_through_a_circle():
    graph = {p.stem: imports(p) for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    done, path = set(), []

    def visit(m):
        if m in path:
            pytest.fail("import circle: " + " -> ".join(path[path.index(m):] + [m]))
        if m in done:
            return
        path.append(m)
        for n in sorted(graph.get(m, ())):
            visit(n)
        path.pop()
        done.add(m)

    for m in sorted(graph):
        visit(m)


def test_the_training_loop_does_not_pull_in_the_book_helpers():
    assert "book" not in imports(PACKAGE / "train.py") and "pandas" not in (PACKAGE / "train.py").read_text()


def test_every_model_name_has_a_class_and_a_task():
    assert set(models.ARCHITECTURES) == set(config.MODELS)
    assert set(config.MODELS.values()) <= set(tasks.TASKS)


@pytest.mark.parametrize("model, augment", [("transformer", "none"), ("fcn", "tokens")])
def test_augmentation_must_suit_the_models_task(model, augment):
    dataset = "en_de" if model == "transformer" else "fashion_mnist"
    with pytest.raises(ValueError, match=f"augment={augment!r} does not suit model={model!r}"):
        config.TrainConfig(model=model, dataset=dataset, augment=augment)
