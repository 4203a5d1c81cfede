//! The SQL grammar the fuzzer draws from: typed expressions over the real tables' columns,
//! queries of many shapes (filters, aggregates, joins, subqueries, CTEs, unions, windows) and,
//! apart from those, hostile statements (edge values, deep nesting, wide projections, every
//! function of the server called with arguments of random types, procedures, metadata).
//!
//! A statement drawn for differential testing stays inside what DataFusion and DuckDB spell
//! and compute the same way: no integer division, explicit `NULLS FIRST/LAST`, no `LIMIT`
//! without a total order, no casts from float to integer (DuckDB rounds, DataFusion truncates).

use crate::rng::Rng;

mod hostile;

/// A column's type, as the generator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Float,
    Text,
    Bool,
    Date,
    Timestamp,
}

const TYPES: [Ty; 6] = [
    Ty::Int,
    Ty::Float,
    Ty::Text,
    Ty::Bool,
    Ty::Date,
    Ty::Timestamp,
];

impl Ty {
    /// The type of an `information_schema.columns.data_type` (DataFusion's Arrow names).
    pub fn from_arrow(name: &str) -> Option<Ty> {
        let n = name.to_ascii_lowercase();
        Some(if n.starts_with("int") || n.starts_with("uint") {
            Ty::Int
        } else if n.starts_with("float") || n.starts_with("decimal") {
            Ty::Float
        } else if n.contains("utf8") {
            Ty::Text
        } else if n == "boolean" {
            Ty::Bool
        } else if n.starts_with("date") {
            Ty::Date
        } else if n.starts_with("timestamp") {
            Ty::Timestamp
        } else {
            return None;
        })
    }

    fn sql(self) -> &'static str {
        match self {
            Ty::Int => "BIGINT",
            Ty::Float => "DOUBLE",
            Ty::Text => "VARCHAR",
            Ty::Bool => "BOOLEAN",
            Ty::Date => "DATE",
            Ty::Timestamp => "TIMESTAMP",
        }
    }
}

/// A table and its columns.
#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<(String, Ty)>,
}

/// The schema the generator works over, and the server's function names.
#[derive(Debug, Clone)]
pub struct Schema {
    pub tables: Vec<Table>,
    pub functions: Vec<String>,
}

/// One generated statement.
#[derive(Debug, Clone)]
pub struct Drawn {
    pub sql: String,
    /// Whether DuckDB should give the same answer (the differential subset).
    pub comparable: bool,
}

/// Tables in scope of an expression: (alias, table).
type Scope<'a> = Vec<(String, &'a Table)>;

pub struct Generator<'a> {
    schema: &'a Schema,
    rng: Rng,
    aliases: usize,
}

impl<'a> Generator<'a> {
    pub fn new(schema: &'a Schema, seed: u64) -> Self {
        Generator {
            schema,
            rng: Rng::new(seed),
            aliases: 0,
        }
    }

    /// A statement: mostly comparable queries, some hostile ones.
    pub fn statement(&mut self) -> Drawn {
        self.aliases = 0;
        if self.rng.chance(0.7) {
            Drawn {
                sql: self.query(2),
                comparable: true,
            }
        } else {
            Drawn {
                sql: self.hostile(),
                comparable: false,
            }
        }
    }

    fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.rng.below(items.len() as u64) as usize]
    }

    fn alias(&mut self) -> String {
        self.aliases += 1;
        format!("t{}", self.aliases)
    }

    fn table(&mut self) -> &'a Table {
        let tables = &self.schema.tables;
        &tables[self.rng.below(tables.len() as u64) as usize]
    }

    // ---- queries -------------------------------------------------------------------------

    /// A query; `depth` bounds nested subqueries.
    pub fn query(&mut self, depth: u32) -> String {
        match self.rng.below(10) {
            0..=2 => self.select_rows(depth),
            3..=5 => self.aggregate(depth),
            6 => self.join(depth),
            7 => self.with_cte(depth),
            8 => self.union(depth),
            _ => self.window(),
        }
    }

    /// Rows of one table, filtered, in a total order when limited.
    fn select_rows(&mut self, depth: u32) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let n = 1 + self.rng.below(4) as usize;
        let items: Vec<String> = (0..n)
            .map(|i| {
                let ty = *self.pick(&TYPES);
                format!("{} AS c{i}", self.expr(ty, &scope, 3, depth))
            })
            .collect();
        let distinct = if self.rng.chance(0.15) {
            "DISTINCT "
        } else {
            ""
        };
        let mut sql = format!("SELECT {distinct}{} FROM {} {a}", items.join(", "), t.name);
        if self.rng.chance(0.8) {
            sql += &format!(" WHERE {}", self.expr(Ty::Bool, &scope, 3, depth));
        }
        if self.rng.chance(0.4) {
            let order: Vec<String> = (0..n)
                .map(|i| format!("c{i} {}", self.order_dir()))
                .collect();
            sql += &format!(
                " ORDER BY {} LIMIT {}",
                order.join(", "),
                1 + self.rng.below(50)
            );
        }
        sql
    }

    fn order_dir(&mut self) -> &'static str {
        const DIRECTIONS: [&str; 4] = [
            "ASC NULLS FIRST",
            "ASC NULLS LAST",
            "DESC NULLS FIRST",
            "DESC NULLS LAST",
        ];
        DIRECTIONS[self.rng.below(4) as usize]
    }

    fn aggregate_call(&mut self, scope: &Scope<'a>, depth: u32) -> String {
        match self.rng.below(8) {
            0 => "count(*)".into(),
            1 => format!("count({})", self.expr_any(scope, 2, depth)),
            2 => format!("sum({})", self.expr(Ty::Int, scope, 2, depth)),
            3 => format!("min({})", self.expr_any(scope, 2, depth)),
            4 => format!("max({})", self.expr_any(scope, 2, depth)),
            5 => format!("avg({})", self.expr(Ty::Float, scope, 2, depth)),
            6 => format!("count(DISTINCT {})", self.expr_any(scope, 2, depth)),
            _ => format!("bool_and({})", self.expr(Ty::Bool, scope, 2, depth)),
        }
    }

    fn aggregate(&mut self, depth: u32) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let groups = self.rng.below(3) as usize;
        let keys: Vec<String> = (0..groups)
            .map(|_| {
                let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Date, Ty::Bool]);
                self.expr(ty, &scope, 2, depth)
            })
            .collect();
        let mut items: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| format!("{k} AS k{i}"))
            .collect();
        for i in 0..1 + self.rng.below(3) {
            items.push(format!("{} AS a{i}", self.aggregate_call(&scope, depth)));
        }
        let mut sql = format!("SELECT {} FROM {} {a}", items.join(", "), t.name);
        if self.rng.chance(0.6) {
            sql += &format!(" WHERE {}", self.expr(Ty::Bool, &scope, 3, depth));
        }
        if groups > 0 {
            let positions: Vec<String> = (1..=groups).map(|i| i.to_string()).collect();
            sql += &format!(" GROUP BY {}", positions.join(", "));
            if self.rng.chance(0.3) {
                sql += &format!(" HAVING count(*) > {}", self.rng.below(5));
            }
        }
        sql
    }

    fn join(&mut self, depth: u32) -> String {
        let (l, r) = (self.table(), self.table());
        let (a, b) = (self.alias(), self.alias());
        // Equal-typed columns to join on; dates always match (both tables have `dt`).
        let pairs: Vec<(String, String)> = l
            .columns
            .iter()
            .flat_map(|(lc, lt)| {
                r.columns
                    .iter()
                    .filter(move |(_, rt)| rt == lt && matches!(lt, Ty::Int | Ty::Text | Ty::Date))
                    .map(move |(rc, _)| (lc.clone(), rc.clone()))
            })
            .collect();
        let on = match pairs.is_empty() {
            true => "TRUE".to_string(),
            false => {
                let (lc, rc) = self.pick(&pairs).clone();
                format!("{a}.{lc} = {b}.{rc}")
            }
        };
        let kind = *self.pick(&["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN"]);
        let scope = vec![(a.clone(), l), (b.clone(), r)];
        let key_ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Date]);
        let key = self.expr(key_ty, &scope, 2, depth);
        let agg = self.aggregate_call(&scope, depth);
        let filter = self.expr(Ty::Bool, &scope, 2, depth);
        // Aggregated, so a join of two tables never returns millions of rows.
        format!(
            "SELECT {key} AS k, {agg} AS a FROM {} {a} {kind} {} {b} ON {on} AND {filter} GROUP BY 1",
            l.name, r.name
        )
    }

    fn with_cte(&mut self, depth: u32) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Date]);
        let key = self.expr(ty, &scope, 2, depth);
        let value = self.expr(Ty::Int, &scope, 2, depth);
        let filter = self.expr(Ty::Bool, &scope, 2, depth);
        format!(
            "WITH c AS (SELECT {key} AS k, {value} AS v FROM {} {a} WHERE {filter}) \
             SELECT x.k, count(*) AS n, sum(y.v) AS s FROM c x JOIN c y ON x.k = y.k GROUP BY x.k",
            t.name
        )
    }

    fn union(&mut self, depth: u32) -> String {
        let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Date, Ty::Float]);
        let mut one = || {
            let t = self.table();
            let a = self.alias();
            let scope = vec![(a.clone(), t)];
            format!(
                "SELECT {} AS u FROM {} {a} WHERE {}",
                self.expr(ty, &scope, 2, depth),
                t.name,
                self.expr(Ty::Bool, &scope, 2, depth)
            )
        };
        let (x, y) = (one(), one());
        let all = if self.rng.chance(0.5) { "ALL " } else { "" };
        format!("SELECT u, count(*) AS n FROM ({x} UNION {all}{y}) s GROUP BY u")
    }

    fn window(&mut self) -> String {
        let t = self.table();
        let a = self.alias();
        let scope = vec![(a.clone(), t)];
        let part_ty = *self.pick(&[Ty::Text, Ty::Int, Ty::Date]);
        let part = self.expr(part_ty, &scope, 1, 0);
        let value = self.expr(Ty::Int, &scope, 1, 0);
        // Only frame-independent, order-independent window values: deterministic anywhere.
        let f = *self.pick(&["count(*)", "sum", "min", "max"]);
        let call = if f == "count(*)" {
            f.to_string()
        } else {
            format!("{f}({value})")
        };
        format!(
            "SELECT p, w, count(*) AS n FROM (SELECT {part} AS p, {call} OVER (PARTITION BY {part}) AS w FROM {} {a}) s GROUP BY p, w",
            t.name
        )
    }

    // ---- expressions ---------------------------------------------------------------------

    fn expr_any(&mut self, scope: &Scope<'a>, budget: u32, depth: u32) -> String {
        let ty = *self.pick(&TYPES);
        self.expr(ty, scope, budget, depth)
    }

    fn column(&mut self, ty: Ty, scope: &Scope<'a>) -> Option<String> {
        let candidates: Vec<String> = scope
            .iter()
            .flat_map(|(alias, t)| {
                t.columns
                    .iter()
                    .filter(|(_, c)| *c == ty)
                    .map(move |(name, _)| format!("{alias}.{name}"))
            })
            .collect();
        (!candidates.is_empty()).then(|| self.pick(&candidates).clone())
    }

    fn literal(&mut self, ty: Ty) -> String {
        if self.rng.chance(0.05) {
            return format!("CAST(NULL AS {})", ty.sql());
        }
        match ty {
            Ty::Int => self
                .pick(&[
                    "0",
                    "1",
                    "-1",
                    "2",
                    "7",
                    "42",
                    "100",
                    "200",
                    "404",
                    "500",
                    "1000",
                    "65536",
                    "-2147483648",
                    "2147483647",
                ])
                .to_string(),
            Ty::Float => self
                .pick(&[
                    "0.0",
                    "1.5",
                    "-2.25",
                    "0.001",
                    "100.0",
                    "12345.678",
                    "1e10",
                    "-1e-5",
                ])
                .to_string(),
            Ty::Text => self
                .pick(&[
                    "''",
                    "'a'",
                    "'GET'",
                    "'POST'",
                    "'/'",
                    "'api'",
                    "'checkout'",
                    "'error'",
                    "'%'",
                    "'é'",
                    "'ü ß'",
                    "'x y'",
                    "'NULL'",
                ])
                .to_string(),
            Ty::Bool => self.pick(&["TRUE", "FALSE"]).to_string(),
            Ty::Date => self
                .pick(&[
                    "DATE '2026-03-01'",
                    "DATE '2026-03-02'",
                    "DATE '2026-03-03'",
                    "DATE '2026-03-04'",
                    "DATE '1970-01-01'",
                    "DATE '2100-12-31'",
                ])
                .to_string(),
            Ty::Timestamp => self
                .pick(&[
                    "TIMESTAMP '2026-03-02 00:00:00'",
                    "TIMESTAMP '2026-03-02 12:34:56'",
                    "TIMESTAMP '2026-03-03 23:59:59'",
                    "TIMESTAMP '1970-01-01 00:00:00'",
                ])
                .to_string(),
        }
    }

    /// An expression of type `ty`; `budget` bounds its nesting.
    pub fn expr(&mut self, ty: Ty, scope: &Scope<'a>, budget: u32, depth: u32) -> String {
        if budget == 0 || self.rng.chance(0.35) {
            if self.rng.chance(0.7)
                && let Some(c) = self.column(ty, scope)
            {
                return c;
            }
            return self.literal(ty);
        }
        let b = budget - 1;
        match ty {
            Ty::Int => match self.rng.below(9) {
                0 => format!(
                    "({} + {})",
                    self.expr(Ty::Int, scope, b, depth),
                    self.expr(Ty::Int, scope, b, depth)
                ),
                1 => format!(
                    "({} - {})",
                    self.expr(Ty::Int, scope, b, depth),
                    self.expr(Ty::Int, scope, b, depth)
                ),
                2 => format!(
                    "({} * {})",
                    self.expr(Ty::Int, scope, b, depth),
                    self.literal(Ty::Int)
                ),
                3 => format!("abs({})", self.expr(Ty::Int, scope, b, depth)),
                4 => format!("length({})", self.expr(Ty::Text, scope, b, depth)),
                5 => format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    self.expr(Ty::Bool, scope, b, depth),
                    self.expr(Ty::Int, scope, b, depth),
                    self.expr(Ty::Int, scope, b, depth)
                ),
                6 => format!(
                    "coalesce({}, {})",
                    self.expr(Ty::Int, scope, b, depth),
                    self.expr(Ty::Int, scope, b, depth)
                ),
                7 => format!(
                    "({} % {})",
                    self.expr(Ty::Int, scope, b, depth),
                    self.pick(&["3", "7", "10", "-4"])
                ),
                _ => format!(
                    "CAST(extract(year FROM {}) AS BIGINT)",
                    self.expr(Ty::Date, scope, b, depth)
                ),
            },
            Ty::Float => match self.rng.below(6) {
                0 => format!(
                    "({} + {})",
                    self.expr(Ty::Float, scope, b, depth),
                    self.expr(Ty::Float, scope, b, depth)
                ),
                1 => format!(
                    "({} * {})",
                    self.expr(Ty::Float, scope, b, depth),
                    self.literal(Ty::Float)
                ),
                2 => format!("CAST({} AS DOUBLE)", self.expr(Ty::Int, scope, b, depth)),
                3 => format!(
                    "({} / NULLIF({}, 0.0))",
                    self.expr(Ty::Float, scope, b, depth),
                    self.expr(Ty::Float, scope, b, depth)
                ),
                4 => format!("abs({})", self.expr(Ty::Float, scope, b, depth)),
                _ => format!("round({}, 2)", self.expr(Ty::Float, scope, b, depth)),
            },
            Ty::Text => match self.rng.below(7) {
                0 => format!("upper({})", self.expr(Ty::Text, scope, b, depth)),
                1 => format!("lower({})", self.expr(Ty::Text, scope, b, depth)),
                2 => format!(
                    "({} || {})",
                    self.expr(Ty::Text, scope, b, depth),
                    self.expr(Ty::Text, scope, b, depth)
                ),
                3 => format!("CAST({} AS VARCHAR)", self.expr(Ty::Int, scope, b, depth)),
                4 => format!("trim({})", self.expr(Ty::Text, scope, b, depth)),
                5 => format!(
                    "replace({}, {}, {})",
                    self.expr(Ty::Text, scope, b, depth),
                    self.literal(Ty::Text),
                    self.literal(Ty::Text)
                ),
                _ => format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    self.expr(Ty::Bool, scope, b, depth),
                    self.expr(Ty::Text, scope, b, depth),
                    self.expr(Ty::Text, scope, b, depth)
                ),
            },
            Ty::Bool => match self.rng.below(10) {
                0..=2 => {
                    let t = *self.pick(&[Ty::Int, Ty::Float, Ty::Text, Ty::Date, Ty::Timestamp]);
                    let op = *self.pick(&["=", "<>", "<", "<=", ">", ">="]);
                    format!(
                        "({} {op} {})",
                        self.expr(t, scope, b, depth),
                        self.expr(t, scope, b, depth)
                    )
                }
                3 => format!(
                    "({} AND {})",
                    self.expr(Ty::Bool, scope, b, depth),
                    self.expr(Ty::Bool, scope, b, depth)
                ),
                4 => format!(
                    "({} OR {})",
                    self.expr(Ty::Bool, scope, b, depth),
                    self.expr(Ty::Bool, scope, b, depth)
                ),
                5 => format!("(NOT {})", self.expr(Ty::Bool, scope, b, depth)),
                6 => {
                    let t = *self.pick(&TYPES);
                    let not = if self.rng.chance(0.5) { "NOT " } else { "" };
                    format!("({} IS {not}NULL)", self.expr(t, scope, b, depth))
                }
                7 => {
                    let t = *self.pick(&[Ty::Int, Ty::Text, Ty::Date]);
                    let list: Vec<String> = (0..1 + self.rng.below(5))
                        .map(|_| self.literal(t))
                        .collect();
                    format!(
                        "({} IN ({}))",
                        self.expr(t, scope, b, depth),
                        list.join(", ")
                    )
                }
                8 => {
                    let pattern = *self.pick(&["'%a%'", "'GET'", "'/api%'", "'%'", "'_'", "'%e_'"]);
                    format!("({} LIKE {pattern})", self.expr(Ty::Text, scope, b, depth))
                }
                _ if depth > 0 => {
                    let t = self.table();
                    let a = self.alias();
                    let inner = vec![(a.clone(), t)];
                    let ty = *self.pick(&[Ty::Int, Ty::Text, Ty::Date]);
                    match self.column(ty, &inner) {
                        Some(c) => format!(
                            "({} IN (SELECT {c} FROM {} {a} WHERE {}))",
                            self.expr(ty, scope, b, depth),
                            t.name,
                            self.expr(Ty::Bool, &inner, 1, depth - 1)
                        ),
                        None => self.literal(Ty::Bool),
                    }
                }
                _ => {
                    let t = *self.pick(&[Ty::Int, Ty::Float, Ty::Date]);
                    format!(
                        "({} BETWEEN {} AND {})",
                        self.expr(t, scope, b, depth),
                        self.literal(t),
                        self.literal(t)
                    )
                }
            },
            Ty::Date => match self.rng.below(3) {
                0 => format!(
                    "CAST({} AS DATE)",
                    self.expr(Ty::Timestamp, scope, b, depth)
                ),
                1 => format!(
                    "coalesce({}, {})",
                    self.expr(Ty::Date, scope, b, depth),
                    self.literal(Ty::Date)
                ),
                _ => format!(
                    "CASE WHEN {} THEN {} ELSE {} END",
                    self.expr(Ty::Bool, scope, b, depth),
                    self.expr(Ty::Date, scope, b, depth),
                    self.expr(Ty::Date, scope, b, depth)
                ),
            },
            Ty::Timestamp => match self.rng.below(3) {
                0 => format!(
                    "date_trunc('{}', {})",
                    self.pick(&["hour", "day", "month", "minute"]),
                    self.expr(Ty::Timestamp, scope, b, depth)
                ),
                1 => format!(
                    "CAST({} AS TIMESTAMP)",
                    self.expr(Ty::Date, scope, b, depth)
                ),
                _ => format!(
                    "coalesce({}, {})",
                    self.expr(Ty::Timestamp, scope, b, depth),
                    self.literal(Ty::Timestamp)
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Schema {
        Schema {
            tables: vec![Table {
                name: "requests".into(),
                columns: vec![
                    ("status".into(), Ty::Int),
                    ("service".into(), Ty::Text),
                    ("dt".into(), Ty::Date),
                    ("ts".into(), Ty::Timestamp),
                    ("latency_ms".into(), Ty::Float),
                ],
            }],
            functions: vec!["abs".into(), "upper".into()],
        }
    }

    #[test]
    fn draws_reproducible_statements_of_every_kind() {
        let s = schema();
        let a: Vec<String> = {
            let mut g = Generator::new(&s, 3);
            (0..200).map(|_| g.statement().sql).collect()
        };
        let mut g = Generator::new(&s, 3);
        let b: Vec<String> = (0..200).map(|_| g.statement().sql).collect();
        assert_eq!(a, b);
        assert!(a.iter().any(|q| q.contains("GROUP BY")));
        assert!(a.iter().any(|q| q.contains("JOIN")));
        assert!(a.iter().all(|q| !q.is_empty()));
    }
}
