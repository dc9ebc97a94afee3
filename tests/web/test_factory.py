"""The application factory and its configuration."""

import pytest

from webapp import create_app
from webapp.config import DEV_SECRET_KEY


def test_factory_default_app_not_testing(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test")
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert not create_app().testing


def test_factory_test_config_is_testing(app):
    assert app.testing


def test_factory_refuses_dev_secret_key_in_production(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="development SECRET_KEY"):
        create_app({"SECRET_KEY": DEV_SECRET_KEY, "TESTING": False, "DEBUG": False})


def test_factory_reads_prefixed_environment(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-for-this-test")
    monkeypatch.setenv("OPENMENTOR_SERVICE_FEE_BP", "350")
    monkeypatch.setenv("OPENMENTOR_CURRENCY", "EUR")
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/x")
    app = create_app()
    assert app.config["SERVICE_FEE_BP"] == 350
    assert app.config["CURRENCY"] == "EUR"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://postgres@127.0.0.1:5432/x"
    assert app.config["SECRET_KEY"] == "a-real-secret-for-this-test"


def test_factory_reads_generated_secret_key_file(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    (tmp_path / "secret_key").write_text("key-from-make-run\n")
    monkeypatch.setattr("webapp.config.INSTANCE_PATH", tmp_path)
    app = create_app()
    assert app.config["SECRET_KEY"] == "key-from-make-run"
