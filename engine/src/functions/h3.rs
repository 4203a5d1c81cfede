//! H3 hexagonal cells under the names of DuckDB's H3 extension, on the `h3o` crate. A cell is
//! an unsigned 64-bit integer (`UInt64`), as `h3_latlng_to_cell` returns it in DuckDB; the
//! functions taking a cell also take it signed (`BIGINT`) or as its hexadecimal string, and
//! answer cells in the same form they were given.

use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Float64Builder, Int32Builder, Int64Builder,
    ListArray, ListBuilder, StringBuilder, UInt64Builder,
};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, Float64Type, Int64Type, UInt64Type};
use datafusion::common::{Result, exec_datafusion_err, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use h3o::{CellIndex, LatLng, Resolution};

use super::{doc, rows_to_compute, shaped};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    LatLngToCell,
    LatLngToCellString,
    CellToLat,
    CellToLng,
    CellToLatLng,
    CellToParent,
    CellToChildren,
    GridDisk,
    GridDistance,
    GetResolution,
    IsValidCell,
    ToString,
    StringToH3,
    CellToBoundaryWkt,
}

impl Kind {
    const ALL: [Kind; 14] = [
        Kind::LatLngToCell,
        Kind::LatLngToCellString,
        Kind::CellToLat,
        Kind::CellToLng,
        Kind::CellToLatLng,
        Kind::CellToParent,
        Kind::CellToChildren,
        Kind::GridDisk,
        Kind::GridDistance,
        Kind::GetResolution,
        Kind::IsValidCell,
        Kind::ToString,
        Kind::StringToH3,
        Kind::CellToBoundaryWkt,
    ];

    /// Name, number of arguments, description, syntax, example.
    fn spec(
        self,
    ) -> (
        &'static str,
        usize,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            Kind::LatLngToCell => (
                "h3_latlng_to_cell",
                3,
                "The H3 cell (UBIGINT) holding a point at a resolution 0–15.",
                "h3_latlng_to_cell(lat, lng, resolution)",
                "SELECT h3_latlng_to_cell(pickup_lat, pickup_lon, 8) AS cell, count(*) FROM trips GROUP BY cell",
            ),
            Kind::LatLngToCellString => (
                "h3_latlng_to_cell_string",
                3,
                "The H3 cell holding a point, as its hexadecimal string.",
                "h3_latlng_to_cell_string(lat, lng, resolution)",
                "SELECT h3_latlng_to_cell_string(52.37, 4.89, 9)",
            ),
            Kind::CellToLat => (
                "h3_cell_to_lat",
                1,
                "The latitude of a cell's centre.",
                "h3_cell_to_lat(cell)",
                "SELECT h3_cell_to_lat(h3_latlng_to_cell(52.37, 4.89, 9))",
            ),
            Kind::CellToLng => (
                "h3_cell_to_lng",
                1,
                "The longitude of a cell's centre.",
                "h3_cell_to_lng(cell)",
                "SELECT h3_cell_to_lng(h3_latlng_to_cell(52.37, 4.89, 9))",
            ),
            Kind::CellToLatLng => (
                "h3_cell_to_latlng",
                1,
                "A cell's centre as [lat, lng].",
                "h3_cell_to_latlng(cell)",
                "SELECT h3_cell_to_latlng(h3_latlng_to_cell(52.37, 4.89, 9))",
            ),
            Kind::CellToParent => (
                "h3_cell_to_parent",
                2,
                "The cell's ancestor at a coarser resolution.",
                "h3_cell_to_parent(cell, resolution)",
                "SELECT h3_cell_to_parent(cell, 5) FROM …",
            ),
            Kind::CellToChildren => (
                "h3_cell_to_children",
                2,
                "The cell's descendants at a finer resolution, as a list.",
                "h3_cell_to_children(cell, resolution)",
                "SELECT h3_cell_to_children(h3_latlng_to_cell(52.37, 4.89, 7), 8)",
            ),
            Kind::GridDisk => (
                "h3_grid_disk",
                2,
                "The cells within k steps of a cell (itself included), as a list.",
                "h3_grid_disk(cell, k)",
                "SELECT unnest(h3_grid_disk(h3_latlng_to_cell(52.37, 4.89, 9), 1))",
            ),
            Kind::GridDistance => (
                "h3_grid_distance",
                2,
                "The number of grid steps between two cells of one resolution.",
                "h3_grid_distance(a, b)",
                "SELECT h3_grid_distance(a, b) FROM …",
            ),
            Kind::GetResolution => (
                "h3_get_resolution",
                1,
                "A cell's resolution.",
                "h3_get_resolution(cell)",
                "SELECT h3_get_resolution(h3_latlng_to_cell(52.37, 4.89, 9))  -- 9",
            ),
            Kind::IsValidCell => (
                "h3_is_valid_cell",
                1,
                "Whether a value is a valid H3 cell.",
                "h3_is_valid_cell(cell)",
                "SELECT h3_is_valid_cell(617700169958293503)",
            ),
            Kind::ToString => (
                "h3_h3_to_string",
                1,
                "A cell as its hexadecimal string.",
                "h3_h3_to_string(cell)",
                "SELECT h3_h3_to_string(h3_latlng_to_cell(52.37, 4.89, 9))",
            ),
            Kind::StringToH3 => (
                "h3_string_to_h3",
                1,
                "A cell's hexadecimal string as a cell (UBIGINT).",
                "h3_string_to_h3(text)",
                "SELECT h3_string_to_h3('891969a4d1bffff')",
            ),
            Kind::CellToBoundaryWkt => (
                "h3_cell_to_boundary_wkt",
                1,
                "A cell's boundary as a well-known-text polygon (lng lat).",
                "h3_cell_to_boundary_wkt(cell)",
                "SELECT h3_cell_to_boundary_wkt(h3_latlng_to_cell(52.37, 4.89, 9))",
            ),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct H3Udf {
    kind: Kind,
    name: &'static str,
    arity: usize,
    signature: Signature,
    doc: Documentation,
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let (name, arity, description, syntax, example) = kind.spec();
            ScalarUDF::new_from_impl(H3Udf {
                kind,
                name,
                arity,
                signature: Signature::user_defined(Volatility::Immutable),
                doc: doc("H3", description, syntax, example),
            })
        })
        .collect()
}

/// The form cells were given in, and are answered in.
fn cell_type(given: &DataType) -> Option<DataType> {
    match given {
        DataType::UInt64 | DataType::Null => Some(DataType::UInt64),
        DataType::Int64 => Some(DataType::Int64),
        DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 => Some(DataType::Utf8),
        t if t.is_integer() => Some(DataType::Int64),
        _ => None,
    }
}

fn resolution(name: &str, value: i64) -> Result<Resolution> {
    u8::try_from(value)
        .ok()
        .and_then(|r| Resolution::try_from(r).ok())
        .ok_or_else(|| exec_datafusion_err!("{name}: resolution {value} is out of range 0–15"))
}

/// The cells of a cell argument (cast to its form by `coerce_types`), failing on invalid ones.
fn cells(name: &str, array: &ArrayRef) -> Result<Vec<Option<CellIndex>>> {
    let invalid = |shown: String| exec_datafusion_err!("{name}: {shown} is not a valid H3 cell");
    match array.data_type() {
        DataType::UInt64 => array
            .as_primitive::<UInt64Type>()
            .iter()
            .map(|v| {
                v.map(|v| CellIndex::try_from(v).map_err(|_| invalid(v.to_string())))
                    .transpose()
            })
            .collect(),
        DataType::Int64 => array
            .as_primitive::<Int64Type>()
            .iter()
            .map(|v| {
                v.map(|v| {
                    u64::try_from(v)
                        .ok()
                        .and_then(|u| CellIndex::try_from(u).ok())
                        .ok_or_else(|| invalid(v.to_string()))
                })
                .transpose()
            })
            .collect(),
        _ => array
            .as_string::<i32>()
            .iter()
            .map(|v| {
                v.map(|v| CellIndex::from_str(v).map_err(|_| invalid(format!("'{v}'"))))
                    .transpose()
            })
            .collect(),
    }
}

/// Appends cells in the form `form`.
enum CellOut {
    Unsigned(UInt64Builder),
    Signed(Int64Builder),
    Text(StringBuilder),
}

impl CellOut {
    fn new(form: &DataType) -> Self {
        match form {
            DataType::Int64 => CellOut::Signed(Int64Builder::new()),
            DataType::Utf8 => CellOut::Text(StringBuilder::new()),
            _ => CellOut::Unsigned(UInt64Builder::new()),
        }
    }

    fn append(&mut self, cell: Option<CellIndex>) {
        match self {
            CellOut::Unsigned(b) => b.append_option(cell.map(u64::from)),
            CellOut::Signed(b) => b.append_option(cell.map(|c| u64::from(c) as i64)),
            CellOut::Text(b) => b.append_option(cell.map(|c| c.to_string())),
        }
    }

    fn finish(self) -> ArrayRef {
        match self {
            CellOut::Unsigned(mut b) => Arc::new(b.finish()),
            CellOut::Signed(mut b) => Arc::new(b.finish()),
            CellOut::Text(mut b) => Arc::new(b.finish()),
        }
    }
}

fn list_of(form: &DataType) -> DataType {
    DataType::new_list(form.clone(), true)
}

impl ScalarUDFImpl for H3Udf {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != self.arity {
            return plan_err!(
                "{} takes {} argument(s): {}",
                self.name,
                self.arity,
                self.doc.syntax_example
            );
        }
        let number = |t: &DataType, what: &str| -> Result<DataType> {
            if t.is_numeric() || t.is_null() {
                Ok(DataType::Float64)
            } else {
                plan_err!("{}: {what} must be a number, not {t}", self.name)
            }
        };
        let integer = |t: &DataType, what: &str| -> Result<DataType> {
            if t.is_integer() || t.is_null() {
                Ok(DataType::Int64)
            } else {
                plan_err!("{}: {what} must be an integer, not {t}", self.name)
            }
        };
        let cell = |t: &DataType| -> Result<DataType> {
            cell_type(t).map_or_else(
                || {
                    plan_err!(
                        "{}: a cell is a UBIGINT, BIGINT or hexadecimal string, not {t}",
                        self.name
                    )
                },
                Ok,
            )
        };
        match self.kind {
            Kind::LatLngToCell | Kind::LatLngToCellString => Ok(vec![
                number(&arg_types[0], "the latitude")?,
                number(&arg_types[1], "the longitude")?,
                integer(&arg_types[2], "the resolution")?,
            ]),
            Kind::StringToH3 => Ok(vec![DataType::Utf8]),
            Kind::CellToParent | Kind::CellToChildren | Kind::GridDisk => Ok(vec![
                cell(&arg_types[0])?,
                integer(&arg_types[1], "the second argument")?,
            ]),
            Kind::GridDistance => {
                let form = cell(&arg_types[0])?;
                cell(&arg_types[1])?;
                Ok(vec![form.clone(), form])
            }
            _ => Ok(vec![cell(&arg_types[0])?]),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let form = arg_types.first().cloned().unwrap_or(DataType::UInt64);
        Ok(match self.kind {
            Kind::LatLngToCell | Kind::StringToH3 => DataType::UInt64,
            Kind::LatLngToCellString | Kind::ToString | Kind::CellToBoundaryWkt => DataType::Utf8,
            Kind::CellToLat | Kind::CellToLng => DataType::Float64,
            Kind::CellToLatLng => list_of(&DataType::Float64),
            Kind::CellToParent => form,
            Kind::CellToChildren | Kind::GridDisk => list_of(&form),
            Kind::GridDistance => DataType::Int64,
            Kind::GetResolution => DataType::Int32,
            Kind::IsValidCell => DataType::Boolean,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name;
        let rows = rows_to_compute(&args);
        let arrays = args
            .args
            .iter()
            .map(|a| a.to_array(rows))
            .collect::<Result<Vec<_>>>()?;
        let form = arrays[0].data_type().clone();
        let result: ArrayRef = match self.kind {
            Kind::LatLngToCell | Kind::LatLngToCellString => {
                let (lat, lng) = (
                    arrays[0].as_primitive::<Float64Type>(),
                    arrays[1].as_primitive::<Float64Type>(),
                );
                let res = arrays[2].as_primitive::<Int64Type>();
                let mut out = CellOut::new(if self.kind == Kind::LatLngToCell {
                    &DataType::UInt64
                } else {
                    &DataType::Utf8
                });
                for row in 0..rows {
                    if lat.is_null(row) || lng.is_null(row) || res.is_null(row) {
                        out.append(None);
                        continue;
                    }
                    let resolution = resolution(name, res.value(row))?;
                    let point = LatLng::new(lat.value(row), lng.value(row)).map_err(|e| {
                        exec_datafusion_err!(
                            "{name}: ({}, {}) is not a valid latitude and longitude: {e}",
                            lat.value(row),
                            lng.value(row)
                        )
                    })?;
                    out.append(Some(point.to_cell(resolution)));
                }
                out.finish()
            }
            Kind::StringToH3 => {
                let mut out = CellOut::new(&DataType::UInt64);
                for cell in cells(name, &arrays[0])? {
                    out.append(cell);
                }
                out.finish()
            }
            Kind::IsValidCell => {
                let mut out = BooleanBuilder::new();
                for row in 0..rows {
                    let one = arrays[0].slice(row, 1);
                    out.append_option(one.is_valid(0).then(|| cells(name, &one).is_ok()));
                }
                Arc::new(out.finish())
            }
            Kind::CellToParent => {
                let res = arrays[1].as_primitive::<Int64Type>();
                let mut out = CellOut::new(&form);
                for (row, cell) in cells(name, &arrays[0])?.into_iter().enumerate() {
                    match (cell, res.is_valid(row)) {
                        (Some(cell), true) => {
                            let target = resolution(name, res.value(row))?;
                            let parent = cell.parent(target).ok_or_else(|| {
                                exec_datafusion_err!(
                                    "{name}: resolution {} is finer than the cell's {}",
                                    res.value(row),
                                    cell.resolution()
                                )
                            })?;
                            out.append(Some(parent));
                        }
                        _ => out.append(None),
                    }
                }
                out.finish()
            }
            Kind::CellToChildren | Kind::GridDisk => {
                let second = arrays[1].as_primitive::<Int64Type>();
                let mut values = CellOut::new(&form);
                let mut offsets = vec![0i32];
                let mut valid = Vec::with_capacity(rows);
                let mut total = 0i32;
                for (row, cell) in cells(name, &arrays[0])?.into_iter().enumerate() {
                    let (Some(cell), true) = (cell, second.is_valid(row)) else {
                        offsets.push(total);
                        valid.push(false);
                        continue;
                    };
                    let n = second.value(row);
                    let members: Vec<CellIndex> = if self.kind == Kind::GridDisk {
                        let k = u32::try_from(n)
                            .ok()
                            .filter(|k| *k <= 1000)
                            .ok_or_else(|| {
                                exec_datafusion_err!("{name}: k = {n} is out of range 0–1000")
                            })?;
                        cell.grid_disk(k)
                    } else {
                        let target = resolution(name, n)?;
                        if target < cell.resolution() {
                            return exec_err!(
                                "{name}: resolution {n} is coarser than the cell's {}",
                                cell.resolution()
                            );
                        }
                        if u8::from(target) - u8::from(cell.resolution()) > 8 {
                            return exec_err!(
                                "{name}: more than 7^8 children; ask for a resolution at most 8 finer"
                            );
                        }
                        cell.children(target).collect()
                    };
                    total += members.len() as i32;
                    for member in members {
                        values.append(Some(member));
                    }
                    offsets.push(total);
                    valid.push(true);
                }
                Arc::new(ListArray::new(
                    Arc::new(Field::new_list_field(form.clone(), true)),
                    OffsetBuffer::new(offsets.into()),
                    values.finish(),
                    Some(NullBuffer::from(valid)),
                ))
            }
            Kind::GridDistance => {
                let (a, b) = (cells(name, &arrays[0])?, cells(name, &arrays[1])?);
                let mut out = Int64Builder::new();
                for (a, b) in a.into_iter().zip(b) {
                    match (a, b) {
                        (Some(a), Some(b)) => {
                            out.append_value(i64::from(a.grid_distance(b).map_err(|e| {
                                exec_datafusion_err!(
                                    "{name}: no grid distance between {a} and {b}: {e}"
                                )
                            })?))
                        }
                        _ => out.append_null(),
                    }
                }
                Arc::new(out.finish())
            }
            Kind::GetResolution => {
                let mut out = Int32Builder::new();
                for cell in cells(name, &arrays[0])? {
                    out.append_option(cell.map(|c| i32::from(u8::from(c.resolution()))));
                }
                Arc::new(out.finish())
            }
            Kind::CellToLat | Kind::CellToLng => {
                let mut out = Float64Builder::new();
                for cell in cells(name, &arrays[0])? {
                    out.append_option(cell.map(|c| {
                        let centre = LatLng::from(c);
                        if self.kind == Kind::CellToLat {
                            centre.lat()
                        } else {
                            centre.lng()
                        }
                    }));
                }
                Arc::new(out.finish())
            }
            Kind::CellToLatLng => {
                let mut out = ListBuilder::new(Float64Builder::new());
                for cell in cells(name, &arrays[0])? {
                    match cell {
                        Some(c) => {
                            let centre = LatLng::from(c);
                            out.values().append_value(centre.lat());
                            out.values().append_value(centre.lng());
                            out.append(true);
                        }
                        None => out.append(false),
                    }
                }
                Arc::new(out.finish())
            }
            Kind::ToString | Kind::CellToBoundaryWkt => {
                let mut out = StringBuilder::new();
                for cell in cells(name, &arrays[0])? {
                    out.append_option(cell.map(|c| match self.kind {
                        Kind::ToString => c.to_string(),
                        _ => {
                            let ring: Vec<String> = c
                                .boundary()
                                .iter()
                                .chain(c.boundary().iter().take(1))
                                .map(|p| format!("{} {}", p.lng(), p.lat()))
                                .collect();
                            format!("POLYGON (({}))", ring.join(", "))
                        }
                    }));
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
