"""Selling: counter sales and online orders, both ending in a Sale; payments and refused sales."""
