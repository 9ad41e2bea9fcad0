# Hook specifications are signatures only: pluggy never calls their (empty) bodies.
# mypy: disable-error-code="empty-body"
"""The plugin contract: every hook neurograde calls, in one place.

Each hookspec's docstring is its documentation (mirrored in docs/plugins.md).
A plugin implements any subset with `@hookimpl` from `neurograde`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from plugins.types import AssignmentDef, DatasetDef, RendererDef, RubricDef

hookspec = pluggy.HookspecMarker("neurograde")


@hookspec
def neurograde_register_assignments() -> Iterable[AssignmentDef]:
    """Return the assignments this plugin provides.

    Each `AssignmentDef` carries a unique slug, handout (Markdown, English) and its
    translations by language code, starter code,
    the path of a reference solution, its checks, resource limits, the datasets it
    needs, the imports it forbids, its leaderboard metric and its own rubrics.
    Slugs must be unique across all plugins. `load_assignment(__file__, ...)` builds
    one from the folder convention.
    """


@hookspec
def neurograde_register_datasets() -> Iterable[DatasetDef]:
    """Return the dataset providers this plugin provides.

    A `DatasetDef` names the dataset, a `load(cache_dir)` function returning
    numpy arrays, and which array names are hidden (never handed to a submission).
    Loading must not use the network.
    """


@hookspec
def neurograde_register_rubrics() -> Iterable[RubricDef]:
    """Return grading rubrics: points per check, thresholds and late penalty.

    A rubric names the assignment it applies to; an instructor picks one by name
    per course assignment (the assignment's `default_rubric` otherwise).
    """


@hookspec
def neurograde_register_renderers() -> Iterable[RendererDef]:
    """Return picture renderers, each keyed by the artifact it draws.

    A `RendererDef` whose `key` is in a graded result's `artifacts` draws that
    artifact as a PNG on the submission page: `render(value, context)` gets the
    artifact's JSON value and a `RenderContext` (all artifacts and metrics, the
    assignment's slug, the trusted dataset store). Keys must be unique across plugins.
    """
