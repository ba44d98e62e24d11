"""The embeddings cache: new vectors are stored in one statement, in text-hash order, so that
requests storing overlapping texts at the same time wait for each other, never deadlock."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import func, select

import matcher
from models import Embedding
from portal.database import db
from portal.services import recommendations
from portal.services.recommendations import embeddings, stored


def test_vectors_are_stored_once_and_read_back(ctx):
    texts = ["Chest X-ray triage", "Dental appointment chatbot", "Chest X-ray triage"]
    first = embeddings.vectors_for(texts, "passage")
    assert first.shape[0] == 3 and np.allclose(first[0], first[2])
    assert db.scalar(select(func.count()).select_from(Embedding)) == 2
    again = embeddings.vectors_for(list(reversed(texts)), "passage")  # read, nothing new stored
    assert np.allclose(again[0], first[2]) and db.scalar(select(func.count()).select_from(Embedding)) == 2


def test_a_text_stored_meanwhile_by_another_transaction_is_skipped(app, ctx):
    with app.app_context():  # another request stores one of the texts first and commits
        embeddings.vectors_for(["Licence application checking"], "passage")
        db.commit()
    vectors = embeddings.vectors_for(["Licence application checking", "Vaccination reminders"], "passage")
    db.commit()
    assert vectors.shape[0] == 2 and db.scalar(select(func.count()).select_from(Embedding)) == 2


def test_overlapping_texts_stored_at_once_in_opposite_orders_do_not_deadlock(app):
    texts = [f"Overlapping capability text number {i}" for i in range(30)]
    errors: list[Exception] = []
    barrier = threading.Barrier(2)

    def store(order: list[str]) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=10)
                enc = recommendations.encoder()
                stored.save(enc.model_id, {
                    matcher.text_hash(enc.model_id, t, "passage"): np.ones(enc.dim, dtype="<f4")
                    for t in order
                })
                db.commit()
        except Exception as error:  # noqa: BLE001 - any error fails the test below
            errors.append(error)

    threads = [threading.Thread(target=store, args=(texts,)), threading.Thread(target=store, args=(texts[::-1],))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    with app.app_context():
        assert db.scalar(select(func.count()).select_from(Embedding)) == len(texts)
