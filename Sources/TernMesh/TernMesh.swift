// TernMesh: node identity, the signed wire format, SWIM membership, transport, profiles.
import CSodium
