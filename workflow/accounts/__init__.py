"""Accounts: passwords, rate-limited logins, web sessions and API tokens. Used by the web
layer and the command line; uses only the store.

Modules: ``logins``.
"""
