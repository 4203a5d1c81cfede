//! Hostile statements, checked for crashes, hangs and internal errors only: edge values, deep
//! nesting, wide projections, every function called with arguments of random types, long
//! lists, casts, arrays, the lake's own statements and broken SQL.

use super::*;

impl<'a> Generator<'a> {
    pub(super) fn hostile(&mut self) -> String {
        match self.rng.below(12) {
            0 => self.function_call_query(),
            1 => self.function_call_query(),
            2 => self.edge_values(),
            3 => self.deep_nesting(),
            4 => self.wide(),
            5 => self.casts(),
            6 => self.arrays(),
            7 => self.statements_of_the_lake(),
            8 => self.broken(),
            9 => format!("EXPLAIN {}", self.query(1)),
            10 => format!("EXPLAIN ANALYZE {}", self.query(1)),
            _ => self.long_lists(),
        }
    }

    /// Any function of the server, with arguments of random types and shapes.
    fn function_call_query(&mut self) -> String {
        if self.schema.functions.is_empty() {
            return "SELECT 1".into();
        }
        let name = self.pick(&self.schema.functions).clone();
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let n = self.rng.below(4);
        let args: Vec<String> = (0..n).map(|_| self.hostile_arg(&scope)).collect();
        let call = format!("{name}({})", args.join(", "));
        match self.rng.below(3) {
            0 => format!("SELECT {call}"),
            1 => format!("SELECT {call} AS v FROM {} {a} LIMIT 20", t.name),
            _ => format!("SELECT count({call}) FROM {} {a}", t.name),
        }
    }

    fn hostile_arg(&mut self, scope: &Scope<'a>) -> String {
        match self.rng.below(8) {
            0 => self
                .pick(&[
                    "NULL",
                    "''",
                    "'x'",
                    "0",
                    "-1",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "1e308",
                    "'NaN'",
                    "'-Infinity'",
                ])
                .to_string(),
            1 => self
                .pick(&[
                    "'%'",
                    "'[a-'",
                    "'(((('",
                    "'\\\\'",
                    "'.*.*.*.*.*.*x'",
                    "'\u{1F600}'",
                    "'2026-13-45'",
                    "'P1D'",
                    "'1 day'",
                ])
                .to_string(),
            2 => self
                .pick(&[
                    "INTERVAL '1 day'",
                    "INTERVAL '-3 months'",
                    "DATE '0001-01-01'",
                    "TIMESTAMP '9999-12-31 23:59:59'",
                    "make_array(1, 2, NULL)",
                    "make_array('a')",
                    "NULL::INT[]",
                    "named_struct('a', 1)",
                    "X'00FF'",
                ])
                .to_string(),
            _ => {
                let ty = *self.pick(&TYPES);
                self.expr(ty, scope, 2, 0)
            }
        }
    }

    fn edge_values(&mut self) -> String {
        let e = *self.pick(&[
            "9223372036854775807 + 1",
            "-9223372036854775808 - 1",
            "9223372036854775807 * 2",
            "1 / 0",
            "1 % 0",
            "CAST(1e308 AS DOUBLE) * 10",
            "CAST('NaN' AS DOUBLE) = CAST('NaN' AS DOUBLE)",
            "CAST(-0.0 AS DOUBLE)",
            "CAST('99999999999999999999' AS BIGINT)",
            "CAST(2147483648 AS INT)",
            "CAST('abc' AS INT)",
            "CAST('2026-02-30' AS DATE)",
            "DATE '2026-03-01' + INTERVAL '100000000 days'",
            "TIMESTAMP '2262-04-12 00:00:00'",
            "to_timestamp(9223372036854775807)",
            "CAST(12345678901234567890.123 AS DECIMAL(38, 3)) * 1e30",
            "CAST(1 AS DECIMAL(38, 37)) * 100",
            "power(10, 400)",
            "ln(0)",
            "sqrt(-1)",
            "substr('abc', -5, -1)",
            "lpad('x', -3)",
            "repeat('ab', 100000000)",
            "left('abc', -9223372036854775808)",
            "chr(0)",
            "chr(1114112)",
            "split_part('a,b', ',', 0)",
            "regexp_replace('aaa', '', 'b', 'g')",
            "regexp_match('a', '(?<x>a)')",
            "date_trunc('nanosecond', TIMESTAMP '2026-01-01 00:00:00')",
            "date_part('epoch', TIMESTAMP '9999-12-31 23:59:59')",
            "ARRAY[1,2,3][-1]",
            "make_array(1, 2)[9223372036854775807]",
            "array_slice(make_array(1, 2, 3), 9223372036854775807, -9223372036854775808)",
            "range(9223372036854775806, 9223372036854775807)",
            "generate_series(1, 5, 0)",
            "to_char(TIMESTAMP '2026-01-01 00:00:00', '%Q%')",
            "arrow_cast(1, 'Utf8View')",
            "arrow_cast('x', 'Int64')",
            "arrow_typeof(NULL)",
        ]);
        let t = self.table();
        if self.rng.chance(0.5) {
            format!("SELECT {e}")
        } else {
            format!("SELECT {e} AS v, count(*) FROM {} GROUP BY 1", t.name)
        }
    }

    fn deep_nesting(&mut self) -> String {
        let n = 50 + self.rng.below(3000) as usize;
        match self.rng.below(5) {
            0 => format!("SELECT {}1{}", "(".repeat(n), ")".repeat(n)),
            1 => format!("SELECT {}", vec!["1"; n].join(" - ")),
            2 => format!("SELECT {}", vec!["'a'"; n].join(" || ")),
            3 => format!(
                "SELECT {}1{}",
                "abs(".repeat(n.min(600)),
                ")".repeat(n.min(600))
            ),
            _ => {
                let m = (n / 20).max(2);
                format!("SELECT {}1{}", "(SELECT ".repeat(m), ")".repeat(m))
            }
        }
    }

    fn wide(&mut self) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let n = 100 + self.rng.below(1500) as usize;
        let items: Vec<String> = (0..n)
            .map(|i| {
                if i % 10 == 0 {
                    let ty = *self.pick(&TYPES);
                    format!("{} AS c{i}", self.expr(ty, &scope, 1, 0))
                } else {
                    format!("{} AS c{i}", self.literal(Ty::Int))
                }
            })
            .collect();
        format!("SELECT {} FROM {} {a} LIMIT 3", items.join(", "), t.name)
    }

    fn casts(&mut self) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let from = *self.pick(&TYPES);
        let to = *self.pick(&[
            "BIGINT",
            "INT",
            "SMALLINT",
            "TINYINT",
            "DOUBLE",
            "REAL",
            "DECIMAL(5, 2)",
            "DECIMAL(38, 10)",
            "VARCHAR",
            "BOOLEAN",
            "DATE",
            "TIMESTAMP",
            "BYTEA",
            "INTERVAL",
            "INT[]",
            "TIME",
        ]);
        let cast = if self.rng.chance(0.5) {
            "CAST"
        } else {
            "TRY_CAST"
        };
        format!(
            "SELECT {cast}({} AS {to}) AS v FROM {} {a} LIMIT 50",
            self.expr(from, &scope, 2, 0),
            t.name
        )
    }

    fn arrays(&mut self) -> String {
        let t = self.table();
        let col = t
            .columns
            .iter()
            .find(|(_, ty)| *ty == Ty::Text)
            .map_or("'x'".to_string(), |(c, _)| c.clone());
        let e = self
            .pick(&[
                "unnest(make_array(1, 2, NULL))",
                "array_agg(COL)",
                "array_length(array_agg(COL))",
                "unnest(string_to_array(COL, 'e'))",
                "cardinality(array_agg(DISTINCT COL))",
                "array_sort(array_agg(COL))",
                "flatten(make_array(make_array(1), make_array(2, 3)))",
                "array_distinct(array_agg(length(COL)))",
                "map(make_array('a', 'b'), make_array(1, 2))",
                "struct(COL, 1)",
                "unnest(range(0, 3))",
            ])
            .replace("COL", &col);
        format!("SELECT {e} FROM {}", t.name)
    }

    fn long_lists(&mut self) -> String {
        let t = self.table();
        let (col, ty) = self.pick(&t.columns).clone();
        let n = 100 + self.rng.below(20_000) as usize;
        let values: Vec<String> = (0..n)
            .map(|i| match ty {
                Ty::Text => format!("'v{i}'"),
                Ty::Date => format!("DATE '2026-03-{:02}'", 1 + i % 28),
                Ty::Timestamp => format!("TIMESTAMP '2026-03-01 00:00:{:02}'", i % 60),
                Ty::Bool => ["TRUE", "FALSE"][i % 2].to_string(),
                _ => i.to_string(),
            })
            .collect();
        match self.rng.below(3) {
            0 => format!(
                "SELECT count(*) FROM {} WHERE {col} IN ({})",
                t.name,
                values.join(", ")
            ),
            1 => format!(
                "SELECT count(*) FROM {} WHERE {}",
                t.name,
                values
                    .iter()
                    .map(|v| format!("{col} = {v}"))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            ),
            _ => format!(
                "SELECT CASE {} END AS v FROM {} LIMIT 5",
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| format!("WHEN {col} = {v} THEN {i}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                t.name
            ),
        }
    }

    /// Management and metadata statements, valid and not.
    fn statements_of_the_lake(&mut self) -> String {
        let t = self.table().name.clone();
        let s = *self.pick(&[
            "SHOW TABLES",
            "SHOW COLUMNS FROM @T",
            "DESCRIBE @T",
            "SELECT * FROM information_schema.columns",
            "SELECT * FROM information_schema.df_settings",
            "SHOW ALL",
            "SELECT count(*) FROM table_at('@T', 1)",
            "SELECT count(*) FROM table_at('@T', -1)",
            "SELECT count(*) FROM table_at('@T', TIMESTAMP '1970-01-01 00:00:00')",
            "SELECT count(*) FROM table_at('no_such_table', 1)",
            "SELECT count(*) FROM table_at(NULL, NULL)",
            "CALL compact('@T')",
            "CALL compact('@T', 'status > ')",
            "CALL retention('@T', dry_run => true)",
            "CALL expire_snapshots('-1d', dry_run => true)",
            "CALL gc('0s', dry_run => true)",
            "CALL no_such_procedure()",
            "INSERT INTO @T SELECT * FROM @T LIMIT 0",
            "INSERT INTO fuzz_writes VALUES (1, 'x'), (NULL, NULL)",
            "INSERT INTO fuzz_writes SELECT length(service), service FROM requests LIMIT 10",
            "ALTER TABLE fuzz_writes ADD COLUMN IF NOT EXISTS extra DOUBLE",
            "ALTER TABLE @T DROP COLUMN dt",
            "DROP TABLE IF EXISTS no_such_table",
            "CREATE TABLE IF NOT EXISTS fuzz_writes (n BIGINT, s VARCHAR)",
            "SELECT * FROM '/etc/passwd'",
            "COPY (SELECT 1) TO '/tmp/fuzz.parquet'",
            "SET datafusion.execution.batch_size = 0",
            "CREATE EXTERNAL TABLE fz STORED AS PARQUET LOCATION 's3://no-such-bucket/x/'",
            "PREPARE p AS SELECT $1",
            "SELECT $1",
            "SELECT ?",
        ]);
        s.replace("@T", &t)
    }

    /// Mangled statements: truncated, with tokens dropped or doubled.
    fn broken(&mut self) -> String {
        let mut sql = self.query(1);
        match self.rng.below(4) {
            0 => {
                let cut = self.rng.below(sql.len() as u64) as usize;
                let cut = (0..=cut)
                    .rev()
                    .find(|&i| sql.is_char_boundary(i))
                    .unwrap_or(0);
                sql.truncate(cut);
            }
            1 => sql = sql.replacen('(', "((", 1),
            2 => sql = sql.replace(" FROM ", " FROM FROM "),
            _ => sql.push_str(&";".repeat(1 + self.rng.below(3) as usize)),
        }
        sql
    }
}
