"""Exit 0 when the test PostgreSQL answers (make test then runs the PostgreSQL pass)."""
import os
import sys

import psycopg

url = os.environ.get("ENTRAIDE_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test")
try:
    psycopg.connect(url, connect_timeout=2).close()
except Exception:
    sys.exit(1)
