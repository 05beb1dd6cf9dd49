"""campaign state reports: snapshots of mluvii WhatsApp campaign contacts, metrics and reports."""

__version__ = "0.1.0"
