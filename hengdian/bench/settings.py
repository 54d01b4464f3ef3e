"""The app's own settings plus the benchmark's URLconf: used only by ``manage.py bench``.

``manage.py bench`` starts gunicorn with ``DJANGO_SETTINGS_MODULE=hengdian.bench.settings``;
nothing else names this module, so the floor view below is never served otherwise.
"""

from hengdian.settings import *  # noqa: F403

ROOT_URLCONF = "hengdian.bench.urls"
