"""qorch's built-in numpy statevector engine (batch axis, explicit RNG) and its gates.

Pure numerics: no I/O, no qorch imports outside this package except the Qiskit bridge.
"""
