"""qorch-braket: Amazon Braket devices for qorch (plugin ``braket``).

Light to import: nothing here loads the Braket SDK, boto3 or
qiskit-braket-provider; :mod:`qorch_braket.provider` holds the provider.
"""

__version__ = "0.1.0"
