"""The engine: plan loading, compile, bundles, registries, the runner and local job workers.

Imports the contract and store layers; finds providers and workloads through
their entry points, never by importing them.
"""
