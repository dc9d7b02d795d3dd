"""Observables on IBM fake backends: the executor-based Estimator in local testing mode.

qiskit-ibm-runtime 0.51's ``qiskit_ibm_runtime.executor_estimator.Estimator``
(successor of the deprecated ``EstimatorV2``) runs on a fake backend locally,
with its default resilience (level 1: measurement twirling and readout-error
mitigation), and returns each observable's value with its standard error.
Real QPUs are not estimated here: qorch measures their observables through
basis circuits and the Sampler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qorch.contract import payload
from qorch.contract.provider import JobRequest, Result, expectations_result
from qorch_ibm.sampling import job_tags

if TYPE_CHECKING:
    from qiskit import QuantumCircuit

METHOD = "IBM executor Estimator (local testing mode)"


def run_local(backend: Any, circuit: QuantumCircuit, request: JobRequest, *, ideal: bool) -> Result:
    """The request's observables on ``circuit`` (an ISA circuit without measurements, its
    layout kept), estimated with ``request.shots`` shots on ``backend`` (``ideal``: on an
    ideal Aer simulator, the device's translation kept), seeded by ``request.seed``."""
    from qiskit_ibm_runtime.executor_estimator import Estimator

    if ideal:  # the Estimator takes no noise-model option: estimate on ideal Aer
        from qiskit_aer import AerSimulator

        backend = AerSimulator()
    estimator = Estimator(mode=backend)
    estimator.options.default_shots = request.shots
    estimator.options.simulator.seed_simulator = request.seed
    estimator.options.environment.job_tags = job_tags(request)
    operators = payload.pauli_operators(circuit, request.observables)
    data = estimator.run([(circuit, operators)]).result()[0].data
    return expectations_result(data.evs, data.stds, request.shots, METHOD)
