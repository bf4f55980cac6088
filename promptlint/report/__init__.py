"""Formatters: pure functions from findings to text. One module per output format."""
