"""The tests' helpers come from tests.support, never from a conftest file.

pytest imports each conftest itself (under the bare name `conftest` where the folder
is not a package), so `from tests.live.conftest import X` loads a second copy: state a
fixture keeps there is not the state the test sees.
"""

import ast

from tests.support import ROOT


def _conftest_imports(path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""] + [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        if any(name.split(".")[-1] == "conftest" for name in names):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def test_no_test_module_imports_from_a_conftest():
    offenders = [
        hit for path in sorted((ROOT / "tests").rglob("*.py")) for hit in _conftest_imports(path)
    ]
    assert offenders == [], "import helpers from tests.support instead: " + ", ".join(offenders)
