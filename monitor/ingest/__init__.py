"""Ingest: read prediction logs into clean, validated per-model chunks.

:func:`read_logs` streams record batches from Parquet files or partitioned directories,
CSV (``.csv``, ``.csv.gz``) and JSON Lines (``.jsonl``, ``.ndjson``, ``.json``, each
optionally ``.gz``), never holding more than a few batches in memory. For every batch it

1. finds each row's model through the register's column mappings (models with the same
   mapping are read together; a row whose ``model_id`` is not registered is quarantined
   as ``unknown_model``);
2. converts the contract columns with vectorised Arrow/NumPy code and validates every
   row; a bad row goes to the quarantine file with the *first* failing reason of
   :data:`QUARANTINE_REASONS`;
3. drops valid rows outside the model's reference and current windows (counted as
   ``rows_out_of_window``) and then duplicate ``prediction_id`` values (counted as
   ``rows_duplicate``; the first occurrence wins);
4. joins late labels, and yields one :class:`ModelChunk` per model present.

Every row read is accounted for once:
``rows_read == rows_used + rows_quarantined + rows_duplicate + rows_out_of_window``.

Decisions worth knowing
-----------------------
* **Order of judgement**: validation first (a row that breaks the contract is
  quarantined even when it is older than the windows), then the windows, then
  duplicates. ``error_not_boolean`` ranks after ``latency_negative``; text that is not
  a number in ``quality_score`` is ``quality_score_out_of_range`` (an empty cell is
  "not graded"); an empty ``prediction_id`` counts as missing.
* **Duplicates** are detected per model among rows inside the model's windows only,
  however much old traffic the logs carry, and exactly: a row is dropped only when an
  earlier row of its model has the same id bytes. The seen-set
  (:class:`~monitor.ingest.dedup_exact.ExactSeen`) stays within a memory budget (256 MiB
  by default, ``read_logs(seen=…)``) and spills sorted runs of keys to disk beyond it.
  The same ``prediction_id`` logged by two *different* models is two
  predictions (a shared request id), not a duplicate. Rows that were quarantined or
  fell outside the windows do not claim their id.
* **Timestamps**: Parquet timestamps with a zone are UTC instants; naive ones (Parquet
  without a zone, text without ``Z`` or an offset) are taken as UTC and counted in
  ``naive_timestamps`` (rows used). Text must be ISO 8601: ``YYYY-MM-DD``, optionally
  ``[T ]hh[:mm[:ss[.f…]]]`` and, after a time, ``Z`` or ``±hh[[:]mm]``; zones may differ
  row by row. *Integer* timestamps (integer columns, or text that is only digits) are
  epoch **milliseconds** when they fall in 2000-01-01 … 2100-01-01, and
  ``bad_timestamp`` otherwise: seconds, microseconds and nanoseconds since the epoch
  are refused rather than guessed. Float columns are refused.
* **Booleans** in text accept ``true/false``, ``t/f``, ``yes/no``, ``y/n``, ``1/0`` and
  ``1.0/0.0`` (what pandas writes for a float column), any case. An unreadable
  ``correct`` or ``format_valid`` is null; an unreadable ``error`` is quarantined as
  ``error_not_boolean``, and a null ``error`` means no error.
* **CSV** is read as text and converted here, so one bad cell quarantines one row.
  A CSV feature column is numeric in a chunk when every non-empty cell of that batch is
  a number. Rows with the wrong number of fields are quarantined as ``malformed_line``
  (their ``row_number`` is unknown: the parser allows quoted newlines). A row longer
  than the 4 MB parse block (a huge cell) makes the file be read again with larger
  blocks, up to the register's ``ingest.max_line_bytes`` (64 MiB by default), skipping
  the rows already handed on; a row that does not fit makes the file unreadable.
* **JSON Lines** are parsed in blocks by Arrow; a block that fails is re-parsed line by
  line with :func:`json.loads`, so a broken line is quarantined as ``malformed_line``
  and its neighbours survive. ``row_number`` is the 0-based *line* number.
  A line that names a key twice is ``duplicate_key``; one longer than
  ``ingest.max_line_bytes`` is ``line_too_long`` and is skipped without being held.
* **Text that is not Unicode** (a JSON ``"\\ud800"``, half a surrogate pair; bytes that
  are not UTF-8 in a Parquet string or binary column) quarantines its row as
  ``invalid_text`` (:mod:`.text`); binary Parquet columns are read as UTF-8 text.
* **Limits**: a ``.gz`` file that inflates past ``ingest.max_decompressed_bytes`` (64 GiB
  by default) is unreadable, as is a file with two columns of one name that ingest reads
  (Parquet readers keep the last copy, CSV readers the first: which was meant is
  unknowable).
* **Labels** in the chunks' categories (``output_type``, ``segment``, ``failure_mode``,
  ``prediction``) longer than :data:`MAX_LABEL_CHARS` characters are cut, with a
  ``…[+N chars]`` marker; ``correct`` is judged on the full text before that.
* ``row_json`` in the quarantine holds the cells of the columns ingest reads (contract,
  mapped, label and feature columns), not unrelated columns such as prompt text.
* **Unreadable files** inside a directory are skipped and listed; rows read from such a
  file before it failed (a Parquet file truncated after its first row groups) stay used
  and counted.

Modules, in the order a row meets them: :mod:`.sources` (which files),
:mod:`.readers` (record batches, with the prefetch thread), :mod:`.coerce` (columns as
NumPy), :mod:`.validate` (the contract, row by row), :mod:`.quarantine` (the file of
refused rows), :mod:`.dedup` (id hashes and salts), :mod:`.dedup_exact` (the seen-set),
:mod:`.labels` (the late join), and :mod:`.pipeline`, which runs them for
:func:`read_logs`.

Performance: reading and column conversion run in a background thread (Arrow and NumPy
release the GIL), validation, duplicate look-up and chunk assembly on the caller's
thread; see ``benchmarks/bench_ingest.py``.
"""

from monitor.ingest.accounting import IngestStats
from monitor.ingest.pipeline import read_logs
from monitor.ingest.quarantine import QuarantineWriter
from monitor.ingest.sources import LogFile, list_log_files
from monitor.ingest.validate import QUARANTINE_REASONS, UNATTRIBUTED

__all__ = [
    "QUARANTINE_REASONS",
    "UNATTRIBUTED",
    "IngestStats",
    "LogFile",
    "QuarantineWriter",
    "list_log_files",
    "read_logs",
]
