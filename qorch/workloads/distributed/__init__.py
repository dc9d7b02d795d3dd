"""Distributed circuits: link physics, networks, partitioning, lowering, scheduling, execution."""
