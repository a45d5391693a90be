"""One module per construct of the takedown stack."""
