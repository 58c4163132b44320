import Testing
import TernLedger
