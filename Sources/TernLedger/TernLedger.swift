// TernLedger: the node's SQLite database (GRDB), schema by migrations.
import GRDB
