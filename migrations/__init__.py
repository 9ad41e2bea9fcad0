"""Alembic migrations of the neurograde database (`neurograde db upgrade`).

After changing `server.models`, add a revision and keep it ruff-clean:

    .venv/bin/python -c "from alembic import command; from server.db import alembic_config; \
command.revision(alembic_config('sqlite:////tmp/rev.db'), 'what changed', autogenerate=True)"

run against a database at the previous head (`upgrade_database` it first);
`tests/spine/test_migrations.py` fails while models and migrations differ.
"""

from pathlib import Path

#: the folder holding alembic.ini, env.py and versions/, wherever the package is installed
MIGRATIONS_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"
