"""Shared fixtures for the matcher tests (no Flask, no real model)."""

from __future__ import annotations

import pytest

from matcher import Item, get_encoder
from matcher.encoders import HashingEncoder


@pytest.fixture
def encoder() -> HashingEncoder:
    return get_encoder("hashing")


@pytest.fixture
def capabilities() -> list[Item]:
    return [
        Item(
            "cap:1",
            "AI chatbot that books clinic appointments and answers patient enquiries "
            "in English and Cantonese. Integrates with existing booking systems.",
            title="Clinic booking chatbot",
            domains={"smart_clinic", "customer_service"},
            tags={"ai", "chatbot", "nlp"},
            readiness=7,
            group="startup:a",
        ),
        Item(
            "cap:2",
            "Chatbot for clinic appointment booking with SMS reminders for patients.",
            title="Appointment reminders",
            domains={"smart_clinic"},
            tags={"chatbot", "sms"},
            readiness=5,
            group="startup:a",
        ),
        Item(
            "cap:3",
            "Computer vision inspection of licensed pharmacy premises for regulatory "
            "compliance; generates inspection reports automatically.",
            title="Inspection vision",
            domains={"health_regulation"},
            areas={"regulation"},
            tags={"computer vision"},
            readiness=6,
            group="startup:b",
        ),
        Item(
            "cap:4",
            "牙科診所預約及候診管理系統，以人工智能預測輪候時間，提升病人體驗。",
            title="牙科預約系統",
            domains={"smart_clinic"},
            areas={"dental_clinical"},
            tags={"ai"},
            readiness=8,
            language="zh-Hant",
            group="startup:c",
        ),
        Item(
            "cap:5",
            "Data sharing platform for anonymised public health statistics with "
            "privacy-preserving analytics.",
            title="Privacy analytics",
            domains={"data_collaboration"},
            tags={"privacy", "analytics"},
            readiness=4,
            group="startup:d",
        ),
    ]


@pytest.fixture
def challenge() -> Item:
    return Item(
        "challenge:1",
        "Our clinics receive many phone calls to book appointments. We need a chatbot "
        "that can book appointments and answer common patient enquiries.",
        title="Reduce phone booking load",
        domains={"smart_clinic", "customer_service"},
        areas={"administration"},
        tags={"chatbot", "ai"},
    )
