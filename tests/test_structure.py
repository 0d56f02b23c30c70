"""The package's rooms import only rooms on their floor or below, so inference never needs
training code, the networks never need a loader, and nothing loops (issue 16)."""

import ast
import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "singlehdr_tf"

FLOORS = [
    {"errors", "quiet"},
    {"io", "color", "crf", "metrics", "camera", "modern_curves", "tflite_runner", "gainmap", "tiling"},
    {"layers", "models"},
    {"data"},
    {"loading"},
    {"training", "export"},
    {"api"},
    {"evaluation", "beam"},
    {"cli", "__init__", "__main__"},
]
"""Rooms from the bottom up; a room may import its own floor's rooms and any below."""


def _floor(room: str) -> int:
    return next(index for index, rooms in enumerate(FLOORS) if room in rooms)


def _imports(path: pathlib.Path) -> set[str]:
    """The package rooms a module imports, at module level or inside functions."""
    rooms = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "singlehdr_tf":
            parts = node.module.split(".")
            rooms |= {parts[1]} if len(parts) > 1 else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            rooms |= {alias.name.split(".")[1] for alias in node.names if alias.name.startswith("singlehdr_tf.")}
    return rooms


def _room(path: pathlib.Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def test_every_module_belongs_to_a_floor():
    rooms = {_room(path) for path in PACKAGE.rglob("*.py")}
    assert rooms <= set().union(*FLOORS), sorted(rooms - set().union(*FLOORS))


def test_no_room_imports_a_higher_one():
    upward = []
    for path in sorted(PACKAGE.rglob("*.py")):
        room = _room(path)
        for imported in _imports(path) - {room}:
            if imported in ("SingleHDRError", "__version__"):  # the package root's own names
                imported = "__init__"
            if _floor(imported) > _floor(room):
                upward.append(f"{path.relative_to(PACKAGE)} imports {imported}")
    assert not upward


def test_training_and_networks_never_import_inference():
    for room in ("models", "layers", "training"):
        for path in (PACKAGE / room).rglob("*.py"):
            assert not _imports(path) & {"api", "export", "evaluation", "cli", "beam"}, path


def test_the_readme_package_map_lists_every_room():
    readme = (PACKAGE.parent / "README.md").read_text()
    table = readme[readme.index("## Package map"):readme.index("## Data and credits")]
    listed = set(re.findall(r"^\| `singlehdr_tf\.(\w+)`", table, re.M))
    rooms = {_room(path) for path in PACKAGE.rglob("*.py")} - {"__init__", "__main__"}
    assert listed == rooms
