"""The ``distributed`` plan kind: link physics, networks, partitioning, lowering, scheduling,
execution.

Registered in the ``qorch.workloads`` entry-point group as
``distributed = "qorch.workloads.distributed.workload:DistributedWorkload"``.
"""
