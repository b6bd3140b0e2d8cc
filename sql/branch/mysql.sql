-- Schema of one branch database (MySQL / MariaDB), the same at all 200 branches (DESIGN.md §1).
-- Money is DECIMAL(15,2). `updated_at` is maintained by the branch application in the branch's local
-- time; its fractional precision is 0 at most branches and 6 at some, so extraction handles both:
-- this file uses DATETIME(0); tests create the DATETIME(6) variant by replacing the precision.

CREATE TABLE IF NOT EXISTS grupos (
    id          BIGINT       NOT NULL PRIMARY KEY,
    nombre      VARCHAR(120) NOT NULL,
    sucursal_id VARCHAR(16)  NOT NULL,
    created_at  DATETIME(0)  NOT NULL,
    updated_at  DATETIME(0)  NOT NULL,
    KEY ix_grupos_updated_at (updated_at)
);

CREATE TABLE IF NOT EXISTS clientes (
    id               BIGINT       NOT NULL PRIMARY KEY,
    nombre           VARCHAR(160) NOT NULL,
    curp             CHAR(18)     NOT NULL,
    rfc              VARCHAR(13)  NOT NULL,
    telefono         VARCHAR(15),
    fecha_nacimiento DATE         NOT NULL,
    created_at       DATETIME(0)  NOT NULL,
    updated_at       DATETIME(0)  NOT NULL,
    KEY ix_clientes_updated_at (updated_at)
);

CREATE TABLE IF NOT EXISTS miembros (
    grupo_id   BIGINT      NOT NULL,
    cliente_id BIGINT      NOT NULL,
    updated_at DATETIME(0) NOT NULL,
    PRIMARY KEY (grupo_id, cliente_id),
    KEY ix_miembros_updated_at (updated_at)
);

CREATE TABLE IF NOT EXISTS cuentas (
    id               BIGINT        NOT NULL PRIMARY KEY,
    grupo_id         BIGINT        NOT NULL,
    monto            DECIMAL(15,2) NOT NULL,
    saldo            DECIMAL(15,2) NOT NULL,
    estatus          VARCHAR(10)   NOT NULL,  -- ACTIVA, CERRADA, CASTIGADA
    fecha_desembolso DATE          NOT NULL,
    updated_at       DATETIME(0)   NOT NULL,
    KEY ix_cuentas_updated_at (updated_at)
);

CREATE TABLE IF NOT EXISTS calendario_pagos (
    id         BIGINT        NOT NULL PRIMARY KEY,
    cuenta_id  BIGINT        NOT NULL,
    num_pago   INT           NOT NULL,
    monto      DECIMAL(15,2),            -- nullable: a branch-app bug writes NULL, the ETL quarantines it
    fecha_pago DATE          NOT NULL,
    estatus    VARCHAR(10)   NOT NULL,  -- PENDIENTE, PAGADO, ATRASADO, PARCIAL
    updated_at DATETIME(0)   NOT NULL,
    KEY ix_calendario_updated_at (updated_at)
);

CREATE TABLE IF NOT EXISTS transacciones (
    id         BIGINT        NOT NULL PRIMARY KEY,
    cuenta_id  BIGINT        NOT NULL,
    cliente_id BIGINT        NOT NULL,  -- the member who paid
    fecha      DATETIME(0)   NOT NULL,
    monto      DECIMAL(15,2) NOT NULL,  -- negative = reversal
    canal      VARCHAR(20)   NOT NULL,
    updated_at DATETIME(0)   NOT NULL,
    KEY ix_transacciones_updated_at (updated_at)
);
