//! DuckDB's `len`: the characters of a string, or the elements of a list.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array};
use arrow::datatypes::{DataType, Field};
use datafusion::common::{Result, ScalarValue, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::doc;

/// `len(text | list)`.
pub(crate) fn len() -> ScalarUDF {
    ScalarUDF::new_from_impl(Len {
        signature: Signature::user_defined(Volatility::Immutable),
        chars: datafusion::functions::unicode::character_length(),
        doc: doc(
            "Text",
            "The number of characters of a string, or of elements of a list, as DuckDB's `len`.",
            "len(text | list)",
            "SELECT len('héllo'), len([1, 2, 3])  -- 5, 3",
        ),
    })
}

/// `len(x)`: characters of a string (DataFusion's `character_length`), elements of a list.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Len {
    signature: Signature,
    chars: Arc<ScalarUDF>,
    doc: Documentation,
}

fn is_list(t: &DataType) -> bool {
    matches!(
        t,
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..)
    )
}

impl ScalarUDFImpl for Len {
    fn name(&self) -> &str {
        "len"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [t] if is_list(t) || t.is_null() => Ok(vec![t.clone()]),
            [t @ (DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)] => {
                Ok(vec![t.clone()])
            }
            [_] => Ok(vec![DataType::Utf8View]),
            _ => plan_err!("len takes 1 argument"),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].data_type();
        let lengths = if is_list(&input) {
            let rows = super::rows_to_compute(&args);
            let values = args.args[0].to_array(rows)?;
            let counted = match values.data_type() {
                DataType::FixedSizeList(_, n) => {
                    let n = i64::from(*n);
                    Arc::new(
                        (0..values.len())
                            .map(|i| values.is_valid(i).then_some(n))
                            .collect::<Int64Array>(),
                    ) as ArrayRef
                }
                _ => arrow::compute::kernels::length::length(&values)?,
            };
            super::shaped(&args.args, counted)?
        } else if input.is_null() {
            return Ok(ColumnarValue::Scalar(ScalarValue::Int64(None)));
        } else {
            // `character_length` answers in its own type (INT for strings), checked on return.
            let own = self.chars.inner().return_type(&[input])?;
            self.chars.invoke_with_args(ScalarFunctionArgs {
                return_field: Arc::new(Field::new("len", own, true)),
                ..args
            })?
        };
        lengths.cast_to(&DataType::Int64, None)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
