//! DuckDB's `string_split_regex` (also `str_split_regex`, `regexp_split_to_array`): a string
//! split at every match of a regular expression, as a list of strings.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    TypeSignature, Volatility,
};
use regex::{Regex, RegexBuilder};

use super::{doc, shaped};

pub(super) fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(SplitRegex {
        signature: Signature::one_of(
            vec![TypeSignature::String(2), TypeSignature::String(3)],
            Volatility::Immutable,
        ),
        aliases: vec!["str_split_regex".into(), "regexp_split_to_array".into()],
        doc: doc(
            "Text",
            "Splits a string at every match of a regular expression (an empty one splits it into its characters). Options: 'i' ignores case, 'c' does not (the default), 'l' takes the pattern literally, 'm' (or 'n', 'p') matches ^ and $ at every line. A pattern that can match nothing (`x*`) splits around the empty matches as Rust's regex does, not as DuckDB's.",
            "string_split_regex(s, pattern [, options])",
            "SELECT string_split_regex('a1b22c', '[0-9]+')  -- [a, b, c]",
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct SplitRegex {
    signature: Signature,
    aliases: Vec<String>,
    doc: Documentation,
}

/// The elements of the result list: nullable strings.
fn item() -> Arc<Field> {
    Arc::new(Field::new("item", DataType::Utf8, true))
}

/// The regular expression of `pattern` with DuckDB's `options`.
fn compile(pattern: &str, options: &str) -> Result<Regex> {
    let mut literal = false;
    let mut ignore_case = false;
    let mut lines = false;
    for option in options.chars() {
        match option {
            'i' => ignore_case = true,
            'c' => ignore_case = false,
            'l' => literal = true,
            // Newline-sensitive matching: `^` and `$` at every line.
            'm' | 'n' | 'p' => lines = true,
            's' => lines = false,
            c if c.is_whitespace() => {}
            other => {
                return exec_err!(
                    "string_split_regex: unknown option '{other}' (use c, i, l, m, n, p or s)"
                );
            }
        }
    }
    let source = if literal {
        regex::escape(pattern)
    } else {
        pattern.to_string()
    };
    RegexBuilder::new(&source)
        .case_insensitive(ignore_case)
        .multi_line(lines)
        .build()
        .or_else(|e| {
            // A long pattern is named by its start (its error says where it went wrong).
            let shown: String = pattern.chars().take(80).collect();
            let more = if shown.len() < pattern.len() {
                "…"
            } else {
                ""
            };
            let reason = e.to_string();
            let reason = reason.lines().last().unwrap_or_default();
            exec_err!("string_split_regex: invalid pattern '{shown}{more}': {reason}")
        })
}

impl ScalarUDFImpl for SplitRegex {
    fn name(&self) -> &str {
        "string_split_regex"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!("string_split_regex takes a string, a pattern and options");
        }
        Ok(DataType::List(item()))
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = super::rows_to_compute(&args);
        let strings: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| {
                let array = a.to_array(rows)?;
                Ok(arrow::compute::cast(&array, &DataType::Utf8)?)
            })
            .collect::<Result<_>>()?;
        let text = strings[0].as_string::<i32>();
        let pattern = strings[1].as_string::<i32>();
        let options = strings.get(2).map(|o| o.as_string::<i32>());
        // The last pattern and options compiled, as regexp_extract keeps them.
        let mut compiled: Option<(String, String, Regex)> = None;
        let mut out = ListBuilder::new(StringBuilder::new()).with_field(item());
        for row in 0..rows {
            let option = match options {
                Some(o) if o.is_null(row) => {
                    return exec_err!("string_split_regex: the options must not be NULL");
                }
                Some(o) => Some(o.value(row)),
                None => None,
            };
            if text.is_null(row) || pattern.is_null(row) {
                out.append_null();
                continue;
            }
            let (s, p) = (text.value(row), pattern.value(row));
            if s.is_empty() {
                // One empty piece, whatever the pattern (as in DuckDB).
                out.values().append_value("");
                out.append(true);
                continue;
            }
            if p.is_empty() {
                for (i, c) in s.char_indices() {
                    out.values().append_value(&s[i..i + c.len_utf8()]);
                }
                out.append(true);
                continue;
            }
            let option = option.unwrap_or("");
            if compiled
                .as_ref()
                .is_none_or(|(cp, co, _)| cp != p || co != option)
            {
                compiled = Some((p.to_string(), option.to_string(), compile(p, option)?));
            }
            let regex = &compiled.as_ref().expect("compiled above").2;
            for piece in regex.split(s) {
                out.values().append_value(piece);
            }
            out.append(true);
        }
        shaped(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
