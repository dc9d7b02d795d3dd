"""The state store: SQLite runs and jobs, journals, locks, atomic files, where state lives.

Imports only the contract layer.
"""
