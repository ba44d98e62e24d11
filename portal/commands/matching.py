"""``flask matcher reindex | evaluate | train``."""

from __future__ import annotations

import json
from typing import Any

import click
from flask import Flask, current_app
from sqlalchemy import select

from models import Startup

from ..database import db


def register(app: Flask) -> None:
    @app.cli.group("matcher")
    def matcher_group() -> None:
        """The recommender: indexing, evaluation and learning."""

    @matcher_group.command("reindex")
    def reindex() -> None:
        """Encode every challenge and capability whose text has no cached vector."""
        from ..services import recommendations

        work = recommendations.work_to_index()
        with click.progressbar(length=recommendations.index_size(work), label="Encoding") as bar:
            done = recommendations.reindex(progress=bar.update, checkpoint=db.commit, work=work)
        db.commit()
        recommendations.clear_caches()
        click.echo(f"Indexed {done} texts and evidence sentences with {recommendations.encoder().model_id}.")

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

    @matcher_group.command("calibrate-bands")
    @click.option(
        "--cases", "cases_path", default="data/eval/real_cases.json", show_default=True,
        type=click.Path(exists=True, dir_okay=False),
        help="Labelled cases; data/eval/parts/*.json beside it are added when present.",
    )
    @click.option("--write", is_flag=True, help="Store the bands in matcher/data/score_bands.json.")
    @click.option(
        "--no-test-check", "skip_test", is_flag=True,
        help="Do not score the test split (cut and write the bands without reading it).",
    )
    def calibrate_bands(cases_path: str, write: bool, skip_test: bool) -> None:
        """Cut the match score into bands on the cases' tune split (every split but
        'test'), and print the share of relevant pairs in each band."""
        from pathlib import Path

        import matcher
        from matcher import bands, evaluation

        from ..services import recommendations

        resolved = recommendations.settings(current_app.config)
        try:
            parts = [evaluation.load_cases(cases_path)]
            parts_dir = Path(cases_path).with_name("parts")
            parts += [evaluation.load_cases(p) for p in sorted(parts_dir.glob("*.json"))]
            merged = evaluation.merge_cases(parts)
            tune = merged.only("tune")
            encoder = matcher.with_translation(
                matcher.get_encoder(resolved.model),
                resolved.translation if resolved.encoder_translation else None,
            )
            config = matcher.RankerConfig.from_mapping(dict(resolved.ranker))
            pairs = evaluation.scored_pairs(tune, encoder, config, centering=resolved.centering)
        except (ValueError, ImportError, OSError) as error:
            raise click.ClickException(str(error)) from error
        source = f"{Path(cases_path).name}{' + parts' if len(parts) > 1 else ''}, tune split"
        calibration = bands.calibrate(
            [p[2] for p in pairs], [p[3] > 0 for p in pairs], [p[4] for p in pairs if p[3] > 0],
            relevant_semantic=[p[5] for p in pairs if p[3] > 0],
            source=f"{source}: {len(tune.qrels)} challenges x {len(tune.startups)} startups",
        )
        click.echo(f"Score bands on {calibration.source} ({len(pairs)} pairs, "
                   f"{sum(p[3] > 0 for p in pairs)} relevant); encoder {encoder.model_id}")
        for band in calibration.bands:
            click.echo(
                f"  {band.key:<9} score >= {band.min_score:.3f}: {band.relevant}/{band.pairs} relevant "
                f"= {band.share:.2f} (about {band.in_ten} in 10)"
            )
        click.echo(f"  lexical strength: 1 - exp(-bm25 / {calibration.lexical_scale}); "
                   f"semantic strength: 1 - exp(-cosine / {calibration.semantic_scale})")
        if config.fusion == "zscore":
            reference = evaluation.zscore_reference(tune, encoder, config, centering=resolved.centering)
            click.echo(f"  zscore_reference (the preset's, for a corpus of fewer startups): {json.dumps(reference)}")
            if reference != config.zscore_reference:
                click.echo("  (differs from the configured one: copy it into the encoder's preset in matcher/presets.py)")
        if merged.splits and not skip_test:
            try:
                test = evaluation.scored_pairs(merged.only("test"), encoder, config, centering=resolved.centering)
            except ValueError:
                test = []
            if test:
                click.echo("Check on the test split (not used to cut the bands):")
                for band, n, hits in bands.band_shares(calibration, [p[2] for p in test], [p[3] > 0 for p in test]):
                    click.echo(f"  {band.key:<9} {hits}/{n} relevant" + (f" = {hits / n:.2f}" if n else ""))
        if write:
            bands.CALIBRATION_PATH.write_text(
                json.dumps(calibration.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            click.echo(f"Written to {bands.CALIBRATION_PATH}.")

    @matcher_group.command("exposure")
    @click.option("--cap", type=click.FloatRange(0, 1, min_open=True), default=None,
                  help="Also show the top ten with this cap (default: MATCHER_EXPOSURE_CAP if set).")
    @click.option("--cases", "cases_path", default=None, type=click.Path(exists=True, dir_okay=False),
                  help="Also report the cap's cost in nDCG@10 on these labelled cases, e.g. "
                  "data/eval/real_cases.json.")
    def exposure(cap: float | None, cases_path: str | None) -> None:
        """How often each startup appears in the open challenges' top ten: share, Gini
        coefficient, the most and least exposed; with a cap, the same after it."""
        import matcher
        from matcher import evaluation

        from ..services import recommendations
        from ..services.recommendations import exposure as exposure_service

        cap = cap if cap is not None else current_app.config.get("MATCHER_EXPOSURE_CAP")
        names: dict[Any, str] = {sid: name for sid, name in db.execute(select(Startup.id, Startup.name))}

        def show(title: str, rep: Any) -> None:
            click.echo(f"{title}: {rep.queries} open challenges, {rep.places} top-ten places, "
                       f"{len(rep.shares)} startups, {rep.never} never in a top ten; Gini {rep.gini:.3f}")
            click.echo("  most exposed:  " + "; ".join(f"{names.get(k, k)} {v:.1%}" for k, v in rep.most))
            click.echo("  least exposed: " + "; ".join(f"{names.get(k, k)} {v:.1%}" for k, v in rep.least))

        show("Top ten as ranked", exposure_service.report(None))
        if cap:
            show(f"Top ten with the cap {cap:g}", exposure_service.report(float(cap)))
        if cases_path:
            resolved = recommendations.settings(current_app.config)
            try:
                cases = evaluation.load_cases(cases_path)
                encoder = matcher.with_translation(
                    matcher.get_encoder(resolved.model),
                    resolved.translation if resolved.encoder_translation else None,
                )
                config = matcher.RankerConfig.from_mapping(dict(resolved.ranker))
                caps = [float(cap)] if cap else [0.2, 0.1, 0.05]
                rows = evaluation.exposure_cost(cases, encoder, config, caps, centering=resolved.centering)
            except (ValueError, ImportError, OSError) as error:
                raise click.ClickException(str(error)) from error
            click.echo(f"Cost of the cap on {cases_path} ({len(cases.qrels)} labelled challenges, "
                       f"{len(cases.startups)} startups):")
            for r in rows:
                click.echo(f"  cap {'none' if r['cap'] is None else format(r['cap'], 'g'):<5} nDCG@10 {r['ndcg']:.4f} "
                           f"({r['delta']:+.4f}); Gini {r['gini']:.3f}; largest share {r['max_share']:.1%}; "
                           f"{r['moved']} places changed hands")

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
