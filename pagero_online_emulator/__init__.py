"""An emulator of Pagero Online's public REST API, for tests and for the demo (it imports nothing from the product)."""
