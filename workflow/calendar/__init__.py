"""Dates: Danish working days and holidays, deadline expressions ("10 working days after
…") and iCalendar export. Pure date arithmetic: it imports no other room.

Modules: ``workdays``, ``expressions``, ``ics``.
"""
