"""Logging people in for tests, the way the site would."""

from django.test import Client


def login_staff(client: Client, user) -> Client:
    """Log a staff account into the admin as a fully signed-in session."""
    client.force_login(user)
    return client
