#!/usr/bin/env python3
"""Reads a Parquet file with pyarrow (an independent reader) for the export tests.

Prints one JSON line with the schema ({"schema": {column: arrow type}}), then one JSON object
per row. Map columns come out as lists of [key, value] pairs.
"""
import json
import sys

import pyarrow.parquet as pq

table = pq.read_table(sys.argv[1])
print(json.dumps({"schema": {f.name: str(f.type) for f in table.schema}, "rows": table.num_rows}))
for row in table.to_pylist():
    print(json.dumps(row, sort_keys=True))
