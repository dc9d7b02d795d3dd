"""Plan kinds, one package each (``circuits``, ``qcnn``, ``distributed``).

Each is registered like a provider, in the entry-point group ``qorch.workloads``.
"""
