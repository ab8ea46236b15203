"""An installation's data: today the Ishøj–Vallensbæk demo (municipalities, areas, users and
example cases dated relative to today) and the true history of 2020–22, replayed through
the engine. Its constants are low enough for the documents' samples to read.

Modules: ``demo``, ``history``.
"""
