// Everything the service runs on, in one resource group. No secrets: the function app reaches
// storage, Azure SQL and Application Insights as its user-assigned managed identity.
// tests/deploy.test.ts compares the app settings below with the settings the code reads.

param location string
param tags object
param resourceToken string
param principalId string
@allowed(['User', 'ServicePrincipal'])
param principalType string
param principalName string
param backupRetentionDays int
param backupKeepLast int
param softDeleteDays int
param backupSchedule string
param sqlClientIpAddress string
param sqlMaxVCores int
param sqlAutoPauseDelayMinutes int
param instanceMemoryMB int
param maximumInstanceCount int

// The containers the service uses; the app settings name the same ones.
var historicContainerName = 'historic'
var backupContainerName = 'backups'
var deploymentContainerName = 'app-package-${resourceToken}'
// The queue of load work (LOAD_QUEUE) and the one the Functions host moves failed messages to.
var loadQueueName = 'loads'
var sqlDatabaseName = 'csv-to-sql'

// Built-in role definitions (ids are the same in every tenant).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageBlobDataContributor: 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------- identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-func-${resourceToken}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    accessTier: 'Hot'
    allowBlobPublicAccess: false
    // Identity only: no account keys, no SAS signed with them.
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

// A deleted or overwritten blob stays recoverable: soft delete and versioning for blobs, soft
// delete for containers. The service never overwrites a backup; its retention deletes them.
resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    isVersioningEnabled: true
    deleteRetentionPolicy: { enabled: true, days: softDeleteDays }
    containerDeleteRetentionPolicy: { enabled: true, days: softDeleteDays }
  }
}

resource historicContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: historicContainerName
  properties: { publicAccess: 'None' }
}

resource backupContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: backupContainerName
  properties: { publicAccess: 'None' }
}

// Flex Consumption deploys the app's package into this container.
resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: { publicAccess: 'None' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource loadQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: loadQueueName
}

resource loadPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: '${loadQueueName}-poison'
}

// The service prunes its own backups after each timer run (BACKUP_RETENTION_DAYS,
// BACKUP_KEEP_LAST), never the newest ones whatever their age; the lifecycle rule deletes no
// current backup, only the versions that deletions leave behind, backupRetentionDays later.
resource lifecycle 'Microsoft.Storage/storageAccounts/managementPolicies@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    policy: {
      rules: [
        {
          name: 'delete-old-backup-versions'
          enabled: true
          type: 'Lifecycle'
          definition: {
            filters: {
              blobTypes: ['blockBlob']
              prefixMatch: ['${backupContainerName}/']
            }
            actions: {
              version: {
                delete: { daysAfterCreationGreaterThan: backupRetentionDays }
              }
            }
          }
        }
      ]
    }
  }
  dependsOn: [backupContainer]
}

// ---------------------------------------------------------------- monitoring

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Telemetry only with a Microsoft Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING below).
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------- Azure SQL

resource sqlServer 'Microsoft.Sql/servers@2023-08-01' = {
  name: 'sql-${resourceToken}'
  location: location
  tags: tags
  properties: {
    version: '12.0'
    minimalTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    // Microsoft Entra only: no SQL logins, no password anywhere. The deploying principal is the
    // administrator; the post-provision script (infra/scripts/) creates the app identity's user.
    administrators: {
      administratorType: 'ActiveDirectory'
      azureADOnlyAuthentication: true
      login: principalName
      sid: principalId
      tenantId: tenant().tenantId
      principalType: principalType == 'ServicePrincipal' ? 'Application' : 'User'
    }
  }
}

// Serverless General Purpose: scales between 0.5 and sqlMaxVCores vCores, pauses when idle.
resource sqlDatabase 'Microsoft.Sql/servers/databases@2023-08-01' = {
  parent: sqlServer
  name: sqlDatabaseName
  location: location
  tags: tags
  sku: {
    name: 'GP_S_Gen5'
    tier: 'GeneralPurpose'
    family: 'Gen5'
    capacity: sqlMaxVCores
  }
  properties: {
    autoPauseDelay: sqlAutoPauseDelayMinutes
    minCapacity: json('0.5')
    maxSizeBytes: 34359738368 // 32 GiB
    zoneRedundant: false
    requestedBackupStorageRedundancy: 'Local'
  }
}

// 0.0.0.0 to 0.0.0.0 is Azure's convention for "connections from Azure services": Flex
// Consumption without a virtual network has no fixed outbound addresses.
resource sqlAllowAzure 'Microsoft.Sql/servers/firewallRules@2023-08-01' = {
  parent: sqlServer
  name: 'AllowAllWindowsAzureIps'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
}

resource sqlAllowClient 'Microsoft.Sql/servers/firewallRules@2023-08-01' = if (!empty(sqlClientIpAddress)) {
  parent: sqlServer
  name: 'azd-client'
  properties: { startIpAddress: sqlClientIpAddress, endIpAddress: sqlClientIpAddress }
}

// ---------------------------------------------------------------- role assignments

// The Functions host with an identity-based AzureWebJobsStorage: blob (keys, timer leases,
// deployment package; the service's own historic and backup containers) as Blob Data Owner,
// tables for the host's internal use, and the load queues (and only them) for the queue trigger.
resource identityBlobOwner 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource identityLoadQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(loadQueue.id, identity.id, roles.storageQueueDataContributor)
  scope: loadQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource identityLoadPoisonQueueContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(loadPoisonQueue.id, identity.id, roles.storageQueueDataContributor)
  scope: loadPoisonQueue
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource identityTableContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// Telemetry with Microsoft Entra authentication.
resource identityMetricsPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

// The deploying principal uploads historical files (`az storage blob upload --auth-mode login`).
resource deployerBlobContributor 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, principalId, roles.storageBlobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataContributor)
    principalId: principalId
    principalType: principalType
  }
}

// ---------------------------------------------------------------- function app

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-${resourceToken}'
  location: location
  // azd finds the app to deploy the `api` service of azure.yaml to by this tag.
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      appSettings: [
        // Functions host: its own storage, by identity.
        { name: 'AzureWebJobsStorage__accountName', value: storage.name }
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identity.properties.clientId }
        // Functions host: Application Insights, by identity.
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identity.properties.clientId};Authorization=AAD' }
        // The service (shared/config.ts).
        { name: 'HISTORIC_CONTAINER', value: historicContainerName }
        { name: 'BACKUP_CONTAINER', value: backupContainerName }
        { name: 'BACKUP_SCHEDULE', value: backupSchedule }
        { name: 'BACKUP_RETENTION_DAYS', value: string(backupRetentionDays) }
        { name: 'BACKUP_KEEP_LAST', value: string(backupKeepLast) }
        { name: 'LOAD_QUEUE', value: loadQueue.name }
        { name: 'LOAD_WORKER_SECONDS', value: '300' }
        { name: 'LOAD_LEASE_SECONDS', value: '30' }
        { name: 'SQL_SERVER', value: sqlServer.properties.fullyQualifiedDomainName }
        { name: 'SQL_DATABASE', value: sqlDatabase.name }
        { name: 'AZURE_CLIENT_ID', value: identity.properties.clientId }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: { name: 'node', version: '22' }
    }
  }
  // The host needs its storage roles from its first start.
  dependsOn: [
    identityBlobOwner
    identityLoadQueueContributor
    identityLoadPoisonQueueContributor
    identityTableContributor
    identityMetricsPublisher
    deploymentContainer
  ]
}

output functionAppName string = functionApp.name
output functionAppUrl string = 'https://${functionApp.properties.defaultHostName}'
output identityName string = identity.name
output identityClientId string = identity.properties.clientId
output storageAccountName string = storage.name
output historicContainer string = historicContainer.name
output backupContainer string = backupContainer.name
output sqlServerFqdn string = sqlServer.properties.fullyQualifiedDomainName
output sqlServerName string = sqlServer.name
output sqlDatabaseName string = sqlDatabase.name
