"""Apache Superset on Strata.

Superset reaches Strata over Flight SQL with flightsql-dbapi, whose SQLAlchemy dialect is
`datafusion` (URL `datafusion://user:password@host:port?insecure=True`). This engine spec
tells Superset what Strata's SQL is: time grains as `date_trunc`/`date_bin`, timestamp
literals, epoch conversions, the function list for SQL Lab's autocomplete (from
`information_schema.routines`), and the types Strata returns (unsigned integers such as H3
cells, binary geometries).

Install it beside Superset (`pip install integrations/superset`); Superset finds it through
the `superset.db_engine_specs` entry point.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy import types

from superset.constants import TimeGrain
from superset.db_engine_specs.base import BaseEngineSpec, LimitMethod
from superset.utils.core import GenericDataType


class StrataEngineSpec(BaseEngineSpec):
    """Strata: SQL over a Parquet lake, served over Arrow Flight SQL."""

    engine = "datafusion"
    engine_name = "Strata"
    default_driver = "flightsql"
    sqlalchemy_uri_placeholder = "datafusion://user:password@host:50051?insecure=True"

    # Superset wraps queries and adds LIMIT itself; Strata accepts both.
    limit_method = LimitMethod.WRAP_SQL
    allows_joins = True
    allows_subqueries = True
    allows_alias_in_select = True
    allows_alias_in_orderby = True
    allows_sql_comments = True
    supports_dynamic_schema = False
    # Catalog `strata`, schemas inside it (`main` by default).
    supports_catalog = False

    _time_grain_expressions = {
        None: "{col}",
        TimeGrain.SECOND: "date_trunc('second', {col})",
        TimeGrain.FIVE_SECONDS: "date_bin(INTERVAL '5 seconds', {col})",
        TimeGrain.THIRTY_SECONDS: "date_bin(INTERVAL '30 seconds', {col})",
        TimeGrain.MINUTE: "date_trunc('minute', {col})",
        TimeGrain.FIVE_MINUTES: "date_bin(INTERVAL '5 minutes', {col})",
        TimeGrain.TEN_MINUTES: "date_bin(INTERVAL '10 minutes', {col})",
        TimeGrain.FIFTEEN_MINUTES: "date_bin(INTERVAL '15 minutes', {col})",
        TimeGrain.THIRTY_MINUTES: "date_bin(INTERVAL '30 minutes', {col})",
        TimeGrain.HOUR: "date_trunc('hour', {col})",
        TimeGrain.SIX_HOURS: "date_bin(INTERVAL '6 hours', {col})",
        TimeGrain.DAY: "date_trunc('day', {col})",
        TimeGrain.WEEK: "date_trunc('week', {col})",
        TimeGrain.WEEK_STARTING_MONDAY: "date_trunc('week', {col})",
        TimeGrain.WEEK_STARTING_SUNDAY: "date_trunc('week', {col} + INTERVAL '1 day') - INTERVAL '1 day'",
        TimeGrain.MONTH: "date_trunc('month', {col})",
        TimeGrain.QUARTER: "date_trunc('quarter', {col})",
        TimeGrain.YEAR: "date_trunc('year', {col})",
    }

    column_type_mappings = (
        (re.compile(r"^u?(tiny|small|big)?int", re.IGNORECASE), types.BigInteger(), GenericDataType.NUMERIC),
        (re.compile(r"^(float|double|real|decimal)", re.IGNORECASE), types.Float(), GenericDataType.NUMERIC),
        (re.compile(r"^(utf8|varchar|string|text)", re.IGNORECASE), types.String(), GenericDataType.STRING),
        (re.compile(r"^timestamp", re.IGNORECASE), types.TIMESTAMP(), GenericDataType.TEMPORAL),
        (re.compile(r"^date", re.IGNORECASE), types.Date(), GenericDataType.TEMPORAL),
        (re.compile(r"^(binary|varbinary|blob)", re.IGNORECASE), types.LargeBinary(), GenericDataType.STRING),
        (re.compile(r"^bool", re.IGNORECASE), types.Boolean(), GenericDataType.BOOLEAN),
    )

    @classmethod
    def epoch_to_dttm(cls) -> str:
        return "to_timestamp({col})"

    @classmethod
    def epoch_ms_to_dttm(cls) -> str:
        return "to_timestamp_millis({col})"

    @classmethod
    def convert_dttm(cls, target_type: str, dttm: datetime, db_extra: dict[str, Any] | None = None) -> str | None:
        sqla_type = cls.get_sqla_column_type(target_type)
        if isinstance(sqla_type, types.Date) and not isinstance(sqla_type, types.DateTime):
            return f"DATE '{dttm.date().isoformat()}'"
        if isinstance(sqla_type, (types.DateTime, types.TIMESTAMP)):
            return f"TIMESTAMP '{dttm.isoformat(sep=' ', timespec='microseconds')}'"
        return None

    @classmethod
    def get_function_names(cls, database: Any) -> list[str]:
        """Every function Strata knows, for SQL Lab's autocomplete."""
        with database.get_raw_connection() as conn:
            cursor = conn.cursor()
            cursor.execute("SELECT DISTINCT routine_name FROM information_schema.routines ORDER BY 1")
            return [row[0] for row in cursor.fetchall()]
