import Testing
import TernMesh
