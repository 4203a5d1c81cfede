"""Upload a benchmark data directory into a bucket of an S3 emulator (keys are the paths relative
to the directory), creating the bucket. Uploads go straight to the emulator, not through the
runner's latency proxy.

usage: s3_upload.py ENDPOINT BUCKET DATA_DIRECTORY TABLE...

Each TABLE's files, under DATA_DIRECTORY/TABLE/, get the keys TABLE/<path under it>."""

import pathlib
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3

endpoint, bucket, directory = sys.argv[1], sys.argv[2], pathlib.Path(sys.argv[3])
tables = sys.argv[4:]
client = boto3.client(
    "s3",
    endpoint_url=endpoint,
    aws_access_key_id="bench",
    aws_secret_access_key="bench",
    region_name="us-east-1",
)
client.create_bucket(Bucket=bucket)
files = [p for t in tables for p in sorted((directory / t).rglob("*")) if p.is_file()]


def put(path):
    client.upload_file(str(path), bucket, path.relative_to(directory).as_posix())
    return path.stat().st_size


with ThreadPoolExecutor(4) as pool:
    total = sum(pool.map(put, files))
print(f"uploaded {len(files)} files, {total} bytes")
