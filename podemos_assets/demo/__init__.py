"""The demo: a seeded generator of realistic fake data and a runner that materializes the platform.

Production code never imports this package.
"""
