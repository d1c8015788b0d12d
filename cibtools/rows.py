"""Result rows kept one file per writer: written once, never appended to, read back refusing damage.

A `Table` (its columns, the columns that identify a row, the columns that hold numbers) lives in a
folder of CSV files. Each writer creates a file of its own under a temporary name and links it to
its final name, which fails if the file already exists: no two writers ever share a file, a file is
never rewritten, and an interrupted write leaves only a hidden temporary file (`.*.tmp`, ignored).
Values are kept as the text that was written; `read` converts the number columns only after every
file has passed its checks. A reader refuses, naming the file and line: an empty file, a file whose
last line is cut, a header that is not the table's, a row with missing or extra fields or an empty
identifying value, a row naming another shard than its file, and a row present twice (in one file or
in two). The combined table (`view_text`) is generated from the files, sorted by the time each file's
rows were finished (then by file name), which is the order in which they were written.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


class RowsError(ValueError):
    """A rows file is damaged, duplicated or in the wrong place; the message names it and the fix."""


@dataclass(frozen=True)
class Table:
    """One kind of rows: `folder` (under the rows root) holds its files. `key`: the columns that identify a
    row in the whole table. `numbers`: column -> int or float (the others are text). `per_file`: how a file
    is named: `shard` (`<shard>.csv`, one file per shard) or `call` (`<shard>--<tag>.csv`, one file per
    writing call, `tag` derived from the keys of its rows)."""

    name: str
    folder: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    numbers: dict
    per_file: str = "shard"
    order: str = "finished"

    def shard_of(self, path: Path) -> str:
        """The shard a file's name says its rows belong to."""
        return path.stem.split("--")[0] if self.per_file == "call" else path.stem

    def file_name(self, shard: str, keys: list[tuple[str, ...]]) -> str:
        if self.per_file == "shard":
            return f"{shard}.csv"
        tag = hashlib.sha256("\n".join("|".join(k) for k in sorted(keys)).encode()).hexdigest()[:10]
        return f"{shard}--{tag}.csv"


@dataclass(frozen=True)
class TextRows:
    """The rows of one file as text: `rows[i]` is line `first_line + i` of `path`."""

    path: Path
    rows: list[list[str]]
    first_line: int = 2


def parse(table: Table, path: Path, text: str | None = None, shard: str | None = "") -> TextRows:
    """The checked text rows of one file (`text`: its content, if already read). `shard`: the shard every
    row must name ("" : the one the file name says; None: any)."""
    where = f"{path}"
    if text is None:
        try:
            text = path.read_bytes().decode()
        except UnicodeDecodeError as err:
            raise RowsError(f"{where} is not text ({err}): {_fix(path)}") from None
    if not text:
        raise RowsError(f"{where} is empty (its write was cut): {_fix(path)}")
    if not text.endswith("\n"):
        lines = text.count("\n") + 1
        raise RowsError(f"{where} line {lines} is cut (the file does not end with a complete line): {_fix(path)}")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = list(reader)
    except csv.Error as err:
        raise RowsError(f"{where} cannot be read as CSV ({err}): {_fix(path)}") from None
    header = records[0] if records else []
    if header != list(table.columns):
        missing = [c for c in table.columns if c not in header]
        raise RowsError(f"{where} line 1 is not the header of the {table.name} rows"
                        f"{f' (it lacks {missing})' if missing else ''}; the columns are {', '.join(table.columns)}: "
                        f"{_fix(path)}")
    expected = table.shard_of(path) if shard == "" else shard
    key_index = [table.columns.index(k) for k in table.key]
    shard_index = table.columns.index("shard")
    seen: dict[tuple[str, ...], int] = {}
    rows = records[1:]
    if not rows:
        raise RowsError(f"{where} holds a header and no rows: {_fix(path)}")
    for number, row in enumerate(rows, start=2):
        if len(row) != len(table.columns):
            raise RowsError(f"{where} line {number} has {len(row)} fields, not {len(table.columns)} (a cut or "
                            f"hand-edited row): {_fix(path)}")
        empty = [table.key[i] for i, j in enumerate(key_index) if not row[j].strip()]
        if empty:
            raise RowsError(f"{where} line {number} has no value for {', '.join(empty)}: {_fix(path)}")
        if expected is not None and row[shard_index] != expected:
            raise RowsError(f"{where} line {number} names shard {row[shard_index]!r}, but the file holds the rows "
                            f"of {expected!r} only: move that row to its own shard's file, or {_fix(path)}")
        key = tuple(row[j] for j in key_index)
        if key in seen:
            raise RowsError(f"{where} lines {seen[key]} and {number} are the same row of shard {row[shard_index]!r} "
                            f"({', '.join(f'{k}={v}' for k, v in zip(table.key, key))}): a shard's rows are there "
                            f"twice; {_fix(path)}")
        seen[key] = number
    return TextRows(path, rows)


def _fix(path: Path) -> str:
    return (f"restore it with `git checkout -- {path}` if it is committed, otherwise delete it (the shard is then "
            f"run again).")


def files(table: Table, root: Path) -> list[TextRows]:
    """Every file of `table` under `root`, checked, in the order written (see the module docstring);
    also refuses a row present in two files. `root` must exist (its `table.folder` need not)."""
    root = Path(root)
    if not root.is_dir():
        raise RowsError(f"The rows folder {root} does not exist (or is not a folder): give the folder that holds "
                        f"shards/, strong/ and scales/ (default results/paper_settings).")
    folder = root / table.folder
    parsed = [parse(table, p) for p in sorted(folder.glob("*.csv")) if not p.name.startswith(".")]
    order = table.columns.index(table.order)
    parsed.sort(key=lambda f: (f.rows[0][order], f.path.name))
    key_index = [table.columns.index(k) for k in table.key]
    owner: dict[tuple[str, ...], tuple[Path, int]] = {}
    for f in parsed:
        for number, row in enumerate(f.rows, start=2):
            key = tuple(row[j] for j in key_index)
            if key in owner:
                other, line = owner[key]
                raise RowsError(f"The same {table.name} row ({', '.join(f'{k}={v}' for k, v in zip(table.key, key))}) "
                                f"is in {other} line {line} and in {f.path} line {number}: a row present twice would "
                                f"count twice. Delete the file that should not be there.")
            owner[key] = (f.path, number)
    return parsed


def to_frame(table: Table, parsed: list[TextRows]) -> pd.DataFrame:
    """The rows of checked files as one frame: text columns as text, `table.numbers` as numbers."""
    text = [row for f in parsed for row in f.rows]
    frame = pd.DataFrame(text, columns=list(table.columns), dtype=str) if text else pd.DataFrame(
        {c: pd.Series(dtype=str) for c in table.columns})
    for column, kind in table.numbers.items():
        values = frame[column]
        try:
            if kind is int and not (values == "").any():
                frame[column] = values.astype("int64")
            else:
                frame[column] = values.replace("", "nan").astype(float)
        except ValueError:
            bad = next((f, n, r) for f in parsed for n, r in enumerate(f.rows, start=2)
                       if not _is_number(r[table.columns.index(column)], kind))
            raise RowsError(f"{bad[0].path} line {bad[1]}: {column} is {bad[2][table.columns.index(column)]!r}, not "
                            f"{'an integer' if kind is int else 'a number'}: {_fix(bad[0].path)}") from None
    return frame


def _is_number(value: str, kind) -> bool:
    try:
        kind(value) if value or kind is int else None
        return True
    except ValueError:
        return False


def read(table: Table, root: Path) -> pd.DataFrame:
    """Every row of `table` under `root`, checked (see `files`), as one frame in the order written."""
    return to_frame(table, files(table, root))


def view_text(table: Table, root: Path) -> str:
    """The combined CSV of every file (header once), in the order written: the generated view."""
    return _csv_text(table.columns, [row for f in files(table, root) for row in f.rows])


def _csv_text(header, rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def write_once(table: Table, root: Path, shard: str, rows: list[list[str]]) -> Path | None:
    """Create the file of `rows` (text, in `table.columns` order, all of `shard`): checked, written under a
    temporary name and linked to its final name; None (nothing written) if that file already exists."""
    folder = Path(root) / table.folder
    folder.mkdir(parents=True, exist_ok=True)
    key_index = [table.columns.index(k) for k in table.key]
    target = folder / table.file_name(shard, [tuple(r[j] for j in key_index) for r in rows])
    text = _csv_text(table.columns, rows)
    parse(table, target, text)  # what is written can be read back
    if target.exists():
        return None
    tmp = folder / f".{target.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp"
    try:
        with open(tmp, "w", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(tmp, target)  # fails if another writer created it first
        except FileExistsError:
            return None
        except OSError:  # a file system without hard links: rename (the check above makes a clash unlikely)
            if target.exists():
                return None
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def frame_text(table: Table, frame: pd.DataFrame) -> list[list[str]]:
    """`frame`'s `table.columns` as the text `DataFrame.to_csv` writes (the format of every rows file)."""
    text = frame[list(table.columns)].to_csv(index=False, lineterminator="\n")
    return list(csv.reader(io.StringIO(text, newline="")))[1:]


def import_rows(table: Table, old: Path, root: Path, shards: set[str] | None = None,
                write: bool = True) -> tuple[list[str], list[str]]:
    """Move the rows of an old shared file (`old`, one CSV of `table`'s columns for many shards) into `table`'s
    files under `root`: (files written, shards already present with the same rows). Rows already present
    (same key, same text) are skipped; a row present with another text, or a damaged `old`, raises before
    anything is written. `shards`: the known shard names (a row of another name is refused). `write=False`:
    only the checks, and the names of the files that would be written."""
    parsed = parse(table, Path(old), shard=None)
    at = table.columns.index("shard")
    if shards is not None:
        unknown = sorted({r[at] for r in parsed.rows} - shards)
        if unknown:
            raise RowsError(f"{old} names unknown shards {', '.join(unknown)}; `status --all` lists the names.")
    key_index = [table.columns.index(k) for k in table.key]
    present = {tuple(r[j] for j in key_index): (f.path, r) for f in files(table, root) for r in f.rows}
    conflicts, groups, same = [], {}, set()
    group_by = [at] + ([table.columns.index(table.order)] if table.per_file == "call" else [])
    for number, row in enumerate(parsed.rows, start=2):
        key = tuple(row[j] for j in key_index)
        if key in present:
            if present[key][1] != row:
                conflicts.append(f"{old} line {number} (shard {row[at]}) differs from the row in {present[key][0]}")
            else:
                same.add(row[at])
            continue
        groups.setdefault(tuple(row[j] for j in group_by), []).append(row)
    if table.per_file == "shard":
        partly = sorted({g[0] for g in groups} & same)
        conflicts += [f"{old}: shard {s} is partly present in {Path(root) / table.folder / (s + '.csv')}" for s in partly]
    if conflicts:
        raise RowsError("Nothing was imported: " + "; ".join(conflicts) + ". A shard's rows are written once: "
                        "compare the two and delete the one that is wrong.")
    written = []
    for group, rows in groups.items():
        if not write:
            written.append(group[0])
            continue
        path = write_once(table, root, group[0], rows)
        if path is None:
            raise RowsError(f"{Path(root) / table.folder} gained a file for {group[0]} while importing: run the "
                            f"import again.")
        written.append(str(path))
    return written, sorted(same - {g[0] for g in groups})
