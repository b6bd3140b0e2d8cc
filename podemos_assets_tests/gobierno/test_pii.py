"""Mexican PII detection by pattern and masking from the classification: nothing raw survives masking."""

from __future__ import annotations

import duckdb
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from podemos_assets.gobierno.pii import clabe_is_valid, find_pii, mask_frame, mask_relation, masking_view_sql
from podemos_assets_tests.gobierno.fixtures import Clientes

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CONSONANTS = "BCDFGHJKLMNPQRSTVWXYZ"


def with_clabe_digit(d17: str) -> str:
    total = sum((int(d) * w) % 10 for d, w in zip(d17, [3, 7, 1] * 6))
    return d17 + str((10 - total % 10) % 10)


curps = st.builds(
    lambda a, v, bc, yy, mm, dd, sex, state, cons, h, d: f"{a}{v}{bc}{yy:02d}{mm:02d}{dd:02d}{sex}{state}{cons}{h}{d}",
    st.sampled_from(LETTERS), st.sampled_from("AEIOUX"), st.text(LETTERS, min_size=2, max_size=2),
    st.integers(0, 99), st.integers(1, 12), st.integers(1, 28), st.sampled_from("HM"),
    st.sampled_from(["DF", "OC", "YN", "NL", "CS", "NE"]), st.text(CONSONANTS, min_size=3, max_size=3),
    st.sampled_from("0A9Z"), st.integers(0, 9).map(str),
)


@settings(max_examples=200, deadline=None)
@given(curp=curps, prefix=st.sampled_from(["", "CURP: ", "cliente ", "x;"]))
def test_any_valid_curp_is_found_as_curp_and_not_as_rfc(curp, prefix):
    assert find_pii(f"{prefix}{curp} fin") == [("curp", curp)]


@settings(max_examples=200, deadline=None)
@given(st.text("0123456789", min_size=17, max_size=17))
def test_clabe_needs_its_control_digit(d17):
    good = with_clabe_digit(d17)
    bad = good[:17] + str((int(good[17]) + 1) % 10)
    assert clabe_is_valid(good) and not clabe_is_valid(bad)
    assert ("clabe", good) in find_pii(f"cuenta {good}")
    assert not [k for k, _ in find_pii(f"cuenta {bad}") if k == "clabe"]


def test_rfc_phone_and_voter_key_are_found():
    text = "RFC GOMA850312AB1; tel 55 1234 5678 o +52 5512345678 o (33) 1234-5678; INE GMRRMR85031209M100"
    kinds = sorted(k for k, _ in find_pii(text))
    assert kinds == ["clave_elector", "rfc", "telefono", "telefono", "telefono"]


def test_business_values_are_not_taken_for_pii():
    text = (
        "id_pago 123456, monto 1500.50, fecha 2026-11-28, sucursal suc_042, extraccion 2026-11-03|suc_001, "
        "evento 1b4e28ba-2fa1-11d2-883f-001612345678, estatus PAGADO, 2026-11-28T10:00:00Z"
    )
    assert find_pii(text) == []


def planted() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id_cliente": [1, 2],
            "nombre": ["María Gómez Ruiz", "Ana López"],
            "curp": ["GORM850312MDFMZR09", "LOPA900101MOCPXN02"],
            "telefono": ["5512345678", None],
            "fecha_nacimiento": pd.to_datetime(["1985-03-12", "1990-01-01"]),
            "sucursal": ["suc_001", "suc_002"],
        }
    )


def test_mask_frame_leaves_no_raw_pii_and_keeps_the_rest():
    raw = planted()
    masked = mask_frame(Clientes, raw)
    text = masked.to_csv(index=False)
    assert not find_pii(text)
    for value in ("María", "GORM850312MDFMZR09", "5512345678", "1985"):
        assert value not in text
    assert masked["id_cliente"].tolist() == [1, 2] and masked["sucursal"].tolist() == ["suc_001", "suc_002"]
    assert masked["telefono"].isna().tolist() == [False, True]  # a null stays null (no false "has phone")
    assert masked["fecha_nacimiento"].isna().all() and masked.dtypes.equals(raw.dtypes)
    assert find_pii(raw.to_csv(index=False))  # the planted frame did carry PII


def test_masking_view_and_relation_hide_pii_in_duckdb():
    con = duckdb.connect()
    con.register("raw_df", planted())
    con.execute("CREATE TABLE clientes AS SELECT * FROM raw_df")
    con.execute(masking_view_sql(Clientes, "clientes", "clientes_analistas"))
    view_text = con.sql("SELECT * FROM clientes_analistas").df().to_csv(index=False)
    rel_text = mask_relation(con.table("clientes"), Clientes).df().to_csv(index=False)
    for text in (view_text, rel_text):
        assert not find_pii(text) and "María" not in text and "suc_001" in text
    assert con.execute("SELECT count(*) FROM clientes_analistas WHERE curp = '***'").fetchone()[0] == 2
