"""The direction between apps: portal at the bottom, institutions on it, syncs on both (README "Layout").

Every import is read from the source, including imports inside functions, where cycles like to hide.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("portal", "institutions", "syncs")
LEVEL = {"portal": 0, "institutions": 1, "syncs": 2}

# The only places a lower app may name a higher one: the URL routing, the home page and the settings.
UPWARD_ALLOWED = {
    "portal/urls.py",
    "portal/api/urls.py",
    "portal/views.py",
}
# What institutions may use of syncs: its data (models, catalog), its reads (selectors) and the lifecycle's
# public services (CSV upload creates syncs, deactivation stops them). Never views, API, protocol, tasks or agent.
INSTITUTIONS_MAY_USE_FROM_SYNCS = ("syncs.models", "syncs.catalog", "syncs.selectors", "syncs.services")


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from syncs import services` names the module syncs.services.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _sources(root: Path):
    for app in APPS:
        for path in sorted((root / app).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if "/migrations/" not in relative:
                yield app, relative, path


def arrows_against_the_direction(root: Path = ROOT) -> list[str]:
    wrong = []
    for app, relative, path in _sources(root):
        for line, name in _imports(path):
            target = name.split(".")[0]
            if target not in APPS or LEVEL[target] <= LEVEL[app] or relative in UPWARD_ALLOWED:
                continue
            if app == "institutions" and target == "syncs":
                if not name.startswith(INSTITUTIONS_MAY_USE_FROM_SYNCS):
                    wrong.append(f"{relative}:{line} imports {name} (institutions uses only syncs' models, catalog, "
                                 "selectors and lifecycle services)")
            else:
                wrong.append(f"{relative}:{line} imports {name} ({app} is below {target})")
    return wrong


def test_no_import_goes_against_the_direction_between_apps():
    assert arrows_against_the_direction() == []


def test_the_direction_check_sees_imports_inside_functions(tmp_path):
    for app in APPS:
        (tmp_path / app).mkdir()
    (tmp_path / "portal" / "hidden.py").write_text("def f():\n    from syncs.models import Sync\n    return Sync\n")
    (tmp_path / "institutions" / "fine.py").write_text("from syncs.models import Sync\nfrom portal.models import User\n")
    (tmp_path / "institutions" / "reaches.py").write_text("def g():\n    import syncs.tasks\n")
    assert arrows_against_the_direction(tmp_path) == [
        "portal/hidden.py:2 imports syncs.models.Sync (portal is below syncs)",
        "institutions/reaches.py:2 imports syncs.tasks (institutions uses only syncs' models, catalog, selectors and "
        "lifecycle services)",
    ]
