"""``flask matcher reindex | evaluate | train``."""

from __future__ import annotations

import json

import click
from flask import Flask, current_app
from sqlalchemy import func, select

from ..database import db


def register(app: Flask) -> None:
    @app.cli.group("matcher")
    def matcher_group() -> None:
        """The recommender: indexing, evaluation and learning."""

    @matcher_group.command("reindex")
    def reindex() -> None:
        """Encode every challenge and capability whose text has no cached vector."""
        from models import Capability, Challenge

        from ..services import recommendations

        total = (db.scalar(select(func.count()).select_from(Challenge)) or 0) + (
            db.scalar(select(func.count()).select_from(Capability)) or 0
        )
        with click.progressbar(length=total, label="Encoding") as bar:
            done = recommendations.reindex(progress=bar.update)
        db.commit()
        recommendations.clear_caches()
        click.echo(f"Indexed {done} texts with {recommendations.encoder().model_id}.")

    @matcher_group.command("evaluate")
    @click.argument("cases", type=click.Path(exists=True, dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    @click.option("--model", default=None, help="Encoder (path or hub name); default: MATCHER_MODEL.")
    def evaluate(cases: str, as_json: bool, model: str | None) -> None:
        """Print nDCG@10, recall@10 and MRR for every ranker variant on CASES."""
        import matcher
        from matcher import evaluation

        encoder = matcher.get_encoder(model or current_app.config.get("MATCHER_MODEL") or "default")
        try:
            result = evaluation.evaluate(cases, encoder)
        except ValueError as error:
            raise click.ClickException(str(error)) from error
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            click.echo(evaluation.format_report(result))

    @matcher_group.command("train")
    @click.option("--min-per-class", default=10, show_default=True, help="Examples needed of each label.")
    @click.option("--activate/--no-activate", default=True, show_default=True, help="Use the new weights at once.")
    def train(min_per_class: int, activate: bool) -> None:
        """Learn fusion weights from coordinators' decisions and users' dismissals."""
        import matcher

        from ..services import recommendations

        try:
            version = recommendations.train_weights(min_per_class=min_per_class, activate=activate)
        except matcher.NotEnoughData as error:
            raise click.ClickException(f"Not enough decisions to learn from yet: {error}") from error
        db.commit()
        weights = ", ".join(f"{k}={v:.2f}" for k, v in version.weights["weights"].items())
        state = "active" if version.active else "stored, not active"
        click.echo(f"Ranker version {version.version} ({version.examples} examples): {weights} [{state}]")
