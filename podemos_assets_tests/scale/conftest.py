"""Markers of the scale tests (registered here until pytest.ini lists them)."""


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: starts a private PostgreSQL 15 server (Debian package postgresql)")
    config.addinivalue_line("markers", "s3: runs against moto's S3 server on loopback (an emulator, not AWS)")
