#!/bin/sh
# azd postprovision hook (azure.yaml): creates the function app identity's database user with its
# roles (create-sql-user.sql), connecting as you, the SQL server's Microsoft Entra administrator.
# Needs go-sqlcmd (https://learn.microsoft.com/sql/tools/sqlcmd/go-sqlcmd-utility) and a
# credential DefaultAzureCredential finds, such as `az login`. Safe to run again.
set -eu

: "${SQL_SERVER:?SQL_SERVER is not set: run this from azd (azd provision), which sets it from the Bicep outputs}"
: "${SQL_DATABASE:?SQL_DATABASE is not set}"
: "${AZURE_FUNCTION_IDENTITY_NAME:?AZURE_FUNCTION_IDENTITY_NAME is not set}"

here=$(cd "$(dirname "$0")" && pwd)
identity=$AZURE_FUNCTION_IDENTITY_NAME
# A user-assigned identity's name: letters, digits, hyphens, underscores. Anything else is refused
# rather than quoted into T-SQL.
case "$identity" in
  *[!A-Za-z0-9_-]*|'') echo "unexpected identity name: $identity" >&2; exit 1 ;;
esac

if ! sqlcmd --version >/dev/null 2>&1; then
  echo "go-sqlcmd is not installed (the older ODBC sqlcmd has no --authentication-method)." >&2
  echo "Install it, then run: azd hooks run postprovision" >&2
  exit 1
fi

attempt=1
while :; do
  if output=$(sqlcmd -S "tcp:$SQL_SERVER,1433" -d "$SQL_DATABASE" \
      --authentication-method ActiveDirectoryDefault -l 60 -b \
      -v "IdentityName=$identity" -i "$here/create-sql-user.sql" 2>&1); then
    [ -n "$output" ] && printf '%s\n' "$output"
    echo "database user $identity: db_datareader, db_datawriter, db_ddladmin"
    exit 0
  fi
  printf '%s\n' "$output" >&2
  ip=$(printf '%s\n' "$output" | sed -n "s/.*Client with IP address '\([0-9.]*\)'.*/\1/p" | head -n 1)
  if [ -n "$ip" ]; then
    # The SQL firewall admits Azure services only. Record this machine's address for the
    # optional firewall rule in infra/resources.bicep, and let the user provision again.
    azd env set SQL_CLIENT_IP_ADDRESS "$ip"
    echo "The SQL firewall does not admit $ip. It is now recorded as SQL_CLIENT_IP_ADDRESS: run 'azd provision' again." >&2
    echo "(Remove the rule later with: azd env set SQL_CLIENT_IP_ADDRESS '' && azd provision)" >&2
    exit 1
  fi
  # 40613: the serverless database is resuming from auto-pause; it takes up to a minute or so.
  if [ "$attempt" -lt 5 ] && printf '%s' "$output" | grep -q '40613'; then
    attempt=$((attempt + 1))
    echo "database not available yet (resuming?); retrying in 20 s" >&2
    sleep 20
    continue
  fi
  exit 1
done
