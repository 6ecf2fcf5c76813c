"""`python -m infra.local` (what `make run` does): the local stack on PORT (3000), seeded."""

from infra.local.stack import main

main()
