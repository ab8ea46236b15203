"""Accounts: passwords, rate-limited logins, web sessions and API tokens, user
administration and single sign-on. Used by the web layer and the command line; uses only
the store (and authlib, for OpenID Connect).

Modules: ``logins`` (passwords, sessions, tokens), ``users`` (the administrator's changes
to users, and :func:`~workflow.accounts.users.may_administer`), ``oidc`` (OpenID Connect:
discovery, the code flow with PKCE, the ID token checked), ``directory`` (directory groups
mapped to roles and municipalities; a single sign-on's user made or brought up to date).
"""
