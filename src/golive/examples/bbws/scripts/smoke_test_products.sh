#!/bin/sh
# The runbook's smoke_test_products.sh ENV: see smoke_test.sh.
exec "$(dirname "$0")/smoke_test.sh" products "$@"
