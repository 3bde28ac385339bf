"""Shared fixtures: the shipped-corpus bot (built once per session), the app and its client."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from qabot import QABot

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def bot() -> QABot:
    """The bot over ``corpus/``; building the index once keeps the suite fast."""
    return QABot.from_path(CORPUS)


@pytest.fixture
def app(bot: QABot) -> Flask:
    from qabot.server import create_app

    return create_app({"TESTING": True}, bot=bot)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
