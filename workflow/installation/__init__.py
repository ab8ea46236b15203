"""An installation's data: today the Ishøj–Vallensbæk demo (municipalities, areas, users and
example cases). Its constants are low enough for the documents' samples to read.

Modules: ``demo``.
"""
