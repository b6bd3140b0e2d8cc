"""Failure families of the regulatory report; each message says what failed, where, and what to do."""

from __future__ import annotations


class SourceFileRejected(Exception):
    """A source file was refused; the previous good extract of that day is kept untouched.

    `str(exc)` is the engineer's message (full location, the fix); `spanish()` is the officer's: the file's
    name (never an internal path), row, column and the kind of problem in Spanish."""

    KIND = "el archivo no se pudo leer"

    def __init__(self, file: str, row: int | None, column: str | None, problem: str, action: str):
        self.file, self.row, self.column, self.problem = file, row, column, problem
        where = f"{file}" + (f", row {row}" if row is not None else "") + (f", column {column!r}" if column else "")
        super().__init__(f"{where}: {problem}. {action}")

    def spanish(self) -> str:
        name = self.file.rstrip("/").rsplit("/", 1)[-1]
        where = name + (f", fila {self.row}" if self.row is not None else "") + \
            (f", columna «{self.column}»" if self.column else "")
        return f"{where}: {self.KIND}. Se pidió al remitente un reenvío; se conserva la última versión válida."


class SourceSchemaDrift(SourceFileRejected):
    """The file's columns (names, count, types) are not the ones the registry declares."""

    KIND = "las columnas no son las acordadas (nombre, número o tipo)"


class SourceEncodingError(SourceFileRejected):
    """The bytes are not in the declared encoding (or not a readable file of the declared format)."""

    KIND = "la codificación del texto no es la acordada, o el archivo no es del formato acordado"


class SourceRowError(SourceFileRejected):
    """A row is broken (wrong length or field count) or a value does not parse / fails the schema."""

    KIND = "un renglón está incompleto o un valor no es válido"


class ControlTotalsMismatch(SourceFileRejected):
    """What was read does not add up to the control totals the sender declared."""

    KIND = "los totales de control declarados no cuadran con lo leído"


class SourceMissing(Exception):
    """No file (or no lake partition) for this source and day yet."""


class ReconciliationMismatch(Exception):
    """A report section does not add up to its source, to the cent: delivery is stopped."""

    def __init__(self, differences: list[dict]):
        self.differences = differences
        lines = [
            f"section {d['seccion']!r} vs source {d['fuente']!r} ({d['medida']}): "
            f"report {d['reporte']} vs source {d['fuente_total']} (difference {d['diferencia']})"
            for d in differences
        ]
        super().__init__("Reconciliation failed, report NOT delivered: " + "; ".join(lines))


class CobranzaMismatch(ReconciliationMismatch):
    """The branch-payment section does not equal the warehouse's daily collections (cobranza_diaria_sucursal)."""


class ReportNotDue(Exception):
    """Required sources are missing and the 05:30 cut-off has not passed: no partial delivery yet."""
