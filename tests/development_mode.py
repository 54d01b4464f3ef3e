"""A pytest plugin, loaded by ``-p`` from pyproject.toml before Django's settings are read.

The app runs in production mode unless ``DJANGO_DEBUG=1`` says otherwise, and
production mode refuses to start without a real ``SECRET_KEY``. The suite is
development: it sets the variable here, before pytest-django imports the
settings, so a bare ``pytest`` in a fresh clone works as ``make test`` does,
and a production shell's ``DJANGO_DEBUG=0`` cannot turn every request in the
suite into an HTTPS redirect. Tests of production mode start their own
processes with their own environment (tests/test_settings.py).
"""

import os

os.environ["DJANGO_DEBUG"] = "1"
