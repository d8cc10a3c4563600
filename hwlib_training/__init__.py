"""One command per shipped offline model (``python -m hwlib_training.<model>``) and its quality report.

Each command writes ``<name>.pt`` and a provenance ``<name>.json`` (command, seed, data, measured quality) into
``data/``; the tests check the shipped files against that record.
"""
