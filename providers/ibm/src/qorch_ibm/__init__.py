"""qorch-ibm: the IBM Quantum provider plugin of qorch.

Importing this package is cheap: it does not import qiskit-ibm-runtime, which
is loaded only when a device is translated for, run or looked up. The
provider class is :class:`qorch_ibm.provider.IBMProvider`, registered as
``ibm`` in the ``qorch.providers`` entry-point group.
"""

__version__ = "0.1.0"
