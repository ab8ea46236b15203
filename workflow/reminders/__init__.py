"""Reminders: the ledger of e-mails a deadline is due to send (``ledger``), the your-turn
notices a step writes into it (``notices``), the service that
claims and sends them (``service``), its lease on the rows it holds (``lease``), the
process that runs it (``runner``) and SMTP (``mailer``).
"""
