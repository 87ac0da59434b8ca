// The whole system for `azd up`: a resource group and everything in it (infra/resources.bicep).
// Subscription scope, as azd expects, so the resource group is created too.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; also makes resource names unique.')
param environmentName string

@minLength(1)
@description('Region of every resource. Flex Consumption is not offered in every region: see `az functionapp list-flexconsumption-locations`.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the principal running azd (user or service principal). It becomes the SQL server\'s Microsoft Entra administrator and may upload to the historic container.')
param principalId string

@description('`User` or `ServicePrincipal`, as azd reports it in AZURE_PRINCIPAL_TYPE.')
@allowed(['User', 'ServicePrincipal'])
param principalType string = 'User'

@description('Display name of the SQL administrator (for a user, their sign-in name). Only a label: the object id is what SQL checks. Empty: the object id.')
param principalName string = ''

@description('Days a backup is kept before the service prunes it (the newest backupKeepLast sets are kept whatever their age); the lifecycle rule deletes blob versions this many days after they were written.')
@minValue(1)
param backupRetentionDays int = 30

@description('The newest backup sets the service keeps whatever their age.')
@minValue(1)
param backupKeepLast int = 7

@description('Days a deleted blob or container stays recoverable (soft delete): the window in which a pruned or deleted backup can be brought back.')
@minValue(1)
@maxValue(365)
param softDeleteDays int = 14

@description('NCRONTAB schedule (with seconds, UTC) of the backup timer.')
param backupSchedule string = '0 0 2 * * *'

@description('Optional public IPv4 address allowed through the SQL firewall, for running the post-provision script (and sqlcmd) from your machine. Empty: no such rule.')
param sqlClientIpAddress string = ''

@description('Largest number of vCores the serverless database scales to.')
@allowed([1, 2, 4, 6, 8])
param sqlMaxVCores int = 2

@description('Minutes without connections after which the serverless database pauses (15 minutes at least; -1 never pauses).')
param sqlAutoPauseDelayMinutes int = 60

@description('Memory of each Flex Consumption instance, in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Most Flex Consumption instances the app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

var tags = { 'azd-env-name': environmentName }

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module resources 'resources.bicep' = {
  name: 'resources'
  scope: rg
  params: {
    location: location
    tags: tags
    resourceToken: toLower(uniqueString(subscription().id, environmentName, location))
    principalId: principalId
    principalType: principalType
    principalName: empty(principalName) ? principalId : principalName
    backupRetentionDays: backupRetentionDays
    backupKeepLast: backupKeepLast
    softDeleteDays: softDeleteDays
    backupSchedule: backupSchedule
    sqlClientIpAddress: sqlClientIpAddress
    sqlMaxVCores: sqlMaxVCores
    sqlAutoPauseDelayMinutes: sqlAutoPauseDelayMinutes
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
  }
}

// azd stores these outputs in the environment (.azure/<env>/.env); hooks and `azd env get-values` read them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = resources.outputs.functionAppName
output AZURE_FUNCTION_URL string = resources.outputs.functionAppUrl
output AZURE_FUNCTION_IDENTITY_NAME string = resources.outputs.identityName
output AZURE_FUNCTION_IDENTITY_CLIENT_ID string = resources.outputs.identityClientId
output AZURE_STORAGE_ACCOUNT_NAME string = resources.outputs.storageAccountName
output HISTORIC_CONTAINER string = resources.outputs.historicContainer
output BACKUP_CONTAINER string = resources.outputs.backupContainer
output SQL_SERVER string = resources.outputs.sqlServerFqdn
output SQL_SERVER_NAME string = resources.outputs.sqlServerName
output SQL_DATABASE string = resources.outputs.sqlDatabaseName
