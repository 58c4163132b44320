// TernNode: the daemon that wires mesh, ledger and engine together, and its control API.
import TernMesh
import TernLedger
