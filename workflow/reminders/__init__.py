"""Reminders: the ledger of e-mails a deadline is due to send (``ledger``), the service that
sends them (``service``) and SMTP (``mailer``).
"""
