#!/bin/sh
# Smoke test of one API: its health endpoint must enforce auth (401/403), as the runbook expects.
# usage: smoke_test.sh API ENV API_BASE   (API: products, orders, campaigns)
set -eu
api="${1:?usage: $0 API ENV API_BASE}"
env_name="${2:?usage: $0 API ENV API_BASE}"
api_base="${3:?usage: $0 API ENV API_BASE}"
status=$(python3 -c 'import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print("000")' "$api_base/$api/health")
case "$status" in
  401|403) echo "$env_name $api: auth enforced ($status)"; exit 0 ;;
  200) echo "$env_name $api: health answered 200 without auth"; exit 1 ;;
  *) echo "$env_name $api: health answered $status"; exit 1 ;;
esac
