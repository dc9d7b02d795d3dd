"""QCNN: quantum convolutional neural networks for classical data.

Numerics (pure, numpy only at import): :mod:`.ansatz` (two-qubit convolution and pooling
blocks), :mod:`.encoding` (features -> states or gates), :mod:`.layout` (which blocks act
where), :mod:`.engine` (two-qubit-block statevector engine with adjoint gradients),
:mod:`.model` (``QCNNSpec`` -> ``QCNN``), :mod:`.loss`, :mod:`.optimizers`,
:mod:`.gradients` (parameter shift, SPSA), :mod:`.train`, :mod:`.export` (Aer-safe circuits).
They reproduce Hur, Kim & Park, "Quantum convolutional neural network for classical data
classification", Quantum Machine Intelligence 4, 3 (2022), github.com/takh04/QCNN.

Registered in the ``qorch.workloads`` entry-point group as
``qcnn = "qorch.workloads.qcnn.workload:QCNNWorkload"``.
"""
