"""Received e-invoices: read safely, shown as a readable PDF, and saved under human-usable file names."""
