"""Checks, one module per assignment."""
