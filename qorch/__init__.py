"""qorch: hardware-abstracted quantum orchestration.

Declarative plans (YAML) are compiled into provider-specific jobs, submitted
to local simulators, IBM Quantum or Amazon Braket, and collected into results.
"""

__version__ = "0.1.0"
