"""The benchmark (`python -m infra.bench`, what `make bench` runs); see __main__.py for what it measures."""
