"""`neurograde new assignment SLUG`: a plugin package that installs, passes `neurograde
verify` and its own tests as it is, for an author to turn into their assignment.

The files come from `grader/scaffold_template/` (`*.tmpl`, with `{{slug}}`,
`{{package}}`, `{{dist}}` and `{{title}}` filled in; `PACKAGE` in a path is the
package's name).
"""

from __future__ import annotations

import keyword
import re
from pathlib import Path

import click

TEMPLATE = Path(__file__).resolve().parent / "scaffold_template"
#: import names of neurograde itself: a plugin package must not shadow them
RESERVED = frozenset({"assignments", "grader", "migrations", "neurograde", "plugins", "server",
                      "tests"})
_SLUG = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def package_name(slug: str) -> str:
    """The import name of the package for `slug` (dashes become underscores)."""
    return slug.replace("-", "_")


def slug_problem(slug: str) -> str | None:
    """Why `slug` cannot name a new assignment package, or None."""
    if not _SLUG.match(slug):
        return "a slug is lower-case letters, digits and single dashes, starting with a letter"
    package = package_name(slug)
    if package in RESERVED or keyword.iskeyword(package):
        return f"{package!r} is a name neurograde or Python already uses; pick another slug"
    return None


def scaffold(slug: str, parent: Path, title: str | None = None) -> Path:
    """Write the package for `slug` into `parent/neurograde-<slug>`; return that folder."""
    problem = slug_problem(slug)
    if problem:
        raise ValueError(problem)
    target = Path(parent) / f"neurograde-{slug}"
    if target.exists():
        raise FileExistsError(f"{target} already exists")
    values = {"slug": slug, "package": package_name(slug), "dist": f"neurograde-{slug}",
              "title": title or slug.replace("-", " ").capitalize()}
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        relative = source.relative_to(TEMPLATE).with_suffix("")
        path = target / str(relative).replace("PACKAGE", values["package"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_fill(source.read_text(encoding="utf-8"), values), encoding="utf-8")
    return target


def _fill(text: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        text = text.replace("{{" + name + "}}", value)
    return text


@click.group("new")
def new() -> None:
    """Start something new from a template."""


@new.command("assignment")
@click.argument("slug")
@click.option("--title", help="The assignment's title (default: from the slug).")
@click.option("--dir", "parent", type=click.Path(file_okay=False, path_type=Path),
              default=Path("."), show_default=True, help="Where to create the package.")
def new_assignment(slug: str, title: str | None, parent: Path) -> None:
    """Create neurograde-SLUG/, an assignment plugin package that works as it is."""
    try:
        target = scaffold(slug, parent, title)
    except (ValueError, FileExistsError) as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"created {target}\n"
               f"  pip install -e {target}      # into the environment that runs neurograde\n"
               f"  neurograde verify {slug}\n"
               f"  python -m pytest {target}")
