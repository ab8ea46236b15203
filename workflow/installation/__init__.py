"""An installation's data: the installation file (cooperations with their municipalities,
areas, local texts and settings; municipalities outside any; users; directory groups),
read and checked like ``states.yaml``, applied to the database or exported from it; and
the demo: two shipped files (Ishøj–Vallensbæk, Dragør–Tårnby), example cases dated
relative to today, and the true history of 2020–22, replayed through the engine.

Modules: ``file`` (read and check a file), ``apply`` (apply, read back, export),
``demo`` (the shipped files, the examples), ``history``.
"""
