"""The studio benchmark: data builder, floor URLconf, load runner, bursts and the scale-out proof.

Nothing here is imported by the app itself; ``manage.py bench``, ``bench_data`` and
``bench_scaleout`` use it (README, "Performance").
"""
