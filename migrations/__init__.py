"""Alembic migrations of the neurograde database (`neurograde db upgrade`)."""

from pathlib import Path

#: the folder holding alembic.ini, env.py and versions/, wherever the package is installed
MIGRATIONS_DIR = Path(__file__).resolve().parent
ALEMBIC_INI = MIGRATIONS_DIR / "alembic.ini"
