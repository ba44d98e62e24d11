"""``flask seed-demo`` and ``flask db upgrade|downgrade``."""

from __future__ import annotations

from pathlib import Path

import click
from alembic.config import Config
from flask import Flask, current_app

from ..database import db


def _alembic_config() -> Config:
    root = Path(current_app.root_path).parent
    cfg = Config(str(root / "alembic.ini"))
    cfg.set_main_option("script_location", str(root / "migrations"))
    cfg.attributes["skip_logging"] = True
    cfg.cmd_opts = None
    return cfg


def register(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Database schema migrations (Alembic)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def upgrade(revision: str) -> None:
        """Migrate the database up to REVISION (default: head)."""
        import os

        from alembic import command

        os.environ.setdefault("DATABASE_URL", current_app.config["DATABASE_URL"])
        if current_app.config["DATABASE_URL"].startswith("sqlite:///"):
            Path(current_app.config["DATABASE_URL"].removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        command.upgrade(_alembic_config(), revision)
        click.echo(f"Database at {revision}.")

    @db_group.command("downgrade")
    @click.argument("revision")
    def downgrade(revision: str) -> None:
        """Migrate the database down to REVISION (e.g. base)."""
        import os

        from alembic import command

        os.environ.setdefault("DATABASE_URL", current_app.config["DATABASE_URL"])
        command.downgrade(_alembic_config(), revision)
        click.echo(f"Database at {revision}.")

    @app.cli.command("seed-demo")
    @click.option("--reindex/--no-reindex", default=True, help="Encode the demo texts for recommendations.")
    def seed_demo(reindex: bool) -> None:
        """Load the demo data (once) and print the demo logins."""
        from ..demo import DEMO_LOGINS, DEMO_PASSWORD, is_seeded, seed
        from ..services import recommendations

        if is_seeded():
            click.echo("Demo data is already loaded.")
        else:
            counts = seed()
            db.commit()
            click.echo("Loaded demo data: " + ", ".join(f"{v} {k}" for k, v in counts.items()) + ".")
        if reindex:
            work = recommendations.work_to_index()
            size = recommendations.index_size(work)
            with click.progressbar(length=size, label="Encoding texts for recommendations") as bar:
                recommendations.reindex(progress=bar.update, checkpoint=db.commit, work=work)
            db.commit()
        # The open data files are this database's (a folder left by another database would show
        # its figures until the scheduler's next daily run).
        from ..services import open_data

        manifest = open_data.generate()
        click.echo(f"Generated the {len(manifest.files)} open data files in {open_data.directory()}.")
        click.echo("")
        click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
        for email, _role, label in DEMO_LOGINS:
            click.echo(f"  {email:<30} {label}")
