#!/usr/bin/env python3
"""Regenerate cli/symbol-order.txt.gz: the functions on the pages of code a fresh `strata`
process runs, which the release build's linker places together at the front of the binary's
code (cli/build.rs).

Why: the release binary has ~140 MB of machine code, and a fresh process (a CI job, a script)
touches ~30 MB of it spread over the whole range. Every page it faults in brings the disk's
readahead window around it (8 MiB here), so a cold `strata query` read ~170 MB of its own
binary before this, and ~100 MB with those functions packed together (docs/performance.md,
"Function order").

How: with the disk's readahead turned off and the page cache dropped, the workload below runs
(every query of the benchmark suites as its own `strata query` process, a server answering a
few queries over Flight SQL, writes), the page cache dropped before each step; the binary's
pages in the page cache after a step are exactly those it touched (mincore). Every function
overlapping a touched page is written (so some that only share a page with running code),
those more steps touched first: what every process runs (start-up, catalog, planning, the
Parquet scan) comes to the very front.

Run as root (readahead, drop_caches) on an otherwise idle machine (pages another running
strata maps cannot be dropped) after a release build, with the runner's lakes in
benches/data (run `strata-bench run logs|trips|tpch --scale 1` once):

    cargo build --release -p strata-cli
    sudo scripts/symbol_order.py            # writes cli/symbol-order.txt.gz
    cargo build --release -p strata-cli     # relinks with it

Names the linker no longer finds are skipped silently: functions renamed or edited (names
with an `.llvm.<hash>` suffix, 14% of them, change with edits), and after a toolchain update
or new dependency versions nearly all of them, since every crate's disambiguator changes.
Regenerate after such an update, and now and then after large changes.
"""

import argparse
import ctypes
import gzip
import mmap
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SUITES = {"tpch": ["customer", "lineitem", "nation", "orders", "part", "partsupp", "region",
                   "supplier"],
          "logs": ["hits"], "trips": ["trips"]}


def resident_pages(path):
    """Indexes of the file's 4 KiB pages in the page cache."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            sys.exit(f"mmap of {path} failed: {os.strerror(ctypes.get_errno())}")
        try:
            pages = (size + 4095) // 4096
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) != 0:
                sys.exit(f"mincore failed: {os.strerror(ctypes.get_errno())}")
            return {i for i in range(pages) if vec[i] & 1}
        finally:
            libc.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(size))
    finally:
        os.close(fd)


def readahead_file(path):
    """The sysfs readahead setting of the block device holding `path`."""
    dev = os.stat(path).st_dev
    base = Path(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    for candidate in (base / "queue/read_ahead_kb", base / "../queue/read_ahead_kb"):
        if candidate.exists():
            return candidate.resolve()
    sys.exit(f"no read_ahead_kb for the device of {path} (under {base}): this script needs "
             "a file system on a block device (not btrfs, overlayfs, ZFS or tmpfs)")


def drop_caches():
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def workload(strata, data, work):
    """What fresh processes commonly do, as steps (each one or a few processes) whose touched
    pages are recorded separately."""

    def run(*args):
        done = subprocess.run([str(strata), *args], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, cwd=work)
        if done.returncode != 0:
            sys.exit(f"strata {' '.join(args)} failed: {done.stderr.decode().strip()}")

    catalogs = {}
    for suite, tables in SUITES.items():
        lake = data / f"{suite}-1"
        catalog = f"sqlite:{work}/{suite}.db"
        catalogs[suite] = catalog
        yield lambda c=catalog, ts=tables, l=lake: [
            run("--catalog", c, "table", "register", t, "--location", f"{l / t}/") for t in ts]
        queries = sorted((ROOT / "benches/queries" / suite).glob("*.sql"))
        for query in queries:
            yield lambda c=catalog, q=query: run(
                "--catalog", c, "query", "--format", "csv", "--output", "/dev/null",
                "--no-result-cache", "-f", str(q))
        # The default table format, the statistics a script reads, EXPLAIN.
        yield lambda c=catalog, q=queries[0]: run("--catalog", c, "query", "--stats", "json",
                                                  "-f", str(q))
        yield lambda c=catalog, q=queries[0]: run(
            "--catalog", c, "query", "EXPLAIN " + q.read_text().strip().rstrip(";"))
    yield lambda: serve(strata, catalogs["trips"], work, run)
    # Writes on a fresh catalog.
    writes = f"sqlite:{work}/writes.db"
    yield lambda: run(
        "--catalog", writes, "--data-path", f"{work}/files", "query",
        "CREATE TABLE t (id BIGINT, name VARCHAR, at TIMESTAMP); "
        "INSERT INTO t VALUES (1, 'a', TIMESTAMP '2026-01-01 10:00:00'), (2, 'b', NULL); "
        "INSERT INTO t SELECT id + 10, name, at FROM t; SELECT * FROM t ORDER BY id")
    yield lambda: run("--catalog", writes, "table", "list")
    yield lambda: run("--catalog", writes, "compact", "t")


def serve(strata, catalog, work, run):
    """A server answering over Flight SQL (the CLI as its client), as the runner starts one."""
    server = subprocess.Popen(
        [str(strata), "--catalog", catalog, "serve", "--listen", "127.0.0.1:0",
         "--retention-every", "off", "--exit-with-parent"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=work)
    try:
        line = server.stdout.readline().decode()
        url = next((w for w in line.split() if w.startswith("grpc://")), None)
        if url is None:
            sys.exit(f"strata serve did not start: {line}")
        for query in sorted((ROOT / "benches/queries/trips").glob("*.sql")):
            run("--server", url, "query", "--format", "csv", "--output", "/dev/null", "-f",
                str(query))
        run("--server", url, "table", "list")
    finally:
        server.kill()
        server.wait()


def text_section(binary):
    out = subprocess.run(["readelf", "-SW", str(binary)], capture_output=True, text=True,
                         check=True).stdout
    m = re.search(r"\]\s+\.text\s+PROGBITS\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", out)
    if m is None:
        sys.exit(f"no .text section in {binary}")
    return tuple(int(x, 16) for x in m.groups())


def touched_functions(binary, steps):
    """Names of the functions overlapping a page some step touched: those more steps touched
    first (the start-up and common query path together at the very front), then in address
    order."""
    addr0, off0, size = text_section(binary)
    nm = subprocess.run(["nm", "-S", str(binary)], capture_output=True, text=True,
                        check=True).stdout
    counts = {}
    for pages in steps:
        for page in pages:
            counts[page] = counts.get(page, 0) + 1
    found = []
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2] not in "tTW":
            continue
        addr, length = int(parts[0], 16), int(parts[1], 16)
        if length == 0 or not addr0 <= addr < addr0 + size:
            continue
        offset = addr - addr0 + off0
        hits = max(counts.get(p, 0) for p in range(offset // 4096,
                                                  (offset + length - 1) // 4096 + 1))
        if hits:
            found.append((-hits, addr, parts[3]))
    found.sort()
    names, seen = [], set()
    for _, _, name in found:
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def main():
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strata", type=Path, default=target / "release/strata")
    parser.add_argument("--data", type=Path, default=ROOT / "benches/data")
    parser.add_argument("--out", type=Path, default=ROOT / "cli/symbol-order.txt.gz")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: readahead is turned off and the page cache dropped meanwhile")
    strata = args.strata.resolve()
    if not strata.is_file():
        sys.exit(f"{strata} is missing: cargo build --release -p strata-cli first")
    for suite in SUITES:
        lake = args.data.resolve() / f"{suite}-1"
        if not lake.is_dir() or not any((ROOT / "benches/queries" / suite).glob("*.sql")):
            sys.exit(f"{lake} is missing: run `strata-bench run {suite} --scale 1` once first")
    # SIGTERM and SIGHUP end the script through the `finally` that restores readahead.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda *_: sys.exit("interrupted"))
    setting = readahead_file(strata)
    before = setting.read_text().strip()
    print(f"{setting}: {before} KiB, set to 0 while the workload runs")
    started = time.time()
    with tempfile.TemporaryDirectory() as work:
        try:
            setting.write_text("0\n")
            steps = []
            for step in workload(strata, args.data.resolve(), Path(work)):
                drop_caches()
                step()
                steps.append(resident_pages(strata))
        finally:
            setting.write_text(before + "\n")
    names = touched_functions(strata, steps)
    pages = set().union(*steps)
    # No name or time in the gzip header: the same functions give the same file.
    with open(args.out, "wb") as raw, gzip.GzipFile(filename="", fileobj=raw, mode="wb",
                                                    compresslevel=9, mtime=0) as f:
        f.write("".join(n + "\n" for n in names).encode())
    print(f"{len(steps)} steps touched {len(pages)} pages of {strata}; {len(names)} "
          f"functions written to {args.out} in {time.time() - started:.0f} s")


if __name__ == "__main__":
    main()
