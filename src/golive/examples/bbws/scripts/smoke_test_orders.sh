#!/bin/sh
# Smoke test of the orders API: its health endpoint must enforce auth (401/403), as the runbook expects.
# usage: smoke_test_orders.sh ENV API_BASE
set -eu
env_name="${1:?usage: $0 ENV API_BASE}"
api_base="${2:?usage: $0 ENV API_BASE}"
status=$(python3 -c 'import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception as e:
    print("000")' "$api_base/orders/health")
case "$status" in
  401|403) echo "$env_name orders: auth enforced ($status)"; exit 0 ;;
  200) echo "$env_name orders: health answered 200 without auth"; exit 1 ;;
  *) echo "$env_name orders: health answered $status"; exit 1 ;;
esac
