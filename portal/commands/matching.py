"""``flask matcher reindex | evaluate | train``."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app

from ..database import db


def register(app: Flask) -> None:
    @app.cli.group("matcher")
    def matcher_group() -> None:
        """The recommender: indexing, evaluation and learning."""

    @matcher_group.command("reindex")
    def reindex() -> None:
        """Encode every challenge and capability whose text has no cached vector."""
        from ..services import recommendations

        with click.progressbar(length=recommendations.index_size(), label="Encoding") as bar:
            done = recommendations.reindex(progress=bar.update)
        db.commit()
        recommendations.clear_caches()
        click.echo(f"Indexed {done} texts with {recommendations.encoder().model_id}.")

    @matcher_group.command("evaluate")
    @click.argument("cases", type=click.Path(exists=True, dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    @click.option(
        "--split",
        type=click.Choice(["test", "tune"]),
        default=None,
        help="Score only the challenges of this split (every split but 'test' is tune); "
        "default: the whole file. A file without 'split' fields is evaluated whole.",
    )
    @click.option("--model", default=None, help="Encoder name or model path; default: MATCHER_MODEL.")
    @click.option(
        "--centering/--no-centering",
        default=None,
        help="Per-language centering of the vectors; default: MATCHER_CENTERING or the model's preset.",
    )
    @click.option(
        "--calibration",
        default=None,
        metavar="JSON",
        help='Cross-language cosine offsets, e.g. \'{"cross": 0.2}\'; default: MATCHER_CALIBRATION or the preset.',
    )
    @click.option(
        "--translation",
        default=None,
        metavar="NAME",
        help="Dictionary translation of Chinese texts: 'cedict' or 'none'; default: "
        "MATCHER_TRANSLATION or the model's preset.",
    )
    def evaluate(
        cases: str,
        as_json: bool,
        split: str | None,
        model: str | None,
        centering: bool | None,
        calibration: str | None,
        translation: str | None,
    ) -> None:
        """Print nDCG@10, recall@10 and MRR for the app's ranker ('default'), its single
        signals and fusions (lexical, dense, weighted, rrf) and the standard baselines
        (bm25-plain, dense-plain) on CASES, overall and per language."""
        import matcher
        from matcher import evaluation

        from ..services import recommendations

        overrides: dict[str, Any] = {}
        if model:
            overrides["MATCHER_MODEL"] = model
        if centering is not None:
            overrides["MATCHER_CENTERING"] = centering
        if translation is not None:
            overrides["MATCHER_TRANSLATION"] = "" if translation.lower() == "none" else translation
        if calibration is not None:
            try:
                parsed = json.loads(calibration)
            except json.JSONDecodeError as error:
                raise click.BadParameter(f"not valid JSON: {error.msg}", param_hint="--calibration") from None
            if not isinstance(parsed, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in parsed.values()
            ):
                raise click.BadParameter(
                    'must be a JSON object of numbers, e.g. {"cross": 0.2}', param_hint="--calibration"
                )
            overrides["MATCHER_CALIBRATION"] = parsed
        resolved = recommendations.settings({**current_app.config, **overrides})
        mapping = dict(resolved.ranker)
        try:
            default_config = matcher.RankerConfig.from_mapping(mapping)
            encoder = matcher.with_translation(
                matcher.get_encoder(resolved.model),
                resolved.translation if resolved.encoder_translation else None,
            )
            result = evaluation.evaluate(
                cases,
                encoder,
                default="default",
                default_config=default_config,
                base_config=default_config,
                centering=resolved.centering,
                split=split,
            )
        except (ValueError, ImportError, OSError) as error:
            raise click.ClickException(str(error)) from error
        if as_json:
            rankers = result["rankers"]
            rankers["default"]["config"] |= {
                "encoder": result["encoder"],
                "centering": resolved.centering,
                "encoder_translation": resolved.encoder_translation,
            }
            out = {
                "cases": result["cases"], "split": result["split"], "default": result["default"],
                "rankers": rankers, "warnings": result["warnings"],
            }
            click.echo(json.dumps(out, ensure_ascii=False, indent=2))
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
