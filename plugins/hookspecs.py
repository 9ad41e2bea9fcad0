"""The plugin contract: every hook neurograde calls, in one place.

Each hookspec's docstring is its documentation (mirrored in docs/plugins.md).
A plugin implements any subset with `@hookimpl` from `plugins`.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from plugins.types import AssignmentDef, DatasetDef, RubricDef

hookspec = pluggy.HookspecMarker("neurograde")


@hookspec
def neurograde_register_assignments() -> Iterable[AssignmentDef]:
    """Return the assignments this plugin provides.

    Each `AssignmentDef` carries a unique slug, handout (Markdown), starter code,
    the path of a reference solution, its checks, resource limits, the datasets it
    needs and the imports it forbids. Slugs must be unique across all plugins.
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
