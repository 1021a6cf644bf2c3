#!/usr/bin/env python3
"""Run analytics_server's SQL on a modern ClickHouse engine (chdb, in-process) and check it.

Usage:
  cargo run -q -p analytics_server --example sql_catalogue \
    | python3 analytics_server/tools/check_modern_clickhouse.py

The same catalogue runs on Debian's ClickHouse 18.16 in analytics_server's integration tests
(`tests/api/sql_compat.rs`); this script checks the other end, the modern release of the compose
image: every schema statement runs (twice: it must be idempotent), sample rows go in, and every
query runs and returns exactly the column types the service decodes. Needs `pip install chdb`.
Exit 0 when everything passes, 1 with one line per problem otherwise, 2 when chdb is missing.
"""
import json
import sys
import tempfile

try:
    from chdb.session import Session
except ImportError:
    print("chdb is not installed: pip install chdb", file=sys.stderr)
    sys.exit(2)

DATABASE = "fechatter_analytics_check"
SEED_ROWS = 400

# Sample values for the columns that reports group or filter by; other columns get a neutral value
# of their type.
SAMPLE = {
    "event_type": "['message.created', 'search_performed', 'app_start', 'app_exit'][number % 4 + 1]",
    "source": "if(number % 4 = 0, 'nats', 'http')",
    "workspace_id": "1",
    "user_id": "number % 7",
    "chat_id": "number % 5",
    "chat_type": "['group', 'direct', 'public_channel'][number % 3 + 1]",
    "session_id": "concat('s', toString(number % 11))",
    "properties": "if(number % 2 = 0, '{\"results\":0}', '{\"results\":3}')",
    "event_millis": "number % 1000",
    "event_date": "today() - number % 3",
    "event_time": "now() - (number % 3) * 86400 - number",
}
BY_TYPE = {
    "UUID": "generateUUIDv4()",
    "Date": "today()",
    "String": "''",
}


def value(name, ch_type):
    expression = SAMPLE.get(name) or BY_TYPE.get(ch_type) or "0"
    return f"CAST({expression} AS {ch_type})"


def main():
    catalogue = json.load(sys.stdin)
    problems = []
    with tempfile.TemporaryDirectory() as path:
        session = Session(path)
        version = str(session.query("SELECT version()", "TSV")).strip()
        session.query(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        session.query(f"USE {DATABASE}")
        for statement in catalogue["schema"]:
            for attempt in ("first", "repeated"):
                try:
                    session.query(statement["sql"])
                except Exception as err:  # chdb raises its own error types
                    problems.append(f"schema {statement['name']} ({attempt} run): {err}")
        try:
            columns = str(session.query("DESCRIBE TABLE events", "JSONEachRow")).strip().splitlines()
            names_types = [(c["name"], c["type"]) for c in map(json.loads, columns)]
            select = ", ".join(value(name, ch_type) for name, ch_type in names_types)
            session.query(f"INSERT INTO events SELECT {select} FROM numbers({SEED_ROWS})")
            # The one row the `existing_ids` query must find.
            SAMPLE["event_id"] = f"toUUID('{catalogue['sample_event_id']}')"
            select = ", ".join(value(name, ch_type) for name, ch_type in names_types)
            session.query(f"INSERT INTO events SELECT {select} FROM numbers(1)")
        except Exception as err:
            problems.append(f"seeding sample rows: {err}")
        for query in catalogue["queries"]:
            try:
                result = str(session.query(query["sql"], "TabSeparatedWithNamesAndTypes"))
            except Exception as err:
                problems.append(f"query {query['name']}: {err}")
                continue
            lines = result.splitlines()
            types = lines[1].split("\t") if len(lines) > 1 else []
            if types != query["types"]:
                problems.append(
                    f"query {query['name']}: returns types {types}, the service decodes {query['types']}"
                )
            if len(lines) < 3:
                problems.append(f"query {query['name']}: no rows over the sample data")
    for problem in problems:
        print(problem)
    print(
        f"ClickHouse {version} (chdb): {len(catalogue['schema'])} schema statements, "
        f"{len(catalogue['queries'])} queries, {len(problems)} problems"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
