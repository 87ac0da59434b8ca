# azd postprovision hook on Windows (azure.yaml): the same as create-sql-user.sh.
# Needs go-sqlcmd and a credential DefaultAzureCredential finds, such as `az login`.
$ErrorActionPreference = 'Stop'

foreach ($name in 'SQL_SERVER', 'SQL_DATABASE', 'AZURE_FUNCTION_IDENTITY_NAME') {
  if (-not [Environment]::GetEnvironmentVariable($name)) { throw "$name is not set: run this from azd (azd provision)" }
}
$identity = $env:AZURE_FUNCTION_IDENTITY_NAME
if ($identity -notmatch '^[A-Za-z0-9_-]+$') { throw "unexpected identity name: $identity" }

& sqlcmd --version *> $null
if ($LASTEXITCODE -ne 0) {
  throw 'go-sqlcmd is not installed (the older ODBC sqlcmd has no --authentication-method). Install it, then run: azd hooks run postprovision'
}

$script = Join-Path $PSScriptRoot 'create-sql-user.sql'
for ($attempt = 1; ; $attempt++) {
  $output = & sqlcmd -S "tcp:$($env:SQL_SERVER),1433" -d $env:SQL_DATABASE `
    --authentication-method ActiveDirectoryDefault -l 60 -b `
    -v "IdentityName=$identity" -i $script 2>&1 | Out-String
  if ($LASTEXITCODE -eq 0) {
    if ($output.Trim()) { Write-Host $output.Trim() }
    Write-Host "database user ${identity}: db_datareader, db_datawriter, db_ddladmin"
    exit 0
  }
  Write-Host $output
  if ($output -match "Client with IP address '([0-9.]+)'") {
    $ip = $Matches[1]
    azd env set SQL_CLIENT_IP_ADDRESS $ip
    throw "The SQL firewall does not admit $ip. It is now recorded as SQL_CLIENT_IP_ADDRESS: run 'azd provision' again."
  }
  if ($attempt -lt 5 -and $output -match '40613') {
    Write-Host 'database not available yet (resuming?); retrying in 20 s'
    Start-Sleep -Seconds 20
    continue
  }
  exit 1
}
