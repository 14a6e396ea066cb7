"""The status page: every view of the outbound invoices, settings, users, and the JSON API behind them."""
