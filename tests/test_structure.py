"""The architecture's rules, checked: layers, sizes, no import circles, cheap start-up,
and the runnable examples in the key docstrings."""

from __future__ import annotations

import ast
import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "vidmatte"


def _modules() -> dict[str, Path]:
    mods = {}
    for f in PACKAGE.rglob("*.py"):
        name = ".".join(f.relative_to(ROOT).with_suffix("").parts)
        mods[name[: -len(".__init__")] if name.endswith(".__init__") else name] = f
    return mods


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _edges(lazy: bool = True) -> dict[str, set]:
    """Imports between vidmatte modules; ``lazy``: also those inside functions (a circle
    through a function-level import is still a circle)."""
    mods, edges = _modules(), {}
    for m, f in mods.items():
        out = set()
        tree = ast.parse(f.read_text())
        typing_only = {id(n) for block in ast.walk(tree) if isinstance(block, ast.If) and _is_type_checking(block.test)
                       for stmt in block.body for n in ast.walk(stmt)}  # never run: no circle
        for node in (ast.walk(tree) if lazy else tree.body):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vidmatte"):
                out |= {node.module} & set(mods)
                out |= {f"{node.module}.{a.name}" for a in node.names} & set(mods)
            elif isinstance(node, ast.Import):
                out |= {a.name for a in node.names} & set(mods)
        edges[m] = out
    return edges


def test_no_import_circles():
    edges, state, cycles = _edges(), {}, []

    def visit(v, stack):
        state[v] = 1
        for w in edges[v]:
            if state.get(w) == 1:
                cycles.append(stack[stack.index(w):] + [w])
            elif w not in state:
                visit(w, stack + [w])
        state[v] = 2

    for v in edges:
        if v not in state:
            visit(v, [v])
    assert not cycles, cycles


def test_layers():
    edges = _edges()

    def offending(prefixes, banned):
        return [(m, e) for m, es in edges.items() if m.startswith(prefixes) for e in es if e.startswith(banned)]

    compute = ("vidmatte.ops", "vidmatte.runtime", "vidmatte.matting", "vidmatte.temporal",
               "vidmatte.compose.blur_fusion", "vidmatte.compose.compositor", "vidmatte.refine")
    assert offending(compute, ("vidmatte.io",)) == []  # compute never imports I/O
    assert offending(("vidmatte.temporal",), ("vidmatte.compose",)) == []
    assert offending(("vidmatte.ops",), ("vidmatte.compose", "vidmatte.runtime", "vidmatte.models")) == []
    assert offending(("vidmatte.models",), ("vidmatte.runtime", "vidmatte.jobs", "vidmatte.scale")) == []  # no upward imports


def test_sizes():
    top = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(top) <= 8, top
    big = {str(p.relative_to(ROOT)): n for p in list(PACKAGE.rglob("*.py")) + list((ROOT / "cli").glob("*.py"))
           if (n := len(p.read_text().splitlines())) > 300}
    assert not big, big


def test_cli_starts_without_torch_or_onnxruntime():
    code = ("import sys; from vidmatte_cli.main import build_parser; build_parser(); "
            "import vidmatte, vidmatte.errors, vidmatte.defaults; "
            "heavy = [m for m in ('torch', 'onnxruntime', 'av', 'cv2') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


_RUN_MAIN = ("import sys\nfrom vidmatte_cli.main import main\ntry:\n    rc = main(sys.argv[1:])\n"
             "except SystemExit as e:\n    rc = e.code\n"
             "print('HEAVY', [m for m in ('torch', 'onnxruntime') if m in sys.modules], rc, file=sys.stderr)")


@pytest.mark.parametrize("argv,code", [
    (["--help"], 0),
    (["replace", "--help"], 0),
    (["models", "list"], 0),
    (["replace", "in.mp4", "--color", "#fff"], 2),  # argument error: -o is missing
    (["replace", "{tmp}/missing.mp4", "-o", "{tmp}/o.mp4", "--color", "#fff"], 2),  # input file not found
    (["matte", "{tmp}/missing.mp4", "-o", "{tmp}/o.mov"], 2),
    (["image", "{tmp}/missing.png", "-o", "{tmp}/o.png"], 2),
    (["replace", "{clip}", "-o", "{tmp}/o.mp4", "--background", "{tmp}/missing.jpg"], 2),  # background not found
    (["eval", "--images", "{tmp}/none", "--gt", "{tmp}/none", "--model", "modnet"], 2),
], ids=["help", "replace-help", "models-list", "argument-error", "missing-input", "matte-missing-input",
        "image-missing-input", "missing-background", "eval-missing-folder"])
def test_cli_answers_without_torch_or_onnxruntime(tmp_path, argv, code):
    """Help, listings and input errors come from the parser and the file system alone: the
    command exits with its code and neither torch nor onnxruntime was imported."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the background check comes first")
    argv = [a.format(tmp=tmp_path, clip=clip) for a in argv]
    res = subprocess.run([sys.executable, "-c", _RUN_MAIN, *argv], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1"})
    last = res.stderr.strip().splitlines()[-1]
    assert last == f"HEAVY [] {code}", res.stderr
    if code == 2 and "--help" not in argv:
        assert "error:" in res.stderr and "Traceback" not in res.stderr


@pytest.mark.parametrize("module", [
    "vidmatte.runtime.processor", "vidmatte.matting", "vidmatte.frame", "vidmatte.defaults",
    "vidmatte.ops.gaussian", "vidmatte.ops.morphology", "vidmatte.ops.color", "vidmatte.compose.backgrounds.solid",
    "vidmatte.refine.factor", "vidmatte.refine.guided_np", "vidmatte.refine.trimap", "vidmatte.refine.tiles",
    "vidmatte.ops.box_np", "vidmatte.checks",
])
def test_docstring_examples_run(module):
    mod = importlib.import_module(module)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{module} has no runnable example"
    assert result.failed == 0
