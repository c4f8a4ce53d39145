"""Target variables lose their secrets before they are journaled."""

from __future__ import annotations

from drillkit.spec.variable_redaction import redact_variables


def test_passwords_in_urls_and_secret_named_variables_are_hidden() -> None:
    redacted = redact_variables(
        {
            "orders_db": "postgresql://orders:s3cr%40t@db.internal:5432/orders",
            "orders_url": "https://orders.example.com/path?x=1",
            "api_token": "abc123",
            "db_password": "hunter2",
            "plain": "user@example.com",
        }
    )

    assert redacted == {
        "orders_db": "postgresql://orders:***@db.internal:5432/orders",
        "orders_url": "https://orders.example.com/path?x=1",
        "api_token": "***",
        "db_password": "***",
        "plain": "user@example.com",
    }
