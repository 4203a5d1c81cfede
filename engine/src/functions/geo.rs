//! Spatial functions under DuckDB spatial's names, on the `geo` crate. A geometry is its
//! well-known binary (WKB) as `Binary`, as DuckDB hands GEOMETRY to clients; `ST_AsText`
//! displays it. `ST_Distance_Sphere` takes points in DuckDB's [latitude, longitude] axis order
//! and answers the haversine distance in metres.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, BooleanBuilder, Float64Builder, StringBuilder,
};
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_datafusion_err, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};
use geo::{
    Area, Centroid, Contains, Distance, Euclidean, Geodesic, Geometry, HaversineMeasure,
    Intersects, Point,
};
use geo_traits::to_geo::ToGeoGeometry;
use wkt::{ToWkt, TryFromWkt};

use super::{doc, rows_to_compute, shaped};

/// DuckDB spatial's sphere: a radius of 6,371,000 m (geo's default is GRS80's mean, 6,371,008.8 m).
const SPHERE: HaversineMeasure = HaversineMeasure::new(6_371_000.0);

/// What an argument is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Arg {
    Number,
    Geometry,
    Text,
    Bytes,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Point,
    MakeEnvelope,
    GeomFromText,
    GeomFromWkb,
    AsText,
    AsWkb,
    X,
    Y,
    Distance,
    DistanceSphere,
    DistanceSpheroid,
    Contains,
    Within,
    Intersects,
    DWithin,
    Area,
    Centroid,
}

impl Kind {
    const ALL: [Kind; 17] = [
        Kind::Point,
        Kind::MakeEnvelope,
        Kind::GeomFromText,
        Kind::GeomFromWkb,
        Kind::AsText,
        Kind::AsWkb,
        Kind::X,
        Kind::Y,
        Kind::Distance,
        Kind::DistanceSphere,
        Kind::DistanceSpheroid,
        Kind::Contains,
        Kind::Within,
        Kind::Intersects,
        Kind::DWithin,
        Kind::Area,
        Kind::Centroid,
    ];

    /// Name, aliases, arguments, result, description, syntax, example.
    #[allow(clippy::type_complexity)]
    fn spec(
        self,
    ) -> (
        &'static str,
        &'static [&'static str],
        &'static [Arg],
        DataType,
        &'static str,
        &'static str,
        &'static str,
    ) {
        use Arg::*;
        let g = DataType::Binary;
        let f = DataType::Float64;
        let b = DataType::Boolean;
        match self {
            Kind::Point => (
                "st_point",
                &[],
                &[Number, Number],
                g,
                "A point geometry.",
                "ST_Point(x, y)",
                "SELECT ST_AsText(ST_Point(4.89, 52.37))",
            ),
            Kind::MakeEnvelope => (
                "st_makeenvelope",
                &[],
                &[Number, Number, Number, Number],
                g,
                "The rectangle polygon with these corners.",
                "ST_MakeEnvelope(min_x, min_y, max_x, max_y)",
                "SELECT ST_AsText(ST_MakeEnvelope(0, 0, 1, 1))",
            ),
            Kind::GeomFromText => (
                "st_geomfromtext",
                &["st_geometryfromtext"],
                &[Text],
                g,
                "The geometry written in well-known text (POINT, LINESTRING, POLYGON, MULTI…).",
                "ST_GeomFromText(wkt)",
                "SELECT ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))')",
            ),
            Kind::GeomFromWkb => (
                "st_geomfromwkb",
                &[],
                &[Bytes],
                g,
                "The geometry in well-known binary (checked).",
                "ST_GeomFromWKB(blob)",
                "SELECT ST_AsText(ST_GeomFromWKB(ST_AsWKB(ST_Point(1, 2))))",
            ),
            Kind::AsText => (
                "st_astext",
                &["st_aswkt"],
                &[Geometry],
                DataType::Utf8,
                "The geometry as well-known text, as DuckDB writes it.",
                "ST_AsText(geom)",
                "SELECT ST_AsText(ST_Point(1, 2))  -- POINT (1 2)",
            ),
            Kind::AsWkb => (
                "st_aswkb",
                &[],
                &[Geometry],
                g,
                "The geometry as well-known binary.",
                "ST_AsWKB(geom)",
                "SELECT ST_AsWKB(ST_Point(1, 2))",
            ),
            Kind::X => (
                "st_x",
                &[],
                &[Geometry],
                f.clone(),
                "The x coordinate of a point.",
                "ST_X(point)",
                "SELECT ST_X(ST_Point(1, 2))  -- 1",
            ),
            Kind::Y => (
                "st_y",
                &[],
                &[Geometry],
                f.clone(),
                "The y coordinate of a point.",
                "ST_Y(point)",
                "SELECT ST_Y(ST_Point(1, 2))  -- 2",
            ),
            Kind::Distance => (
                "st_distance",
                &[],
                &[Geometry, Geometry],
                f.clone(),
                "The planar (Euclidean) distance between two geometries, in their units.",
                "ST_Distance(a, b)",
                "SELECT ST_Distance(ST_Point(0, 0), ST_Point(3, 4))  -- 5",
            ),
            Kind::DistanceSphere => (
                "st_distance_sphere",
                &[],
                &[Geometry, Geometry],
                f.clone(),
                "The haversine distance in metres between two points given as (latitude, longitude), as DuckDB spatial orders them.",
                "ST_Distance_Sphere(point_a, point_b)",
                "SELECT ST_Distance_Sphere(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon)) FROM trips",
            ),
            Kind::DistanceSpheroid => (
                "st_distance_spheroid",
                &[],
                &[Geometry, Geometry],
                f.clone(),
                "The geodesic distance in metres on the WGS84 ellipsoid (Karney's algorithm) between two points given as (latitude, longitude).",
                "ST_Distance_Spheroid(point_a, point_b)",
                "SELECT ST_Distance_Spheroid(ST_Point(52.37, 4.89), ST_Point(48.85, 2.35))  -- 430803.6",
            ),
            Kind::Contains => (
                "st_contains",
                &[],
                &[Geometry, Geometry],
                b.clone(),
                "Whether `a` contains `b` (a point on the boundary is not contained).",
                "ST_Contains(a, b)",
                "SELECT count(*) FROM trips WHERE ST_Contains(ST_GeomFromText('POLYGON((…))'), ST_Point(pickup_lon, pickup_lat))",
            ),
            Kind::Within => (
                "st_within",
                &[],
                &[Geometry, Geometry],
                b.clone(),
                "Whether `a` lies within `b`.",
                "ST_Within(a, b)",
                "SELECT ST_Within(ST_Point(5, 5), ST_MakeEnvelope(0, 0, 10, 10))",
            ),
            Kind::Intersects => (
                "st_intersects",
                &[],
                &[Geometry, Geometry],
                b.clone(),
                "Whether `a` and `b` share any point (boundaries included).",
                "ST_Intersects(a, b)",
                "SELECT ST_Intersects(zone, ST_Point(lon, lat)) FROM …",
            ),
            Kind::DWithin => (
                "st_dwithin",
                &[],
                &[Geometry, Geometry, Number],
                b,
                "Whether the planar distance between `a` and `b` is at most `d`.",
                "ST_DWithin(a, b, d)",
                "SELECT ST_DWithin(ST_Point(0, 0), ST_Point(3, 4), 5)",
            ),
            Kind::Area => (
                "st_area",
                &[],
                &[Geometry],
                f,
                "The planar area of a geometry, in its units squared.",
                "ST_Area(geom)",
                "SELECT ST_Area(ST_MakeEnvelope(0, 0, 10, 10))  -- 100",
            ),
            Kind::Centroid => (
                "st_centroid",
                &[],
                &[Geometry],
                g,
                "The centroid point of a geometry.",
                "ST_Centroid(geom)",
                "SELECT ST_AsText(ST_Centroid(ST_MakeEnvelope(0, 0, 10, 10)))",
            ),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct GeoUdf {
    kind: Kind,
    name: &'static str,
    aliases: Vec<String>,
    args: &'static [Arg],
    output: DataType,
    signature: Signature,
    doc: Documentation,
}

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    Kind::ALL
        .into_iter()
        .map(|kind| {
            let (name, aliases, args, output, description, syntax, example) = kind.spec();
            ScalarUDF::new_from_impl(GeoUdf {
                kind,
                name,
                aliases: aliases.iter().map(|a| a.to_string()).collect(),
                args,
                output,
                signature: Signature::user_defined(Volatility::Immutable),
                doc: doc("Spatial", description, syntax, example),
            })
        })
        .collect()
}

/// One argument's values, decoded once per batch (a constant zone polygon once per batch).
enum Values {
    Scalar(Option<Geometry>),
    Geometries(Vec<Option<Geometry>>),
}

impl Values {
    fn get(&self, row: usize) -> Option<&Geometry> {
        match self {
            Values::Scalar(g) => g.as_ref(),
            Values::Geometries(all) => all[row].as_ref(),
        }
    }
}

fn decode(name: &str, bytes: &[u8]) -> Result<Geometry> {
    let wkb = wkb::reader::read_wkb(bytes)
        .map_err(|e| exec_datafusion_err!("{name}: not a geometry (well-known binary): {e}"))?;
    Ok(wkb.to_geometry())
}

fn geometries(name: &str, value: &ColumnarValue) -> Result<Values> {
    match value {
        ColumnarValue::Scalar(scalar) => {
            let array = scalar.cast_to(&DataType::Binary)?.to_array_of_size(1)?;
            let bytes = array.as_binary::<i32>();
            Ok(Values::Scalar(match bytes.is_valid(0) {
                true => Some(decode(name, bytes.value(0))?),
                false => None,
            }))
        }
        ColumnarValue::Array(array) => {
            let array = arrow::compute::cast(array, &DataType::Binary)?;
            let bytes = array.as_binary::<i32>();
            bytes
                .iter()
                .map(|b| b.map(|b| decode(name, b)).transpose())
                .collect::<Result<_>>()
                .map(Values::Geometries)
        }
    }
}

fn encode(geometry: &Geometry) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    wkb::writer::write_geometry(&mut out, geometry, &Default::default())
        .map_err(|e| exec_datafusion_err!("cannot write geometry as WKB: {e}"))?;
    Ok(out)
}

/// WKT as DuckDB writes it: a space after the type name, and after each comma.
fn duckdb_wkt(geometry: &Geometry) -> String {
    let plain = geometry.wkt_string();
    let mut out = String::with_capacity(plain.len() + 8);
    let mut previous = ' ';
    for c in plain.chars() {
        if c == '(' && previous.is_ascii_alphabetic() {
            out.push(' ');
        }
        out.push(c);
        if c == ',' {
            out.push(' ');
        }
        previous = c;
    }
    out
}

fn point_of(name: &str, g: &Geometry) -> Result<Point> {
    match g {
        Geometry::Point(p) => Ok(*p),
        other => exec_err!("{name} takes points, not {}", kind_name(other)),
    }
}

fn kind_name(g: &Geometry) -> &'static str {
    match g {
        Geometry::Point(_) => "POINT",
        Geometry::Line(_) | Geometry::LineString(_) => "LINESTRING",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "POLYGON",
        Geometry::MultiPoint(_) => "MULTIPOINT",
        Geometry::MultiLineString(_) => "MULTILINESTRING",
        Geometry::MultiPolygon(_) => "MULTIPOLYGON",
        Geometry::GeometryCollection(_) => "GEOMETRYCOLLECTION",
    }
}

impl ScalarUDFImpl for GeoUdf {
    fn name(&self) -> &str {
        self.name
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != self.args.len() {
            return plan_err!(
                "{} takes {} argument(s): {}",
                self.name,
                self.args.len(),
                self.doc.syntax_example
            );
        }
        self.args
            .iter()
            .zip(arg_types)
            .map(|(arg, given)| match (arg, given) {
                (Arg::Number, t) if t.is_numeric() || t.is_null() => Ok(DataType::Float64),
                (
                    Arg::Text,
                    DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null,
                ) => Ok(DataType::Utf8),
                (
                    Arg::Geometry | Arg::Bytes,
                    DataType::Binary
                    | DataType::BinaryView
                    | DataType::LargeBinary
                    | DataType::Null,
                ) => Ok(DataType::Binary),
                (arg, t) => plan_err!("{}: expected a {arg:?} argument, got {t}", self.name),
            })
            .collect()
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.output.clone())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name;
        let rows = rows_to_compute(&args);
        let numbers = |i: usize| -> Result<ArrayRef> {
            Ok(arrow::compute::cast(
                &args.args[i].to_array(rows)?,
                &DataType::Float64,
            )?)
        };
        let result: ArrayRef = match self.kind {
            Kind::Point | Kind::MakeEnvelope => {
                let columns = (0..self.args.len())
                    .map(numbers)
                    .collect::<Result<Vec<_>>>()?;
                let columns: Vec<_> = columns
                    .iter()
                    .map(|c| c.as_primitive::<arrow::datatypes::Float64Type>())
                    .collect();
                let mut out = BinaryBuilder::new();
                for row in 0..rows {
                    if columns.iter().any(|c| c.is_null(row)) {
                        out.append_null();
                        continue;
                    }
                    let v = |i: usize| columns[i].value(row);
                    let geometry = match self.kind {
                        Kind::Point => Geometry::Point(Point::new(v(0), v(1))),
                        _ => Geometry::Polygon(
                            geo::Rect::new(
                                geo::coord! { x: v(0), y: v(1) },
                                geo::coord! { x: v(2), y: v(3) },
                            )
                            .to_polygon(),
                        ),
                    };
                    out.append_value(encode(&geometry)?);
                }
                Arc::new(out.finish())
            }
            Kind::GeomFromText => {
                let text = arrow::compute::cast(&args.args[0].to_array(rows)?, &DataType::Utf8)?;
                let mut out = BinaryBuilder::new();
                for value in text.as_string::<i32>().iter() {
                    match value {
                        None => out.append_null(),
                        Some(wkt) => {
                            let geometry = Geometry::<f64>::try_from_wkt_str(wkt).map_err(|e| {
                                exec_datafusion_err!("{name}: invalid well-known text '{wkt}': {e}")
                            })?;
                            out.append_value(encode(&geometry)?);
                        }
                    }
                }
                Arc::new(out.finish())
            }
            _ => {
                let geoms = self
                    .args
                    .iter()
                    .enumerate()
                    .map(|(i, arg)| match arg {
                        Arg::Geometry | Arg::Bytes => geometries(name, &args.args[i]).map(Some),
                        _ => Ok(None),
                    })
                    .collect::<Result<Vec<_>>>()?;
                let a = |row: usize| geoms[0].as_ref().and_then(|g| g.get(row));
                let b = |row: usize| {
                    geoms
                        .get(1)
                        .and_then(|g| g.as_ref())
                        .and_then(|g| g.get(row))
                };
                match self.kind {
                    Kind::GeomFromWkb | Kind::AsWkb | Kind::Centroid => {
                        let mut out = BinaryBuilder::new();
                        for row in 0..rows {
                            let geometry = match (self.kind, a(row)) {
                                (_, None) => None,
                                (Kind::Centroid, Some(g)) => g.centroid().map(Geometry::Point),
                                (_, Some(g)) => Some(g.clone()),
                            };
                            match geometry {
                                Some(g) => out.append_value(encode(&g)?),
                                None => out.append_null(),
                            }
                        }
                        Arc::new(out.finish())
                    }
                    Kind::AsText => {
                        let mut out = StringBuilder::new();
                        for row in 0..rows {
                            out.append_option(a(row).map(duckdb_wkt));
                        }
                        Arc::new(out.finish())
                    }
                    Kind::X
                    | Kind::Y
                    | Kind::Area
                    | Kind::Distance
                    | Kind::DistanceSphere
                    | Kind::DistanceSpheroid => {
                        let mut out = Float64Builder::with_capacity(rows);
                        for row in 0..rows {
                            let value = match (self.kind, a(row), b(row)) {
                                (Kind::X, Some(g), _) => Some(point_of(name, g)?.x()),
                                (Kind::Y, Some(g), _) => Some(point_of(name, g)?.y()),
                                (Kind::Area, Some(g), _) => Some(g.unsigned_area()),
                                (Kind::Distance, Some(g), Some(h)) => {
                                    Some(Euclidean.distance(g, h))
                                }
                                (Kind::DistanceSpheroid, Some(g), Some(h)) => {
                                    let (p, q) = (point_of(name, g)?, point_of(name, h)?);
                                    Some(Geodesic.distance(
                                        Point::new(p.y(), p.x()),
                                        Point::new(q.y(), q.x()),
                                    ))
                                }
                                (Kind::DistanceSphere, Some(g), Some(h)) => {
                                    let (p, q) = (point_of(name, g)?, point_of(name, h)?);
                                    // (latitude, longitude) in, (longitude, latitude) for geo;
                                    // DuckDB's earth radius.
                                    Some(SPHERE.distance(
                                        Point::new(p.y(), p.x()),
                                        Point::new(q.y(), q.x()),
                                    ))
                                }
                                _ => None,
                            };
                            out.append_option(value);
                        }
                        Arc::new(out.finish())
                    }
                    Kind::Contains | Kind::Within | Kind::Intersects | Kind::DWithin => {
                        let limit = match self.kind {
                            Kind::DWithin => Some(numbers(2)?),
                            _ => None,
                        };
                        let limit = limit
                            .as_ref()
                            .map(|l| l.as_primitive::<arrow::datatypes::Float64Type>());
                        let mut out = BooleanBuilder::with_capacity(rows);
                        for row in 0..rows {
                            let value = match (a(row), b(row)) {
                                (Some(g), Some(h)) => match self.kind {
                                    Kind::Contains => Some(g.contains(h)),
                                    Kind::Within => Some(h.contains(g)),
                                    Kind::Intersects => Some(g.intersects(h)),
                                    _ => {
                                        let limit = limit.expect("DWithin has a limit");
                                        limit
                                            .is_valid(row)
                                            .then(|| Euclidean.distance(g, h) <= limit.value(row))
                                    }
                                },
                                _ => None,
                            };
                            out.append_option(value);
                        }
                        Arc::new(out.finish())
                    }
                    _ => unreachable!("handled above"),
                }
            }
        };
        shaped(&args.args, result)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wkt_is_written_as_duckdb_writes_it() {
        let polygon = Geometry::<f64>::try_from_wkt_str("POLYGON((0 0,10 0,10 10,0 0))").unwrap();
        assert_eq!(duckdb_wkt(&polygon), "POLYGON ((0 0, 10 0, 10 10, 0 0))");
        let point = Geometry::Point(Point::new(1.5, 2.0));
        assert_eq!(duckdb_wkt(&point), "POINT (1.5 2)");
        let round_trip = decode("t", &encode(&polygon).unwrap()).unwrap();
        assert_eq!(round_trip, polygon);
    }
}
