-- The same branch schema for the demo's embedded SQLite branches (see mysql.sql for the meaning).
-- SQLite has no DECIMAL or DATETIME storage: money is kept as TEXT ('1234.50') so it is never a
-- float, and timestamps as TEXT 'YYYY-MM-DD HH:MM:SS[.ffffff]' in branch-local time, exactly what
-- a MySQL DATETIME(0)/DATETIME(6) returns. The reader casts both to the MySQL types.

CREATE TABLE IF NOT EXISTS grupos (
    id          INTEGER NOT NULL PRIMARY KEY,
    nombre      TEXT    NOT NULL,
    sucursal_id TEXT    NOT NULL,
    created_at  TEXT    NOT NULL,
    updated_at  TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_grupos_updated_at ON grupos (updated_at);

CREATE TABLE IF NOT EXISTS clientes (
    id               INTEGER NOT NULL PRIMARY KEY,
    nombre           TEXT    NOT NULL,
    curp             TEXT    NOT NULL,
    rfc              TEXT    NOT NULL,
    telefono         TEXT,
    fecha_nacimiento TEXT    NOT NULL,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_clientes_updated_at ON clientes (updated_at);

CREATE TABLE IF NOT EXISTS miembros (
    grupo_id   INTEGER NOT NULL,
    cliente_id INTEGER NOT NULL,
    updated_at TEXT    NOT NULL,
    PRIMARY KEY (grupo_id, cliente_id)
);
CREATE INDEX IF NOT EXISTS ix_miembros_updated_at ON miembros (updated_at);

CREATE TABLE IF NOT EXISTS cuentas (
    id               INTEGER NOT NULL PRIMARY KEY,
    grupo_id         INTEGER NOT NULL,
    monto            TEXT    NOT NULL,
    saldo            TEXT    NOT NULL,
    estatus          TEXT    NOT NULL,
    fecha_desembolso TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_cuentas_updated_at ON cuentas (updated_at);

CREATE TABLE IF NOT EXISTS calendario_pagos (
    id         INTEGER NOT NULL PRIMARY KEY,
    cuenta_id  INTEGER NOT NULL,
    num_pago   INTEGER NOT NULL,
    monto      TEXT,
    fecha_pago TEXT    NOT NULL,
    estatus    TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_calendario_updated_at ON calendario_pagos (updated_at);

CREATE TABLE IF NOT EXISTS transacciones (
    id         INTEGER NOT NULL PRIMARY KEY,
    cuenta_id  INTEGER NOT NULL,
    cliente_id INTEGER NOT NULL,
    fecha      TEXT    NOT NULL,
    monto      TEXT    NOT NULL,
    canal      TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_transacciones_updated_at ON transacciones (updated_at);
