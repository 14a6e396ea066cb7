"""Pagero Online: the API client the product uses and an emulator of that API for tests and demos."""
