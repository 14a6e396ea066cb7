"""The pipeline: each stored print job is converted, read, split into invoices and checked."""
