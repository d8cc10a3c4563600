"""Shipped data for hwlib: offline model weights and their provenance."""
