"""The ``circuits`` plan kind: circuits from OpenQASM files or generators on many targets.

Registered in the ``qorch.workloads`` entry-point group as
``circuits = "qorch.workloads.circuits.workload:CircuitsWorkload"``.
"""
