"""The built-in course: one package per assignment, each an ordinary plugin.

Every package follows the folder convention of `neurograde.load_assignment` and
registers itself with `@hookimpl`, exactly as an installed plugin does; the plugin
manager lists them in `plugins.manager.DEFAULT_PLUGINS`.
"""

__version__ = "0.1.0"
