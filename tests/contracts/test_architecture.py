"""The layout's rules (docs/architecture.md), checked on the source: the contract (datagen.format) imports
nothing above it, psgan imports nothing of datagen but the contract, psgan's rooms import only downward
and without cycles, and bpy is imported only by the render package's Blender layer and by rigs/. Also that
the base install's packages work with Blender absent."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BLENDER_MODULES = {"bpy", "mathutils", "bpy_extras", "addon_utils"}
BLENDER_LAYER = ROOT / "datagen" / "render" / "blender"


def imported_modules(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in a file, relative imports resolved."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this file's package
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            if node.module is None:  # "from . import a, b": each name is a module
                out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
            else:
                out.append((node.lineno, base))
    return out


def sources(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_imported_modules_sees_every_form(tmp_path):
    probe = tmp_path / "psgan" / "_probe.py"
    probe.parent.mkdir()
    probe.write_text("import os\nfrom datagen.format import x\nfrom . import layers\nimport datagen.render.run as r\n"
                     "def f():\n    import bpy\n")
    mods = [m for _, m in imported_modules(probe, root=tmp_path)]
    assert mods == ["os", "datagen.format", "psgan.layers", "datagen.render.run", "bpy"]


def test_the_contract_imports_nothing_above_it():
    files = sources("datagen/format")
    assert len(files) > 10
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in files for line, m in imported_modules(p)
           if m.split(".")[0] == "datagen" and not (m in ("datagen", "datagen.format", "datagen.errors")
                                                    or m.startswith("datagen.format."))]
    assert not bad, "datagen.format may import only datagen.format and datagen.errors:\n" + "\n".join(bad)


# psgan's rooms, lowest first: a module may import its own room or a lower one, never a higher one.
PSGAN_FLOORS = {"errors": 0, "config": 1, "nets": 2, "checkpoint": 3, "data": 3, "dataset": 4, "generation": 5,
                "training": 6, "evaluation": 6, "cli": 7, "__init__": 0, "__main__": 7}


def _psgan_room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_psgan_top_level_holds_only_entry_points_and_shared_types():
    top = {p.stem for p in (ROOT / "psgan").glob("*.py")}
    rooms = {p.name for p in (ROOT / "psgan").iterdir() if p.is_dir() and (p / "__init__.py").is_file()}
    assert top <= {"__init__", "__main__", "cli", "config", "checkpoint", "data", "dataset", "errors"}, top
    assert rooms == {"nets", "training", "generation", "evaluation"}, rooms
    assert set(PSGAN_FLOORS) >= top | rooms


def _psgan_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for p in sources("psgan"):
        mod = ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        graph[mod] = {m for _, m in imported_modules(p) if m.split(".")[0] == "psgan"}
    return graph


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for mod, deps in graph.items():
        here = PSGAN_FLOORS[_psgan_room(mod)]
        for dep in deps:
            there = PSGAN_FLOORS[_psgan_room(dep)]
            if there > here:
                bad.append(f"{mod} (floor {here}) imports {dep} (floor {there})")
    return bad


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among the graph's modules (imports of packages that are not modules ignored)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for d in sorted(d for d in graph[m] if d in graph):
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state and (cycle := visit(d)):
                return cycle
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (cycle := visit(m)):
            return cycle
    return None


def test_psgan_imports_point_only_downward():
    bad = upward_imports(_psgan_graph())
    assert not bad, "psgan's imports must point downward (docs/architecture.md):\n" + "\n".join(bad)
    # The rule is not vacuous: the circle this layout removed (the run importing the loop that imported it).
    assert upward_imports({"psgan.data": {"psgan.training.device"}}) == [
        "psgan.data (floor 3) imports psgan.training.device (floor 6)"]


def test_psgan_has_no_import_cycle():
    assert find_cycle(_psgan_graph()) is None
    assert find_cycle({"psgan.training.run": {"psgan.training.loop"},
                       "psgan.training.loop": {"psgan.training.run"}}) == [
        "psgan.training.loop", "psgan.training.run", "psgan.training.loop"]


def test_psgan_imports_only_the_format_package_of_datagen():
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in sources("psgan") for line, m in imported_modules(p)
           if (m == "datagen" or m.startswith("datagen.")) and not (m == "datagen.format" or
                                                                    m.startswith("datagen.format."))]
    assert not bad, "psgan may import only datagen.format:\n" + "\n".join(bad)


def test_bpy_only_in_the_blender_layer_and_rigs():
    files = sources("datagen", "psgan")
    assert len(files) > 40
    bad = [f"{p.relative_to(ROOT)}:{line} imports {m}" for p in files for line, m in imported_modules(p)
           if m.split(".")[0] in BLENDER_MODULES and BLENDER_LAYER not in p.parents]
    assert not bad, "bpy may be imported only under datagen/render/blender/ and rigs/:\n" + "\n".join(bad)
    # The layer does import it (the rule is not vacuous).
    assert any(m == "bpy" for p in sources("datagen/render/blender") for _, m in imported_modules(p))


BLOCK_BLENDER = "import sys\nfor m in ('bpy', 'mathutils', 'bpy_extras'):\n    sys.modules[m] = None\n"


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCK_BLENDER + code], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_base_packages_import_without_blender():
    r = _run("import datagen.cli, datagen.format, datagen.io.importers, datagen.io.exporters, datagen.inspect.info, "
             "datagen.inspect.preview, datagen.format.validate, datagen.format.merge, datagen.render, "
             "datagen.render.plan, datagen.pose.retarget, psgan.cli, psgan.training.loop, psgan.generation.generate, psgan.evaluation.evaluate\n"
             "print('ok')")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_format_package_needs_neither_blender_nor_torch():
    r = _run("sys.modules['torch'] = None\nimport datagen.format\nimport datagen.format.validate\nprint('ok')")
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_render_without_blender_says_how_to_install(tmp_path):
    r = _run("from click.testing import CliRunner\nfrom datagen.cli import main\n"
             f"res = CliRunner().invoke(main, ['render', '--frames', '2', '--size', '64', '-o', r'{tmp_path / 'o.h5'}'])\n"
             "print(res.exit_code)\nprint(res.output, end='')")
    code, *lines = r.stdout.splitlines()
    assert r.returncode == 0, r.stderr
    assert code == "1" and len(lines) == 1, r.stdout
    assert lines[0].startswith("Error: ") and "pip install 'psgan-toolkit[render]'" in lines[0]
    assert not list(tmp_path.iterdir())  # nothing written
