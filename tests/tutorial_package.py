"""The assignment of docs/plugins.md's tutorial, built from the tutorial alone: its
scaffold command is run, every marked code block is written into the package
(`<!-- file: PATH -->` a whole file, `<!-- replace in: PATH -->` the top-level
functions of that name in a copy of the reference, as the tutorial's `cp` says), and
the package is installed with pip into a folder of its own (offline), so its entry
point is found as that of any installed plugin once the folder is on sys.path."""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
SLUG, PACKAGE = "softmax-regression", "softmax_regression"
BIN = Path(sys.executable).parent
_BLOCK = re.compile(r"(?:^<!-- (file|replace in): (\S+) -->\n)?^```(\w*)\n(.*?)^```", re.S | re.M)


def tutorial() -> str:
    """The tutorial section of docs/plugins.md."""
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("\n## Tutorial")
    return text[start:text.index("\n## ", start + 1)]


def blocks() -> list[tuple[str, str, str, str]]:
    """(kind, path, language, code) of every fenced block, in the tutorial's order; kind
    and path are empty for an unmarked block."""
    return _BLOCK.findall(tutorial())


def snippets() -> list[tuple[str, str, str]]:
    """(kind, path, code) of every marked block."""
    return [(kind, path, code) for kind, path, _, code in blocks() if kind]


def shell_commands() -> list[str]:
    """The commands of the tutorial's unmarked blocks (shell, no language)."""
    return [line.strip() for kind, _, _, code in blocks() if not kind
            for line in code.splitlines() if line.strip()]


def scaffold(parent: Path) -> Path:
    """Run the tutorial's `neurograde new assignment` command in `parent`."""
    command = next(c for c in shell_commands() if c.startswith("neurograde new assignment"))
    argv = [str(BIN / "neurograde"), *shlex.split(command)[1:], "--dir", str(parent)]
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=120)
    return parent / f"neurograde-{SLUG}"


def write_snippets(package: Path) -> None:
    """Step by step as the tutorial says: files written, cases copied from the reference
    and their functions replaced."""
    for path in (package / PACKAGE / "cases").iterdir():  # `rm softmax_regression/cases/*`
        path.unlink()
    for kind, relative, code in snippets():
        target = package / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if kind == "file":
            target.write_text(code, encoding="utf-8")
        else:  # `cp softmax_regression/reference.py <case>`, then replace the functions
            source = (package / PACKAGE / "reference.py").read_text(encoding="utf-8")
            target.write_text(replace_functions(source, code), encoding="utf-8")


def replace_functions(source: str, replacement: str) -> str:
    """`source` with each top-level function that `replacement` defines replaced by it."""
    new = {node.name: ast.get_source_segment(replacement, node)
           for node in ast.parse(replacement).body if isinstance(node, ast.FunctionDef)}
    lines = source.splitlines(keepends=True)
    for node in sorted(ast.parse(source).body, key=lambda n: -n.lineno):
        if isinstance(node, ast.FunctionDef) and node.name in new:
            lines[node.lineno - 1:node.end_lineno] = [new.pop(node.name) + "\n"]
    assert not new, f"the reference has no function(s) {sorted(new)} to replace"
    return "".join(lines)


def build_and_install(parent: Path) -> tuple[Path, Path]:
    """Scaffold, write the tutorial's files, `pip install` into `parent/site`; return
    (the package folder, the site folder to put on sys.path / PYTHONPATH)."""
    package = scaffold(parent)
    write_snippets(package)
    return package, install(package, parent / "site")


def install(package: Path, site: Path) -> Path:
    """`pip install` the package folder into `site` (offline, this environment's
    setuptools); return `site`."""
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-build-isolation",
                    "--no-deps", "--no-index", "--target", str(site), str(package)],
                   check=True, capture_output=True, text=True, timeout=300)
    shutil.rmtree(package / "build", ignore_errors=True)
    return site
