OPENQASM 3.0;
include "stdgates.inc";
// Move |1> from qubit 0 to qubit 2 with two swaps; the |+> of qubit 1 ends on qubit 0.
// Outcomes: 100 and 101 (Qiskit order: clbit 2 leftmost), half each.
qubit[3] q;
bit[3] c;
x q[0];
h q[1];
swap q[0], q[1];
swap q[1], q[2];
c = measure q;
