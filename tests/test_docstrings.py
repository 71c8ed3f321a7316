"""Every cross-reference to lsnb in the package's docstrings and comments names something that exists."""
import importlib
import re

import pytest

from conftest import ROOT

ROLE = re.compile(r":(?:func|class|mod|data|meth|attr):`~?(lsnb(?:\.\w+)+)`")


def references() -> list:
    out = []
    for path in sorted((ROOT / "lsnb").rglob("*.py")):
        for target in ROLE.findall(path.read_text()):
            out.append((str(path.relative_to(ROOT)), target))
    return sorted(set(out))


def resolves(target: str) -> bool:
    """Import the longest module prefix of ``target``, then look the rest up as attributes."""
    parts = target.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        module = obj
        for name in parts[i:]:
            if not hasattr(obj, name):
                annotations = getattr(obj, "__dataclass_fields__", {})
                if name in annotations:  # a dataclass field without a default
                    obj = annotations[name]
                    continue
                return False
            obj = getattr(obj, name)
            if obj is not None and getattr(obj, "__module__", None) not in (None, module.__name__) and \
                    getattr(obj, "__module__", "").startswith("lsnb") and parts.index(name) == i:
                return False  # named through a module that only imports it: name where it is defined
        return True
    return False


def test_there_are_cross_references_to_check():
    assert len(references()) > 50


@pytest.mark.parametrize("path, target", references())
def test_every_cross_reference_resolves(path, target):
    assert resolves(target), f"{path} refers to {target}, which does not exist"
