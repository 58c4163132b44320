import Testing
import TernNode
