"""``flask open-data generate``: write the open-data files (run daily; see docs/open-data.md)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.group("open-data")
    def open_data_group() -> None:
        """Open data files."""

    @open_data_group.command("generate")
    @click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help="Write here instead of OPEN_DATA_DIR (default instance/open-data).")
    def generate(directory: Path | None) -> None:
        """Write every open dataset and its dictionary as CSV and JSON, each file atomically."""
        from ..services import open_data

        manifest = open_data.generate(directory)
        for f in manifest.files:
            click.echo(f"{f.name}: {f.records} row(s), {f.bytes} bytes")
        click.echo(f"Generated {len(manifest.files)} files in {directory or open_data.directory()}.")
