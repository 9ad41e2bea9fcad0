"""Plugin discovery, isolation of broken plugins and duplicate names."""

from __future__ import annotations

import importlib.metadata
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from plugins import DatasetDef, RubricDef, hookimpl
from plugins.manager import get_plugin_manager
from server.app import create_app
from server.state import load_plugins
from tests.spine.plugin_helpers import (
    AssignmentPlugin,
    MalformedPlugin,
    RaisingPlugin,
    make_assignment,
    tiny_dataset,
    write_distribution,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "neurograde-example-course"
VENV_BIN = Path(sys.executable).parent


def _cli_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NEUROGRADE_") and k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["NEUROGRADE_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def _neurograde(command: str, env: dict[str, str], cwd: Path,
                python: Path | None = None) -> subprocess.CompletedProcess:
    """`neurograde COMMAND`: the project venv's script, or `python -m server.cli` of another
    interpreter (the temporary venv, which has no neurograde script of its own)."""
    argv = ([str(VENV_BIN / "neurograde")] if python is None
            else [str(python), "-m", "server.cli"])
    return subprocess.run([*argv, command], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture(scope="module")
def example_venv(tmp_path_factory) -> Path:
    """A real virtualenv with the example plugin pip-installed into it; returns its python.

    Offline: neurograde, its dependencies, pip and the build backend come from the project
    venv and the checkout through a .pth file, and pip runs with --no-index and
    --no-build-isolation. The example is copied first so the build leaves the checkout alone.
    """
    # read from metadata: importing setuptools here would clash with an earlier distutils import
    setuptools = importlib.metadata.distribution("setuptools")
    major = int(setuptools.version.split(".")[0])
    assert major >= 77, "the example builds with setuptools>=77: pip install -e '.[test]'"
    base = tmp_path_factory.mktemp("example-venv")
    venv = base / "venv"
    made = subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)],
                          capture_output=True, text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    site = Path(subprocess.check_output(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        text=True).strip())
    project_site = Path(setuptools.locate_file("")).resolve()
    (site / "neurograde-checkout.pth").write_text(f"{ROOT}\n{project_site}\n")
    source = shutil.copytree(EXAMPLE, base / "example", ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__"))
    done = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", str(source)],
        capture_output=True, text=True, timeout=300, env=_cli_env(base), cwd=base)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(site.glob("neurograde_example_course-*.dist-info"))
    return python


@pytest.mark.slow
def test_example_plugin_is_found_through_its_entry_point(example_venv, tmp_path):
    env = _cli_env(tmp_path)
    listing = _neurograde("assignments", env, tmp_path, example_venv)
    assert listing.returncode == 0, listing.stderr
    assert "example-relu" in listing.stdout
    assert "plugin example_course" in listing.stdout
    plugins = _neurograde("plugins", env, tmp_path, example_venv)
    assert plugins.returncode == 0, plugins.stderr
    line = next(x for x in plugins.stdout.splitlines() if x.startswith("example_course"))
    assert " ok " in line and "dataset example-blobs" in line
    assert "rubric example-relu-strict" in line

    # in the project venv, where the example is not installed, the assignment is gone
    bare = _neurograde("assignments", env, tmp_path)
    assert bare.returncode == 0, bare.stderr
    assert "example-relu" not in bare.stdout and "sigmoid" in bare.stdout


@pytest.mark.slow
def test_autoload_switch_skips_installed_plugins(example_venv, tmp_path):
    env = {**_cli_env(tmp_path), "NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD": "1"}
    listing = _neurograde("assignments", env, tmp_path, example_venv)
    assert listing.returncode == 0, listing.stderr
    assert "example-relu" not in listing.stdout and "sigmoid" in listing.stdout


def test_example_plugin_registry_contents(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(EXAMPLE))
    import neurograde_example_course as example

    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(example, name="example_course")
    _pm, registry = load_plugins(pm=pm)
    assert registry.errors == {}
    assert registry.assignment("example-relu").datasets == ("example-blobs",)
    assert registry.rubric_for("example-relu", "example-relu-strict").late_penalty_per_day == 0.2
    arrays = registry.datasets["example-blobs"].load(tmp_path)
    assert arrays["X_train"].shape == (2, 80) and arrays["y_test"].shape == (40,)


def test_plugin_raising_on_import_is_reported_by_name(monkeypatch, tmp_path, caplog):
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site, "ng-broken", "ng_broken_plugin",
                       "raise ImportError('needs a package that is not installed')\n")
    write_distribution(site, "ng-good", "ng_good_plugin", """
        from plugins import hookimpl, DatasetDef
        import numpy as np

        @hookimpl
        def neurograde_register_datasets():
            return [DatasetDef(name="good-data", load=lambda d: {"X": np.ones(2)})]
        """)
    monkeypatch.syspath_prepend(str(site))
    with caplog.at_level(logging.ERROR):
        _pm, registry = load_plugins(load_entrypoints=True)
    assert "ng-broken" in registry.errors
    assert "needs a package that is not installed" in registry.errors["ng-broken"]
    assert "good-data" in registry.datasets
    assert registry.plugin_of("dataset", "good-data") == "ng-good"
    assert any("ng-broken" in r.getMessage() for r in caplog.records)


def test_plugin_raising_in_a_hook_is_isolated(pm, tmp_path):
    pm.register(RaisingPlugin(), name="raising")
    pm.register(AssignmentPlugin([make_assignment("fine", tmp_path)]), name="fine-plugin")
    _pm, registry = load_plugins(pm=pm)
    assert "the course files are missing" in registry.errors["raising"]
    assert "fine" in registry.assignments


def test_malformed_definitions_are_reported_and_skipped(pm, tmp_path):
    no_reference = make_assignment("lost", tmp_path, reference_path=tmp_path / "missing.py")
    pm.register(MalformedPlugin(), name="malformed")
    pm.register(AssignmentPlugin([no_reference, make_assignment("kept", tmp_path)]),
                name="half-good")
    _pm, registry = load_plugins(pm=pm)
    assert "expected AssignmentDef" in registry.errors["malformed"]
    assert "late_penalty_per_day" in registry.errors["malformed"]
    assert "does not exist" in registry.errors["half-good"]
    assert "kept" in registry.assignments and "lost" not in registry.assignments


def test_duplicate_slug_disables_the_later_plugin_naming_both(pm, tmp_path):
    pm.register(AssignmentPlugin([make_assignment("twin", tmp_path, title="First")]),
                name="first-course")
    pm.register(AssignmentPlugin([make_assignment("twin", tmp_path, title="Second"),
                                  make_assignment("other", tmp_path)],
                                 datasets=[tiny_dataset("second-data")]),
                name="second-course")
    pm, registry = load_plugins(pm=pm)
    reason = registry.errors["second-course"]
    assert "'first-course'" in reason and "'second-course'" in reason and "'twin'" in reason
    assert registry.assignment("twin").title == "First"
    # the later plugin is disabled as a whole, so it cannot half-work
    assert "other" not in registry.assignments and "second-data" not in registry.datasets
    assert pm.get_plugin("second-course") is None


def test_duplicate_dataset_name_with_a_builtin(pm):
    pm.register(AssignmentPlugin(datasets=[tiny_dataset("mnist")]), name="shadow")
    _pm, registry = load_plugins(pm=pm)
    assert "plugins.builtin_datasets" in registry.errors["shadow"]
    assert registry.plugin_of("dataset", "mnist") == "plugins.builtin_datasets"


def _conflicted_manager(tmp_path):
    pm = get_plugin_manager(load_entrypoints=False)
    pm.register(AssignmentPlugin([make_assignment("twin", tmp_path)]), name="first-course")
    pm.register(AssignmentPlugin([make_assignment("twin", tmp_path)]), name="second-course")
    pm.register(RaisingPlugin(), name="raising")
    return pm


def test_app_starts_and_cli_lists_broken_and_duplicate_plugins(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path),
                      "PLUGIN_MANAGER": _conflicted_manager(tmp_path)})
    assert app.test_client().get("/healthz").status_code == 200
    registry = app.extensions["neurograde"].registry
    assert set(registry.errors) == {"second-course", "raising"}

    from click.testing import CliRunner

    from server.cli import main

    result = CliRunner().invoke(main, ["plugins"], obj={"config": {
        "INSTANCE_PATH": str(tmp_path), "PLUGIN_MANAGER": _conflicted_manager(tmp_path)}})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(x.startswith("first-course") and " ok " in x and "assignment twin" in x
               for x in lines)
    assert any(x.startswith("raising") and "BROKEN" in x for x in lines)
    assert any(x.startswith("second-course") and "BROKEN" in x and "not active" in x
               for x in lines)
    assert "error: plugin 'second-course'" in result.output


def test_app_cli_and_workers_register_the_same_extra_plugins(tmp_path, monkeypatch):
    """EXTRA_PLUGINS (or NEUROGRADE_EXTRA_PLUGINS) reaches the web app and the CLI too, not
    only the workers, so the assignments the workers grade are the ones the site offers."""
    from server.state import build_state

    monkeypatch.setenv("NEUROGRADE_EXTRA_PLUGINS", "tests.queue.throwaway_plugin, nope.missing")
    config = {"INSTANCE_PATH": str(tmp_path), "LOAD_PLUGIN_ENTRYPOINTS": False,
              "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}"}
    web = create_app(config).extensions["neurograde"].registry
    worker = build_state(config).registry
    assert "queue-echo" in web.assignments
    assert sorted(web.assignments) == sorted(worker.assignments)
    assert "nope.missing" in web.errors and "nope.missing" in worker.errors


class _Typed:
    """One plugin per kind of badly typed definition (dataclasses do not check types)."""

    def __init__(self, assignments=(), rubrics=(), datasets=(), raises=False) -> None:
        self.items = {"assignments": assignments, "rubrics": rubrics, "datasets": datasets}
        self.raises = raises

    @hookimpl
    def neurograde_register_assignments(self):
        if self.raises:
            raise ValueError("no course folder")
        return list(self.items["assignments"])

    @hookimpl
    def neurograde_register_rubrics(self):
        return list(self.items["rubrics"])

    @hookimpl
    def neurograde_register_datasets(self):
        return list(self.items["datasets"])


def test_badly_typed_definitions_are_reported_by_name_and_the_rest_load(pm, tmp_path):
    good = make_assignment("good", tmp_path)
    reference = str(good.reference_path)
    broken = {
        "str-path": _Typed([make_assignment("str-path", tmp_path, reference_path=reference)]),
        "no-checks": _Typed([make_assignment("no-checks", tmp_path, checks=None)]),
        "not-a-check": _Typed([make_assignment("not-a-check", tmp_path,
                                               checks=("answer", 42))]),
        "raising-hook": _Typed(raises=True),
        "bad-rubric": _Typed(rubrics=[RubricDef(name="r", assignment="good", points=None)]),
        "bad-imports": _Typed(rubrics=[RubricDef(name="i", assignment="good",
                                                 forbidden_imports="torch")]),
        "bad-dataset": _Typed(datasets=[DatasetDef(name=3, load=None)]),
        "bad-limits": _Typed([make_assignment("bad-limits", tmp_path, limits={"wall": 1})]),
    }
    for name, plugin in broken.items():
        pm.register(plugin, name=name)
    pm.register(AssignmentPlugin([good], datasets=[tiny_dataset("fine-data")]), name="fine")
    _pm, registry = load_plugins(pm=pm)
    assert set(registry.errors) == set(broken), registry.errors
    errors = registry.errors
    assert "reference_path must be Path, got str" in errors["str-path"]
    assert "checks must be a tuple of CheckDef, got NoneType" in errors["no-checks"]
    assert "is not a CheckDef" in errors["not-a-check"]
    assert "ValueError: no course folder" in errors["raising-hook"]
    assert "points must be Mapping" in errors["bad-rubric"]
    assert "forbidden_imports must be a tuple, got str" in errors["bad-imports"]
    assert "name must be str" in errors["bad-dataset"]
    assert "limits must be Limits" in errors["bad-limits"]
    assert set(registry.assignments) >= {"good", "sigmoid"}
    assert not set(registry.assignments) & set(broken)
    assert "fine-data" in registry.datasets and "r" not in registry.rubrics


def test_a_definition_that_fails_while_being_validated_is_reported(pm, tmp_path):
    class Exploding(type(tmp_path)):  # a concrete Path class (Python 3.11)
        def is_file(self) -> bool:
            raise PermissionError("the course share is not mounted")

    odd = make_assignment("odd", tmp_path, reference_path=Exploding(tmp_path / "x.py"))
    pm.register(_Typed([odd]), name="odd-plugin")
    pm.register(AssignmentPlugin([make_assignment("kept", tmp_path)]), name="kept-plugin")
    _pm, registry = load_plugins(pm=pm)
    assert "PermissionError: the course share is not mounted" in registry.errors["odd-plugin"]
    assert "kept" in registry.assignments and "odd" not in registry.assignments


CLASHING_PLUGIN = """
    from pathlib import Path

    from plugins import AssignmentDef, CheckDef, Outcome, hookimpl

    @hookimpl
    def neurograde_register_assignments():
        return [AssignmentDef(slug="sigmoid", title="Shadow", handout="", starter="",
                              reference_path=Path(__file__),
                              checks=(CheckDef("x", lambda ctx: Outcome(True)),))]
    """


@pytest.mark.sandbox
def test_cli_grades_and_lists_despite_a_clashing_installed_plugin(monkeypatch, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    write_distribution(site, "ng-shadow", "ng_shadow_plugin", CLASHING_PLUGIN)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    from click.testing import CliRunner

    from server.cli import main

    reference = ROOT / "assignments" / "sigmoid" / "reference.py"
    graded = CliRunner().invoke(main, ["grade", str(reference), "--assignment", "sigmoid",
                                       "--json"])
    assert graded.exit_code == 0, graded.output
    result = json.loads(graded.output[graded.output.index("{"):])
    assert result["status"] == "graded" and result["score"] == result["max_score"] > 0
    assert result["provenance"]["plugin"] == "assignments.sigmoid"
    listed = CliRunner().invoke(main, ["datasets", "list"])  # grader/course_cli.py
    assert listed.exit_code == 0, listed.output
    assert "mnist" in listed.output
