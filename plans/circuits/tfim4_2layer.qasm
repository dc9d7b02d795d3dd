// Two layers of a Trotterised ansatz for a 4-site transverse-field Ising chain (open, g = 1):
// each layer exp(-i a ZZ) on every bond (cx, rz, cx) then rx on every spin. Twelve CNOTs:
// deep enough that a noisy device's gate errors show, so plans/zne.yaml can extrapolate them.
OPENQASM 3.0;
include "stdgates.inc";
qubit[4] q;
bit[4] c;
ry(0.9) q[0];
ry(0.9) q[1];
ry(0.9) q[2];
ry(0.9) q[3];
cx q[0], q[1]; rz(-0.6) q[1]; cx q[0], q[1];
cx q[1], q[2]; rz(-0.6) q[2]; cx q[1], q[2];
cx q[2], q[3]; rz(-0.6) q[3]; cx q[2], q[3];
rx(-0.4) q[0]; rx(-0.4) q[1]; rx(-0.4) q[2]; rx(-0.4) q[3];
cx q[0], q[1]; rz(-0.4) q[1]; cx q[0], q[1];
cx q[1], q[2]; rz(-0.4) q[2]; cx q[1], q[2];
cx q[2], q[3]; rz(-0.4) q[3]; cx q[2], q[3];
rx(-0.3) q[0]; rx(-0.3) q[1]; rx(-0.3) q[2]; rx(-0.3) q[3];
c = measure q;
