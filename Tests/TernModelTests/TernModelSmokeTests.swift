import Testing
import TernModel
