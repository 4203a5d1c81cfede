"""Strata from SQLAlchemy and pandas, through flightsql-dbapi (the driver Superset uses).

    pip install flightsql-dbapi "SQLAlchemy<2" pandas
    strata serve
    python examples/python/sqlalchemy_pandas.py datafusion://127.0.0.1:50051?insecure=True

The URL names the Flight SQL endpoint; add `user:password@` before the host when the server
has users.
"""

import sys

import pandas as pd
from sqlalchemy import create_engine, inspect, text


def main(url):
    engine = create_engine(url)
    # Schema browsing, as BI tools do it.
    inspector = inspect(engine)
    print("tables:", inspector.get_table_names())
    print("trips columns:", [c["name"] for c in inspector.get_columns("trips")])
    # A query into a DataFrame (pandas 3 reads SQLAlchemy 2 engines directly; with the
    # SQLAlchemy 1.4 that flightsql-dbapi needs, build the frame from the result).
    with engine.connect() as conn:
        result = conn.execute(
            text(
                """SELECT city, count(*) AS trips,
                          avg(ST_Distance_Sphere(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon))) AS avg_metres
                   FROM trips GROUP BY city ORDER BY trips DESC"""
            )
        )
        frame = pd.DataFrame(result.fetchall(), columns=list(result.keys()))
    print(frame)


if __name__ == "__main__":
    main(sys.argv[1])
