// Mean-field ansatz for a 4-site transverse-field Ising chain: every spin turned by the
// same angle theta from +Z toward +X. plans/mitigation.yaml sweeps theta.
OPENQASM 3.0;
include "stdgates.inc";
input float theta;
qubit[4] q;
bit[4] c;
ry(theta) q[0];
ry(theta) q[1];
ry(theta) q[2];
ry(theta) q[3];
c = measure q;
