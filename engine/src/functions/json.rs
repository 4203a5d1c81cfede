//! DuckDB's JSON functions, built on `datafusion-functions-json`.
//!
//! JSON values are text (`Utf8`, or whatever string type the column has), so every client can
//! read them. Paths are spelled as in DuckDB: a JSONPath (`'$.http.status'`, `'$.tags[0]'`,
//! `'$.tags[-1]'`, `'$."a key"'`), a JSON pointer (`'/http/status'`), a plain key (`'status'`),
//! or an integer index. `->` returns JSON text and `->>` plain text, as in DuckDB (the crate's
//! own `->` returns an Arrow union that clients cannot display).
//!
//! Extraction is the crate's (`json_get_json`, `json_as_text`: a lazy `jiter` scan that stops
//! at the value, pushed towards the scan); the path is translated into the crate's key/index
//! steps. The crate answers NULL for malformed JSON; DuckDB fails, naming the input, and so do
//! these functions: every row the crate answered NULL for is checked.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, ListBuilder, StringArray, StringBuilder,
    UInt64Builder,
};
use arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::common::{Result, ScalarValue, exec_datafusion_err, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ExpressionPlacement, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use jiter::{Jiter, Peek};

use super::{doc, rows_to_compute, shaped};

/// One step of a path: an object key, or an array index (negative counts from the end).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(i64),
}

/// The steps of a DuckDB path: `$…` JSONPath, `/…` JSON pointer, anything else one key.
fn parse_path(path: &str) -> Result<Vec<Step>> {
    if let Some(rest) = path.strip_prefix('$') {
        return parse_json_path(path, rest);
    }
    if let Some(rest) = path.strip_prefix('/') {
        return Ok(rest
            .split('/')
            .map(|part| Step::Key(part.replace("~1", "/").replace("~0", "~")))
            .collect());
    }
    Ok(vec![Step::Key(path.to_string())])
}

fn parse_json_path(whole: &str, mut rest: &str) -> Result<Vec<Step>> {
    let bad = |why: &str| plan_err!("invalid JSON path '{whole}': {why}");
    let mut steps = Vec::new();
    while let Some(first) = rest.chars().next() {
        match first {
            '.' => {
                rest = &rest[1..];
                if let Some(quoted) = rest.strip_prefix('"') {
                    let Some(end) = quoted.find('"') else {
                        return bad("unterminated quoted key");
                    };
                    steps.push(Step::Key(quoted[..end].to_string()));
                    rest = &quoted[end + 1..];
                } else {
                    let end = rest.find(['.', '[']).unwrap_or(rest.len());
                    if end == 0 {
                        return bad("empty key");
                    }
                    if &rest[..end] == "*" {
                        return bad("wildcards are not supported");
                    }
                    steps.push(Step::Key(rest[..end].to_string()));
                    rest = &rest[end..];
                }
            }
            '[' => {
                let Some(end) = rest.find(']') else {
                    return bad("missing ']'");
                };
                let inner = rest[1..end].trim();
                // DuckDB spells "from the end" both `[#-1]` and `[-1]`.
                let inner = inner.strip_prefix('#').unwrap_or(inner);
                if inner == "*" {
                    return bad("wildcards are not supported");
                }
                let index: i64 = inner.parse().map_err(|_| {
                    exec_datafusion_err!("invalid JSON path '{whole}': bad index '{inner}'")
                })?;
                steps.push(Step::Index(index));
                rest = &rest[end + 1..];
            }
            _ => return bad("expected '.' or '['"),
        }
    }
    Ok(steps)
}

/// The path argument (a constant) as steps; None for a NULL path (the answer is NULL).
fn path_steps(name: &str, path: &ColumnarValue) -> Result<Option<Vec<Step>>> {
    let ColumnarValue::Scalar(scalar) = path else {
        return exec_err!("{name}: the JSON path must be a constant");
    };
    if scalar.is_null() {
        return Ok(None);
    }
    if let Some(Some(text)) = scalar.try_as_str() {
        return parse_path(text).map(Some);
    }
    match scalar.cast_to(&DataType::Int64)? {
        ScalarValue::Int64(Some(index)) if scalar.data_type().is_integer() => {
            Ok(Some(vec![Step::Index(index)]))
        }
        _ => exec_err!("{name}: a JSON path is a string or an integer, not {scalar}"),
    }
}

fn step_scalars(steps: &[Step]) -> Vec<ColumnarValue> {
    steps
        .iter()
        .map(|step| {
            ColumnarValue::Scalar(match step {
                Step::Key(key) => ScalarValue::Utf8(Some(key.clone())),
                Step::Index(index) => ScalarValue::Int64(Some(*index)),
            })
        })
        .collect()
}

/// Walks `steps` from the start of `json`; None when a step is missing (or the JSON malformed).
fn find<'j>(json: &'j str, steps: &[Step]) -> Option<(Jiter<'j>, Peek)> {
    let mut jiter = Jiter::new(json.as_bytes());
    let mut peek = jiter.peek().ok()?;
    for step in steps {
        match (step, peek) {
            (Step::Key(key), Peek::Object) => {
                let mut next = jiter.known_object().ok()??;
                while next != key {
                    jiter.next_skip().ok()?;
                    next = jiter.next_key().ok()??;
                }
                peek = jiter.peek().ok()?;
            }
            (Step::Index(index), Peek::Array) => {
                let index = if *index < 0 {
                    let mut count = jiter.clone();
                    let mut length = 0i64;
                    let mut item = count.known_array().ok()?;
                    while let Some(p) = item {
                        count.known_skip(p).ok()?;
                        length += 1;
                        item = count.array_step().ok()?;
                    }
                    length + index
                } else {
                    *index
                };
                if index < 0 {
                    return None;
                }
                let mut item = jiter.known_array().ok()??;
                for _ in 0..index {
                    jiter.known_skip(item).ok()?;
                    item = jiter.array_step().ok()??;
                }
                peek = item;
            }
            _ => return None,
        }
    }
    Some((jiter, peek))
}

/// Why `json` is not one JSON value, or None when it is.
fn malformed(json: &str) -> Option<String> {
    let mut jiter = Jiter::new(json.as_bytes());
    let error = match jiter.next_skip() {
        Ok(()) => jiter.finish().err()?,
        Err(error) => error,
    };
    let shown: String = json.chars().take(80).collect();
    Some(format!("{error} in input \"{shown}\""))
}

/// Fails naming the first non-null input in `json` that is not one valid JSON value, as
/// DuckDB does (the crate's lazy scan stops at the value, so `'{"a": 1'` would give 1).
fn check_malformed(name: &str, json: &ColumnarValue) -> Result<()> {
    let json = match json {
        ColumnarValue::Scalar(s) if s.is_null() => return Ok(()),
        ColumnarValue::Scalar(s) => s.to_array_of_size(1)?,
        ColumnarValue::Array(a) => Arc::clone(a),
    };
    let check = |value: Option<&str>| match value.and_then(malformed) {
        Some(why) => exec_err!("{name}: malformed JSON: {why}"),
        None => Ok(()),
    };
    match json.data_type() {
        DataType::Utf8 => json.as_string::<i32>().iter().try_for_each(check),
        DataType::LargeUtf8 => json.as_string::<i64>().iter().try_for_each(check),
        DataType::Utf8View => json.as_string_view().iter().try_for_each(check),
        DataType::Dictionary(_, _) => {
            // Each distinct value once.
            let dictionary = json.as_any_dictionary();
            let values = arrow::compute::cast(dictionary.values(), &DataType::Utf8)?;
            values.as_string::<i32>().iter().try_for_each(check)
        }
        _ => Ok(()),
    }
}

/// What an extraction returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Output {
    /// `json_extract`, `->`: the value as JSON text.
    Json,
    /// `json_extract_string`, `->>`: a string decoded, anything else as JSON text, JSON null as NULL.
    Text,
    /// `json_value`: a scalar's JSON text, NULL for objects and arrays.
    Scalar,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Extract {
    name: &'static str,
    aliases: Vec<String>,
    output: Output,
    /// The crate's function doing the work.
    inner: Arc<ScalarUDF>,
    /// `Some("->")` when planned from an operator: then the column is named `a -> b`.
    operator: Option<&'static str>,
    signature: Signature,
    doc: Documentation,
}

impl Extract {
    pub(super) fn new(output: Output, operator: Option<&'static str>) -> Self {
        use datafusion_functions_json::udfs;
        let (name, aliases, inner, doc) = match output {
            Output::Json => (
                "json_extract",
                vec![],
                udfs::json_get_json_udf(),
                doc(
                    "JSON",
                    "The value at a path (JSONPath `$.a.b[0]`, pointer `/a/b`, key or index) as JSON text; also `json -> path`.",
                    "json_extract(json, path)",
                    "SELECT json_extract('{\"a\": {\"b\": [1, 2]}}', '$.a.b[1]')  -- 2",
                ),
            ),
            Output::Text => (
                "json_extract_string",
                vec![
                    "json_extract_path_text".to_string(),
                    "json_extract_scalar".to_string(),
                ],
                udfs::json_as_text_udf(),
                doc(
                    "JSON",
                    "The value at a path as text (strings unquoted, JSON null as NULL); also `json ->> path`.",
                    "json_extract_string(json, path)",
                    "SELECT attributes->>'$.http.status' FROM requests",
                ),
            ),
            Output::Scalar => (
                "json_value",
                vec![],
                udfs::json_get_json_udf(),
                doc(
                    "JSON",
                    "The scalar at a path as JSON text; NULL when it is an object or an array.",
                    "json_value(json, path)",
                    "SELECT json_value('{\"a\": \"x\"}', '$.a')  -- \"x\"",
                ),
            ),
        };
        Extract {
            name,
            aliases,
            output,
            inner,
            operator,
            signature: Signature::any(2, Volatility::Immutable),
            doc,
        }
    }
}

impl ScalarUDFImpl for Extract {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let Some(json) = arg_types.first() else {
            return plan_err!("{}(json, path) takes 2 arguments", self.name);
        };
        if self.output == Output::Scalar || json.is_null() {
            return Ok(DataType::Utf8);
        }
        self.inner.return_type(&[json.clone(), DataType::Utf8])
    }

    fn schema_name(&self, args: &[Expr]) -> Result<String> {
        // Called before the arguments are checked: any number of them must be named.
        match (self.operator, args) {
            // `attributes ->> 'client'`, as DuckDB and PostgreSQL name the column.
            (Some(op), [json, path]) => Ok(format!(
                "{} {op} {}",
                json.schema_name(),
                match path {
                    Expr::Literal(ScalarValue::Utf8(Some(key)), _) => format!("'{key}'"),
                    Expr::Literal(value, _) => value.to_string(),
                    other => other.schema_name().to_string(),
                }
            )),
            _ => Ok(format!(
                "{}({})",
                self.name,
                args.iter()
                    .map(|a| a.schema_name().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let Some(steps) = path_steps(self.name, &args.args[1])? else {
            return Ok(ColumnarValue::Scalar(ScalarValue::try_from(
                args.return_type(),
            )?));
        };
        let json = match args.args[0].data_type() {
            DataType::Null => args.args[0].cast_to(&DataType::Utf8, None)?,
            _ => args.args[0].clone(),
        };
        let mut inner_args = vec![json.clone()];
        inner_args.extend(step_scalars(&steps));
        let arg_fields = inner_args
            .iter()
            .enumerate()
            .map(|(i, value)| {
                Arc::new(Field::new(format!("a{i}"), value.data_type(), true)) as FieldRef
            })
            .collect();
        let return_field = Arc::new(Field::new(
            self.name,
            self.inner
                .return_type(&[json.data_type(), DataType::Utf8])?,
            true,
        ));
        let result = self.inner.invoke_with_args(ScalarFunctionArgs {
            args: inner_args,
            arg_fields,
            number_rows: args.number_rows,
            return_field,
            config_options: args.config_options,
        })?;
        check_malformed(self.name, &json)?;
        if self.output != Output::Scalar {
            return Ok(result);
        }
        // json_value: objects and arrays become NULL.
        let rows = match &result {
            ColumnarValue::Array(array) => array.len(),
            ColumnarValue::Scalar(_) => 1,
        };
        let array = arrow::compute::cast(&result.to_array(rows)?, &DataType::Utf8)?;
        let scalars: StringArray = array
            .as_string::<i32>()
            .iter()
            .map(|v| v.filter(|v| !v.starts_with(['{', '[']) && *v != "null"))
            .collect();
        match result {
            ColumnarValue::Array(_) => Ok(ColumnarValue::Array(Arc::new(scalars))),
            ColumnarValue::Scalar(_) => Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                &scalars, 0,
            )?)),
        }
    }

    fn placement(&self, args: &[ExpressionPlacement]) -> ExpressionPlacement {
        // Like the crate's: a column with a constant path moves towards the scan.
        if matches!(
            args,
            [ExpressionPlacement::Column, ExpressionPlacement::Literal]
        ) {
            ExpressionPlacement::MoveTowardsLeafNodes
        } else {
            ExpressionPlacement::KeepInPlace
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// Functions that look at one value found by a path (`json_array_length`, `json_keys`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Inspect {
    ArrayLength,
    Keys,
    Type,
    Exists,
    Valid,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct InspectUdf {
    kind: Inspect,
    signature: Signature,
    doc: Documentation,
}

impl InspectUdf {
    fn new(kind: Inspect) -> Self {
        let (description, syntax, example) = match kind {
            Inspect::ArrayLength => (
                "The number of elements of the array at the path (or of the document); 0 when it is not an array.",
                "json_array_length(json [, path])",
                "SELECT json_array_length(attributes, '$.tags') FROM requests",
            ),
            Inspect::Keys => (
                "The keys of the object at the path (or of the document), as a list of strings.",
                "json_keys(json [, path])",
                "SELECT json_keys('{\"a\": 1, \"b\": 2}')  -- [a, b]",
            ),
            Inspect::Type => (
                "The type of the value at the path: OBJECT, ARRAY, VARCHAR, UBIGINT, BIGINT, DOUBLE, BOOLEAN or NULL.",
                "json_type(json [, path])",
                "SELECT json_type('{\"a\": 1}', '$.a')  -- UBIGINT",
            ),
            Inspect::Exists => (
                "Whether the path exists in the JSON document.",
                "json_exists(json, path)",
                "SELECT json_exists(attributes, '$.user_agent') FROM requests",
            ),
            Inspect::Valid => (
                "Whether the text is one valid JSON value.",
                "json_valid(text)",
                "SELECT json_valid('{\"a\": 1')  -- false",
            ),
        };
        let signature = match kind {
            Inspect::Exists => Signature::any(2, Volatility::Immutable),
            Inspect::Valid => Signature::any(1, Volatility::Immutable),
            _ => Signature::variadic_any(Volatility::Immutable),
        };
        InspectUdf {
            kind,
            signature,
            doc: doc("JSON", description, syntax, example),
        }
    }
}

impl ScalarUDFImpl for InspectUdf {
    fn name(&self) -> &str {
        match self.kind {
            Inspect::ArrayLength => "json_array_length",
            Inspect::Keys => "json_keys",
            Inspect::Type => "json_type",
            Inspect::Exists => "json_exists",
            Inspect::Valid => "json_valid",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.is_empty() || arg_types.len() > 2 {
            return plan_err!("{} takes a JSON value and an optional path", self.name());
        }
        Ok(match self.kind {
            Inspect::ArrayLength => DataType::UInt64,
            Inspect::Keys => DataType::new_list(DataType::Utf8, true),
            Inspect::Type => DataType::Utf8,
            Inspect::Exists | Inspect::Valid => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let steps = match args.args.get(1) {
            Some(path) => match path_steps(name, path)? {
                Some(steps) => steps,
                None => {
                    return Ok(ColumnarValue::Scalar(ScalarValue::try_from(
                        args.return_type(),
                    )?));
                }
            },
            None => vec![],
        };
        let rows = rows_to_compute(&args);
        let json = arrow::compute::cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
        let json = json.as_string::<i32>();
        let result: ArrayRef = match self.kind {
            Inspect::Valid => {
                let mut out = BooleanBuilder::with_capacity(json.len());
                for value in json.iter() {
                    out.append_option(value.map(|v| malformed(v).is_none()));
                }
                Arc::new(out.finish())
            }
            Inspect::ArrayLength => {
                let mut out = UInt64Builder::with_capacity(json.len());
                for value in json.iter() {
                    out.append_option(match value {
                        None => None,
                        Some(v) => found(name, v, &steps)?.map(|(mut j, peek)| {
                            if peek != Peek::Array {
                                return 0;
                            }
                            let mut length = 0;
                            let mut item = j.known_array().ok().flatten();
                            while let Some(p) = item {
                                if j.known_skip(p).is_err() {
                                    break;
                                }
                                length += 1;
                                item = j.array_step().ok().flatten();
                            }
                            length
                        }),
                    });
                }
                Arc::new(out.finish())
            }
            Inspect::Keys => {
                let mut out = ListBuilder::new(StringBuilder::new());
                for value in json.iter() {
                    let keys = match value {
                        None => None,
                        Some(v) => found(name, v, &steps)?.and_then(|(mut j, peek)| {
                            if peek != Peek::Object {
                                return None;
                            }
                            let mut keys = Vec::new();
                            let mut key = j.known_object().ok().flatten().map(str::to_string);
                            while let Some(k) = key {
                                keys.push(k);
                                j.next_skip().ok()?;
                                key = j.next_key().ok().flatten().map(str::to_string);
                            }
                            Some(keys)
                        }),
                    };
                    match keys {
                        Some(keys) => {
                            for key in keys {
                                out.values().append_value(key);
                            }
                            out.append(true);
                        }
                        None => out.append(false),
                    }
                }
                Arc::new(out.finish())
            }
            Inspect::Type => {
                let mut out = StringBuilder::new();
                for value in json.iter() {
                    out.append_option(match value {
                        None => None,
                        Some(v) => {
                            found(name, v, &steps)?.map(|(mut j, peek)| type_name(&mut j, peek))
                        }
                    });
                }
                Arc::new(out.finish())
            }
            Inspect::Exists => {
                let mut out = BooleanBuilder::new();
                for value in json.iter() {
                    out.append_option(match value {
                        None => None,
                        Some(v) => Some(found(name, v, &steps)?.is_some()),
                    });
                }
                Arc::new(out.finish())
            }
        };
        shaped(&args.args, result)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// `find`, failing on malformed JSON.
fn found<'j>(name: &str, json: &'j str, steps: &[Step]) -> Result<Option<(Jiter<'j>, Peek)>> {
    match malformed(json) {
        Some(why) => exec_err!("{name}: malformed JSON: {why}"),
        None => Ok(find(json, steps)),
    }
}

fn type_name(jiter: &mut Jiter, peek: Peek) -> &'static str {
    match peek {
        Peek::Null => "NULL",
        Peek::True | Peek::False => "BOOLEAN",
        Peek::String => "VARCHAR",
        Peek::Array => "ARRAY",
        Peek::Object => "OBJECT",
        _ => match jiter.next_number() {
            Ok(jiter::NumberAny::Float(_)) => "DOUBLE",
            Ok(jiter::NumberAny::Int(jiter::NumberInt::Int(i))) if i < 0 => "BIGINT",
            Ok(_) => "UBIGINT",
            Err(_) => "DOUBLE",
        },
    }
}

/// `json_contains(haystack, needle)` as in DuckDB: whether the JSON `needle` occurs in
/// `haystack` — equal to it or to a nested value, an object matching when it holds the
/// needle's keys with matching values, an array when it holds a match for every element.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Contains {
    signature: Signature,
    doc: Documentation,
}

fn matches(haystack: &serde_json::Value, needle: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (haystack, needle) {
        (Value::Object(h), Value::Object(n)) => n
            .iter()
            .all(|(k, v)| h.get(k).is_some_and(|hv| matches(hv, v))),
        (Value::Array(h), Value::Array(n)) => n.iter().all(|v| h.iter().any(|hv| matches(hv, v))),
        (Value::Number(h), Value::Number(n)) => h.as_f64() == n.as_f64(),
        (h, n) => h == n,
    }
}

fn contains(haystack: &serde_json::Value, needle: &serde_json::Value) -> bool {
    use serde_json::Value;
    matches(haystack, needle)
        || match haystack {
            Value::Object(h) => h.values().any(|v| contains(v, needle)),
            Value::Array(h) => h.iter().any(|v| contains(v, needle)),
            _ => false,
        }
}

impl ScalarUDFImpl for Contains {
    fn name(&self) -> &str {
        "json_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Boolean)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_to_compute(&args);
        let text = |i: usize| -> Result<ArrayRef> {
            Ok(arrow::compute::cast(
                &args.args[i].to_array(rows)?,
                &DataType::Utf8,
            )?)
        };
        let (haystack, needle) = (text(0)?, text(1)?);
        let (haystack, needle) = (haystack.as_string::<i32>(), needle.as_string::<i32>());
        let parse = |v: &str| {
            serde_json::from_str::<serde_json::Value>(v).map_err(|e| {
                let shown: String = v.chars().take(80).collect();
                exec_datafusion_err!("json_contains: malformed JSON: {e} in input \"{shown}\"")
            })
        };
        let mut out = BooleanBuilder::with_capacity(rows);
        for (h, n) in haystack.iter().zip(needle.iter()) {
            match (h, n) {
                (Some(h), Some(n)) => out.append_value(contains(&parse(h)?, &parse(n)?)),
                _ => out.append_null(),
            }
        }
        let result: ArrayRef = Arc::new(out.finish());
        shaped(&args.args, result)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// Every JSON function: DuckDB's names, and the crate's typed getters (`json_get_str`,
/// `json_get_int`, `json_get_float`, `json_get_bool`, `json_get_json`, `json_as_text`,
/// `json_length`), which take the path as separate keys and indexes.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    use datafusion_functions_json::udfs;
    let mut all: Vec<ScalarUDF> = [
        udfs::json_get_str_udf(),
        udfs::json_get_int_udf(),
        udfs::json_get_float_udf(),
        udfs::json_get_bool_udf(),
        udfs::json_get_json_udf(),
        udfs::json_as_text_udf(),
        udfs::json_length_udf(),
    ]
    .into_iter()
    .map(|udf| udf.as_ref().clone())
    .collect();
    // Not the crate's `json_object_keys`: it also answers to `json_keys`, and when a session's
    // functions are copied (in no fixed order) it could take that name from DuckDB's.
    all.extend(
        [Output::Json, Output::Text, Output::Scalar]
            .into_iter()
            .map(|output| ScalarUDF::new_from_impl(Extract::new(output, None))),
    );
    all.extend(
        [
            Inspect::ArrayLength,
            Inspect::Keys,
            Inspect::Type,
            Inspect::Exists,
            Inspect::Valid,
        ]
        .into_iter()
        .map(|kind| ScalarUDF::new_from_impl(InspectUdf::new(kind))),
    );
    all.push(ScalarUDF::new_from_impl(Contains {
        signature: Signature::any(2, Volatility::Immutable),
        doc: doc(
            "JSON",
            "Whether the JSON `needle` occurs in `haystack` (as a value, or as a sub-object or sub-array of one).",
            "json_contains(haystack, needle)",
            "SELECT json_contains('{\"tags\": [\"a\", \"b\"]}', '\"b\"')  -- true",
        ),
    }));
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_as_duckdb_spells_them() {
        use Step::*;
        let key = |k: &str| Key(k.to_string());
        assert_eq!(parse_path("$.a.b").unwrap(), vec![key("a"), key("b")]);
        assert_eq!(
            parse_path("$.tags[0]").unwrap(),
            vec![key("tags"), Index(0)]
        );
        assert_eq!(parse_path("$.t[#-1]").unwrap(), vec![key("t"), Index(-1)]);
        assert_eq!(
            parse_path("$.\"a b\".c").unwrap(),
            vec![key("a b"), key("c")]
        );
        assert_eq!(parse_path("/a/b~1c").unwrap(), vec![key("a"), key("b/c")]);
        assert_eq!(parse_path("status").unwrap(), vec![key("status")]);
        assert_eq!(parse_path("$").unwrap(), vec![]);
        assert!(
            parse_path("$.a[*]")
                .unwrap_err()
                .to_string()
                .contains("wildcards")
        );
        assert!(
            parse_path("$.a[x]")
                .unwrap_err()
                .to_string()
                .contains("bad index")
        );
        assert!(parse_path("$a").is_err());
    }

    #[test]
    fn contains_matches_nested_values_and_subsets() {
        let v = |s: &str| serde_json::from_str::<serde_json::Value>(s).unwrap();
        let doc = v(r#"{"a": {"b": [1, 2, {"c": "x"}]}, "n": 2.0}"#);
        assert!(contains(&doc, &v("1")));
        assert!(contains(&doc, &v("2")));
        assert!(contains(&doc, &v(r#"{"c": "x"}"#)));
        assert!(contains(&doc, &v("[2, 1]")));
        assert!(!contains(&doc, &v("3")));
        assert!(!contains(&doc, &v(r#"{"c": "y"}"#)));
    }
}
