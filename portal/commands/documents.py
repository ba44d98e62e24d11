"""``flask documents sweep``: reconcile the document storage with the database."""

from __future__ import annotations

import click
from flask import Flask


def register(app: Flask) -> None:
    @app.cli.group("documents")
    def documents_group() -> None:
        """Documents attached to challenges, proposals and trials."""

    @documents_group.command("sweep")
    @click.option("--delete", is_flag=True, help="Delete the stored files that no document row names.")
    def sweep(delete: bool) -> None:
        """List stored files without a row (left by a crash or a failed deletion) and rows
        whose file is missing; with --delete, remove those files. Run it when no upload is
        in flight: an upload's file is written a moment before its row is committed."""
        from ..services import documents

        orphans, missing = documents.sweep(delete=delete)
        for key in orphans:
            click.echo(f"file without a row: {key}{' (deleted)' if delete else ''}")
        for document_id in missing:
            click.echo(f"document {document_id}: its file is missing from storage")
        click.echo(f"{len(orphans)} file(s) without a row, {len(missing)} row(s) without a file.")
