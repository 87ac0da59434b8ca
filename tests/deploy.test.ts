/**
 * The deployment files, checked without Azure, Docker or a Bicep compiler (none runs here): the
 * Bicep app settings against the settings the code reads (shared/config.ts), the samples and the
 * README against the same list, azure.yaml and host.json against the rules of their JSON schemas
 * (written out below: no copy of either schema is available offline), the Dockerfile and the
 * .funcignore'd package against the repository (both are compiled here with tsc, from exactly the
 * files they would ship), the workflows, and the post-provision script with stand-ins for
 * sqlcmd and azd.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { readConfig, SETTING_DEFAULTS, SETTINGS } from '../shared/config';

const ROOT = path.resolve(__dirname, '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');
const readJson = (file: string): any => JSON.parse(read(file));
const readYaml = (file: string): any => parseYaml(read(file));

/**
 * Settings the code reads that the Bicep intentionally leaves unset on Azure, each with why. A
 * setting must be either set by the Bicep or listed here, never both; an entry that is no longer in
 * SETTINGS fails too, so this list cannot go stale.
 */
const NOT_SET_ON_AZURE: Record<string, string> = {
  DATA_DIR: 'the embedded SQLite folder; on Azure SQL_SERVER and SQL_DATABASE select Azure SQL',
  AzureWebJobsStorage:
    'a connection string needs the account key, and the account has shared-key access disabled; Azure uses AzureWebJobsStorage__accountName with the identity',
  AzureWebJobsStorage__blobServiceUri: 'an alternative to AzureWebJobsStorage__accountName (which the Bicep sets)',
  AzureWebJobsStorage__queueServiceUri: 'as AzureWebJobsStorage__blobServiceUri, for the queues',
  BACKUP_STORAGE: "backups go to the app's own storage account; a separate account is optional",
  BACKUP_STORAGE__blobServiceUri: 'as BACKUP_STORAGE: optional separate backup account',
  BACKUP_STORAGE__accountName: 'as BACKUP_STORAGE: optional separate backup account',
  BACKUP_STORAGE__clientId: 'as BACKUP_STORAGE: optional separate backup account',
  SQL_CONNECTION: 'the connection-string alternative to SQL_SERVER + SQL_DATABASE; it would carry a password',
};

/** App settings in the Bicep that only the Functions host reads, not the service's code. */
const HOST_ONLY_SETTINGS = new Set([
  'AzureWebJobsStorage__credential',
  'APPLICATIONINSIGHTS_CONNECTION_STRING',
  'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
]);

/** App settings Flex Consumption rejects or replaces with functionAppConfig (runtime, deployment). */
const FLEX_UNSUPPORTED_SETTINGS = [
  'FUNCTIONS_WORKER_RUNTIME',
  'FUNCTIONS_EXTENSION_VERSION',
  'WEBSITE_NODE_DEFAULT_VERSION',
  'WEBSITE_RUN_FROM_PACKAGE',
  'WEBSITE_CONTENTAZUREFILECONNECTIONSTRING',
  'WEBSITE_CONTENTSHARE',
];

// ------------------------------------------------------------------ a small Bicep reader

/**
 * Bicep text with comments blanked (same length, so offsets hold), and for each character whether
 * it is code (not inside a string, an interpolation or a comment).
 */
function scanBicep(src: string): { text: string; code: boolean[] } {
  const text = src.split('');
  const code = new Array<boolean>(src.length).fill(false);
  type Frame = { kind: 'code' } | { kind: 'str' } | { kind: 'interp'; depth: number };
  const stack: Frame[] = [{ kind: 'code' }];
  let i = 0;
  while (i < src.length) {
    const top = stack[stack.length - 1];
    const c = src[i];
    if (top.kind === 'str') {
      if (c === '\\') i += 2;
      else if (c === "'") {
        stack.pop();
        i += 1;
      } else if (src.startsWith('${', i)) {
        stack.push({ kind: 'interp', depth: 0 });
        i += 2;
      } else i += 1;
      continue;
    }
    // code, or code inside an interpolation (not counted as the outer structure's code)
    if (src.startsWith('//', i)) {
      while (i < src.length && src[i] !== '\n') text[i++] = ' ';
      continue;
    }
    if (src.startsWith('/*', i)) {
      const end = src.indexOf('*/', i + 2);
      const stop = end < 0 ? src.length : end + 2;
      for (; i < stop; i++) if (src[i] !== '\n') text[i] = ' ';
      continue;
    }
    if (src.startsWith("'''", i)) {
      const end = src.indexOf("'''", i + 3);
      i = end < 0 ? src.length : end + 3;
      continue;
    }
    if (c === "'") {
      stack.push({ kind: 'str' });
      i += 1;
      continue;
    }
    if (top.kind === 'interp') {
      if (c === '{') top.depth += 1;
      else if (c === '}') {
        if (top.depth === 0) stack.pop();
        else top.depth -= 1;
      }
      i += 1;
      continue;
    }
    code[i] = true;
    i += 1;
  }
  return { text: text.join(''), code };
}

/** The inner text of the bracketed block opening at `open` (a `{` or `[` in code). */
function blockAt(scan: { text: string; code: boolean[] }, open: number): string {
  const pairs: Record<string, string> = { '{': '}', '[': ']', '(': ')' };
  const expected: string[] = [];
  for (let i = open; i < scan.text.length; i++) {
    if (!scan.code[i]) continue;
    const c = scan.text[i];
    if (pairs[c]) expected.push(pairs[c]);
    else if (c === '}' || c === ']' || c === ')') {
      if (expected.pop() !== c) throw new Error(`unbalanced ${c} at offset ${i}`);
      if (expected.length === 0) return scan.text.slice(open + 1, i);
    }
  }
  throw new Error(`no closing bracket for offset ${open}`);
}

/** The block that follows the first code match of `pattern` (which must end just before `{` or `[`). */
function blockAfter(src: string, pattern: RegExp): string {
  const scan = scanBicep(src);
  const re = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
  // Comments are blanked, so a match is never in one (a match inside a string is possible, and
  // is how resource types like 'Microsoft.Web/sites@…' are found).
  for (const m of scan.text.matchAll(re)) {
    let open = m.index + m[0].length;
    while (/\s/.test(scan.text[open])) open++;
    if (scan.text[open] !== '{' && scan.text[open] !== '[') throw new Error(`${pattern} is not followed by a block`);
    return blockAt(scan, open);
  }
  throw new Error(`${pattern} not found`);
}

/** The objects `{ … }` directly inside an array block's text. */
function objectsIn(arrayInner: string): string[] {
  const scan = scanBicep(arrayInner);
  const objects: string[] = [];
  for (let i = 0; i < scan.text.length; i++) {
    if (scan.code[i] && scan.text[i] === '{') {
      const inner = blockAt(scan, i);
      objects.push(inner);
      i += inner.length + 1;
    }
  }
  return objects;
}

/** The keys at the top level of an object block's text (`key: value`, one per line or comma-separated). */
function topLevelKeys(objectInner: string): string[] {
  const scan = scanBicep(objectInner);
  const keys: string[] = [];
  let depth = 0;
  let segmentStart = 0;
  const flush = (end: number) => {
    const m = /^\s*([A-Za-z_]\w*|'[^']*')\s*:/.exec(scan.text.slice(segmentStart, end));
    if (m) keys.push(m[1].replace(/^'|'$/g, ''));
  };
  for (let i = 0; i < scan.text.length; i++) {
    if (!scan.code[i]) continue;
    const c = scan.text[i];
    if ('{[('.includes(c)) depth++;
    else if ('}])'.includes(c)) depth--;
    else if (depth === 0 && (c === '\n' || c === ',')) {
      flush(i);
      segmentStart = i + 1;
    }
  }
  flush(scan.text.length);
  return keys;
}

/** `name` → value expression (source text) of each entry of a siteConfig.appSettings array. */
function appSettingsOf(bicep: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const entry of objectsIn(blockAfter(bicep, /\bappSettings\s*:/))) {
    const name = /\bname\s*:\s*'([^']+)'/.exec(entry)?.[1];
    const value = /\bvalue\s*:\s*([\s\S]+?)\s*$/.exec(entry)?.[1];
    if (!name || !value) throw new Error(`app setting entry without a literal name or a value: {${entry}}`);
    if (settings.has(name)) throw new Error(`app setting ${name} is set twice`);
    settings.set(name, value.replace(/,$/, ''));
  }
  return settings;
}

interface BicepParam {
  readonly type: string;
  readonly defaultValue: string | undefined;
}

function paramsOf(bicep: string): Map<string, BicepParam> {
  const { text } = scanBicep(bicep);
  const params = new Map<string, BicepParam>();
  for (const m of text.matchAll(/^param\s+(\w+)\s+(\w+)(?:\s*=\s*(.+?))?\s*$/gm)) params.set(m[1], { type: m[2], defaultValue: m[3] });
  return params;
}

/** The value of `var name = '<literal>'`. */
function literalVar(bicep: string, name: string): string | undefined {
  return new RegExp(`^var\\s+${name}\\s*=\\s*'([^'$\\\\]*)'\\s*$`, 'm').exec(scanBicep(bicep).text)?.[1];
}

function listFiles(dir: string, ext: string): string[] {
  return fs
    .readdirSync(path.join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(ext))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** The `%NAME%` app settings that function bindings (timer schedules and the like) resolve. */
function bindingSettings(): string[] {
  const names = new Set<string>();
  for (const file of listFiles('functions', '.ts')) for (const m of read(file).matchAll(/'%([A-Za-z_][\w]*)%'/g)) names.add(m[1]);
  return [...names];
}

const mainBicep = read('infra/main.bicep');
const resourcesBicep = read('infra/resources.bicep');
const allBicep = listFiles('infra', '.bicep').map(read);
const appSettings = appSettingsOf(resourcesBicep);

describe('the Bicep reader itself', () => {
  it('skips comments, strings and interpolations when matching brackets and keys', () => {
    const src = [
      "// appSettings: [ { name: 'COMMENTED', value: 'x' } ]",
      'siteConfig: {',
      '  appSettings: [ // a } in a comment',
      "    { name: 'A', value: '}{${concat('[', x)}\\'' }",
      "    /* { name: 'B' } */",
      "    { name: 'C', value: foo.bar }",
      '  ]',
      '}',
    ].join('\n');
    expect([...appSettingsOf(src)]).toEqual([
      ['A', "'}{${concat('[', x)}\\''"],
      ['C', 'foo.bar'],
    ]);
    expect(topLevelKeys("a: 1\n b: { c: 2, d: 3 }, e: '{x:'\n")).toEqual(['a', 'b', 'e']);
    expect(() => appSettingsOf("appSettings: [ { name: 'A' } ]")).toThrow(/without a literal name or a value/);
  });
});

describe('app settings: the Bicep against the code', () => {
  const bicepNames = [...appSettings.keys()];
  const codeSettings = new Set<string>(SETTINGS);

  it('sets every setting the code reads, except the documented local-only and alternative ones', () => {
    const missing = SETTINGS.filter((s) => !appSettings.has(s) && !(s in NOT_SET_ON_AZURE));
    expect(missing, 'settings the code reads that the Bicep neither sets nor documents as unset').toEqual([]);
    const both = Object.keys(NOT_SET_ON_AZURE).filter((s) => appSettings.has(s));
    expect(both, 'listed as not set on Azure, yet set by the Bicep').toEqual([]);
    const stale = Object.keys(NOT_SET_ON_AZURE).filter((s) => !codeSettings.has(s));
    expect(stale, 'listed as not set on Azure, but the code no longer reads them').toEqual([]);
  });

  it('sets nothing the code does not read, except Functions host settings', () => {
    expect(bicepNames.filter((s) => !codeSettings.has(s) && !HOST_ONLY_SETTINGS.has(s))).toEqual([]);
    for (const s of HOST_ONLY_SETTINGS) expect(appSettings.has(s), `${s} (host setting)`).toBe(true);
    expect(bicepNames.filter((s) => FLEX_UNSUPPORTED_SETTINGS.includes(s))).toEqual([]);
  });

  it('sets every %SETTING% a function binding uses: the host resolves them from app settings, with no defaults', () => {
    const used = bindingSettings();
    expect(used).toContain('BACKUP_SCHEDULE');
    for (const name of used) expect(appSettings.has(name), name).toBe(true);
  });

  it('gives settings the code can use: identity storage, Entra SQL, the same identity everywhere', () => {
    // Each value is its Bicep expression's text; readConfig only needs them to be well-formed.
    const env: Record<string, string> = {};
    for (const [name, expr] of appSettings) {
      // string(<param>) is that parameter's default, as a deployment with defaults sets it.
      const param = /^string\((\w+)\)$/.exec(expr)?.[1];
      env[name] = param ? paramsOf(mainBicep).get(param)!.defaultValue! : expr.replace(/^'|'$/g, '').replace(/\s+/g, '');
    }
    const config = readConfig(env);
    expect(config.sql).toEqual({ kind: 'entra', server: env.SQL_SERVER, database: env.SQL_DATABASE, clientId: env.AZURE_CLIENT_ID });
    expect(config.storage).toEqual({
      kind: 'identity',
      blobServiceUri: `https://${env.AzureWebJobsStorage__accountName}.blob.core.windows.net`,
      queueServiceUri: `https://${env.AzureWebJobsStorage__accountName}.queue.core.windows.net`,
      clientId: env.AZURE_CLIENT_ID,
    });
    expect(config.backupStorage).toEqual(config.storage);
    expect(appSettings.get('AZURE_CLIENT_ID')).toBe('identity.properties.clientId');
    expect(appSettings.get('AzureWebJobsStorage__clientId')).toBe(appSettings.get('AZURE_CLIENT_ID'));
    expect(appSettings.get('AzureWebJobsStorage__credential')).toBe("'managedidentity'");
    expect(appSettings.get('APPLICATIONINSIGHTS_AUTHENTICATION_STRING')).toBe(
      "'ClientId=${identity.properties.clientId};Authorization=AAD'",
    );
    expect(appSettings.get('SQL_SERVER')).toMatch(/\.properties\.fullyQualifiedDomainName$/);
  });

  it("names the containers it creates, with the code's defaults; no lifecycle rule deletes a current backup, and deletions stay recoverable", () => {
    expect(appSettings.get('HISTORIC_CONTAINER')).toBe('historicContainerName');
    expect(appSettings.get('BACKUP_CONTAINER')).toBe('backupContainerName');
    expect(literalVar(resourcesBicep, 'historicContainerName')).toBe(SETTING_DEFAULTS.HISTORIC_CONTAINER);
    expect(literalVar(resourcesBicep, 'backupContainerName')).toBe(SETTING_DEFAULTS.BACKUP_CONTAINER);
    for (const v of ['historicContainerName', 'backupContainerName', 'deploymentContainerName']) {
      expect(resourcesBicep).toMatch(
        new RegExp(`'Microsoft\\.Storage/storageAccounts/blobServices/containers@[^']+' = \\{\\s*parent: blobService\\s*name: ${v}\\b`),
      );
    }
    const rule = blockAfter(resourcesBicep, /'Microsoft\.Storage\/storageAccounts\/managementPolicies@[^']+'\s*=/);
    expect(rule).toContain("prefixMatch: ['${backupContainerName}/']");
    expect(rule).not.toContain('baseBlob');
    expect(blockAfter(rule, /version:/)).toMatch(/delete: \{ daysAfterCreationGreaterThan: backupRetentionDays \}/);
    const blobService = blockAfter(resourcesBicep, /'Microsoft\.Storage\/storageAccounts\/blobServices@[^']+'\s*=/);
    expect(blobService).toContain('isVersioningEnabled: true');
    expect(blobService).toMatch(/deleteRetentionPolicy: \{ enabled: true, days: softDeleteDays \}/);
    expect(blobService).toMatch(/containerDeleteRetentionPolicy: \{ enabled: true, days: softDeleteDays \}/);
    expect(paramsOf(mainBicep).get('backupRetentionDays')?.type).toBe('int');
    expect(paramsOf(mainBicep).get('backupRetentionDays')?.defaultValue).toBe(SETTING_DEFAULTS.BACKUP_RETENTION_DAYS);
    expect(paramsOf(mainBicep).get('backupKeepLast')?.defaultValue).toBe(SETTING_DEFAULTS.BACKUP_KEEP_LAST);
    expect(appSettings.get('BACKUP_RETENTION_DAYS')).toBe('string(backupRetentionDays)');
    expect(appSettings.get('BACKUP_KEEP_LAST')).toBe('string(backupKeepLast)');
    expect(paramsOf(mainBicep).get('backupSchedule')?.defaultValue).toBe(`'${SETTING_DEFAULTS.BACKUP_SCHEDULE}'`);
    expect(appSettings.get('BACKUP_SCHEDULE')).toBe('backupSchedule');
  });
});

describe('infra/*.bicep', () => {
  it('holds no secrets: no keys, passwords or SAS', () => {
    for (const bicep of allBicep) {
      expect(bicep).not.toMatch(/listKeys\s*\(|listAccountSas|listServiceSas|AccountKey=|administratorLoginPassword|@secure\(\)/);
    }
    expect(resourcesBicep).toMatch(/allowSharedKeyAccess: false/);
    expect(resourcesBicep).toMatch(/azureADOnlyAuthentication: true/);
    expect(resourcesBicep).toMatch(/DisableLocalAuth: true/);
  });

  it('uses current, non-preview API versions; Flex Consumption on Microsoft.Web/sites 2023-12-01 or later', () => {
    const versions = allBicep.flatMap((b) =>
      [...scanBicep(b).text.matchAll(/^(?:resource|module)\s+\w+\s+'([^'@]+)@([^']+)'/gm)].map((m) => [m[1], m[2]] as const),
    );
    expect(versions.length).toBeGreaterThan(10);
    for (const [type, version] of versions) expect(version, type).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const sites = versions.filter(([type]) => type === 'Microsoft.Web/sites');
    expect(sites).toHaveLength(1);
    expect(sites[0][1] >= '2023-12-01').toBe(true);
  });

  it('runs Node 22 on Flex Consumption (FC1) as the user-assigned identity', () => {
    expect(blockAfter(resourcesBicep, /'Microsoft\.Web\/serverfarms@[^']+'\s*=/)).toMatch(
      /sku: \{ tier: 'FlexConsumption', name: 'FC1' \}/,
    );
    const site = blockAfter(resourcesBicep, /'Microsoft\.Web\/sites@[^']+'\s*=/);
    const functionAppConfig = blockAfter(site, /\bfunctionAppConfig\s*:/);
    expect(blockAfter(functionAppConfig, /\bruntime\s*:/)).toMatch(/name: 'node', version: '22'/);
    expect(blockAfter(functionAppConfig, /\bauthentication\s*:/)).toMatch(
      /type: 'UserAssignedIdentity'\s+userAssignedIdentityResourceId: identity\.id/,
    );
    expect(blockAfter(site, /\bidentity\s*:/)).toMatch(/type: 'UserAssigned'/);
    expect(site).toMatch(/'azd-service-name': 'api'/);
    expect(Object.keys(readYaml('azure.yaml').services)).toEqual(['api']);
  });

  it('gives the identity the storage and monitoring roles, each assignment on the right scope', () => {
    const roles = blockAfter(resourcesBicep, /^var roles =/m);
    const ids: Record<string, string> = {
      storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
      storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
      storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
      monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
    };
    const scan = scanBicep(resourcesBicep);
    const assignments = [...scan.text.matchAll(/'Microsoft\.Authorization\/roleAssignments@[^']+'\s*=\s*/g)].map((m) =>
      blockAt(scan, m.index + m[0].length),
    );
    const scopes: Record<string, string[]> = {
      storageBlobDataOwner: ['storage'],
      // The load queue and its poison queue only: not the account's other queues.
      storageQueueDataContributor: ['loadQueue', 'loadPoisonQueue'],
      storageTableDataContributor: ['storage'],
      monitoringMetricsPublisher: ['appInsights'],
    };
    for (const [role, id] of Object.entries(ids)) {
      expect(roles).toContain(`${role}: '${id}'`);
      const mine = assignments.filter((a) => a.includes(`roles.${role})`) && a.includes('principalId: identity.properties.principalId'));
      expect(mine.map((a) => /scope: (\w+)/.exec(a)?.[1]).sort(), role).toEqual(scopes[role].sort());
    }
    // The queues exist, with the names the app settings give the code and the host.
    expect(resourcesBicep).toMatch(
      /resource loadQueue 'Microsoft\.Storage\/storageAccounts\/queueServices\/queues@[^']+' = \{\s*parent: queueService\s*name: loadQueueName/,
    );
    expect(resourcesBicep).toMatch(/resource loadPoisonQueue '[^']+' = \{\s*parent: queueService\s*name: '\$\{loadQueueName\}-poison'/);
    expect(appSettings.get('LOAD_QUEUE')).toBe('loadQueue.name');
    expect(resourcesBicep).toContain(`var loadQueueName = '${SETTING_DEFAULTS.LOAD_QUEUE}'`);
  });

  it("passes main.bicep's module exactly the parameters resources.bicep declares; main.parameters.json only main.bicep's", () => {
    const declared = paramsOf(resourcesBicep);
    const passed = topLevelKeys(blockAfter(blockAfter(mainBicep, /module resources 'resources\.bicep' =/), /\bparams\s*:/));
    expect(passed.sort()).toEqual([...declared.keys()].filter((p) => !declared.get(p)!.defaultValue).sort());
    const mainParams = paramsOf(mainBicep);
    const file = readJson('infra/main.parameters.json');
    for (const name of Object.keys(file.parameters)) expect(mainParams.has(name), name).toBe(true);
    for (const [name, p] of mainParams) if (p.defaultValue === undefined) expect(file.parameters[name], name).toBeDefined();
    expect(file.parameters.principalId.value).toBe('${AZURE_PRINCIPAL_ID}');
  });
});

describe('settings in the samples and the README', () => {
  const sample = readJson('local.settings.sample.json');

  it('local.settings.sample.json lists every setting, and as it is selects Azurite and SQLite', () => {
    expect(Object.keys(sample)).toEqual(['IsEncrypted', 'Values']);
    for (const s of SETTINGS) expect(typeof sample.Values[s], s).toBe('string');
    for (const name of bindingSettings()) expect(sample.Values[name], name).not.toBe('');
    const extra = Object.keys(sample.Values).filter(
      (k) => !(SETTINGS as readonly string[]).includes(k) && k !== 'FUNCTIONS_WORKER_RUNTIME',
    );
    expect(extra).toEqual([]);
    const config = readConfig(sample.Values);
    expect(config.storage).toEqual({ kind: 'connectionString', connectionString: 'UseDevelopmentStorage=true' });
    expect(config.sql).toBeUndefined();
    expect(config.dataDir).toBe(SETTING_DEFAULTS.DATA_DIR);
  });

  it('every setting has a default or is named in the README', () => {
    const readme = read('README.md');
    const undocumented = SETTINGS.filter((s) => !(s in SETTING_DEFAULTS) && !new RegExp(`\`${s}\``).test(readme));
    expect(undocumented).toEqual([]);
  });

  it('docker-compose.yml gives the app Azurite, SQL Server by connection string, and every binding setting', () => {
    const compose = readYaml('docker-compose.yml');
    const env = compose.services.app.environment as Record<string, string>;
    for (const name of Object.keys(env))
      expect(SETTINGS.includes(name as never) || name.startsWith('AzureFunctionsWebHost__'), name).toBe(true);
    for (const name of bindingSettings()) expect(env[name], name).toBeTruthy();
    const config = readConfig(env);
    expect(config.sql?.kind).toBe('connectionString');
    expect(env.SQL_CONNECTION).toMatch(
      /^Server=sqlserver,1433;Database=\w+;User Id=sa;Password=[^;]+;Encrypt=true;TrustServerCertificate=true$/,
    );
    expect(env.AzureWebJobsStorage).toMatch(/BlobEndpoint=http:\/\/azurite:10000\/devstoreaccount1;/);
    expect(compose.services.sqlserver.image).toBe('mcr.microsoft.com/mssql/server:2022-latest');
    // Published on this machine's loopback only: SQL Server's sa password and Azurite's key are well known.
    for (const [name, service] of Object.entries(compose.services as Record<string, { ports?: string[] }>)) {
      for (const port of service.ports ?? []) expect(port, name).toMatch(/^127\.0\.0\.1:/);
    }
    expect(compose.services.sqlserver.healthcheck.test.join(' ')).toMatch(/sqlcmd/);
    expect(compose.services.app.build).toBe('.');
    expect(compose.services.app.depends_on['sqlserver-init'].condition).toBe('service_completed_successfully');
    expect(compose.services['sqlserver-init'].depends_on.sqlserver.condition).toBe('service_healthy');
  });
});

describe("azure.yaml (the rules of azd's schemas/v1.0/azure.yaml.json that apply)", () => {
  const azd = readYaml('azure.yaml');
  const HOOK_KEYS = ['shell', 'kind', 'dir', 'run', 'continueOnError', 'interactive', 'windows', 'posix', 'secrets', 'config'];
  const COMMAND_HOOKS = [
    'preprovision',
    'postprovision',
    'preinfracreate',
    'postinfracreate',
    'preinfradelete',
    'postinfradelete',
    'predown',
    'postdown',
    'preup',
    'postup',
    'prepackage',
    'postpackage',
    'prepublish',
    'postpublish',
    'predeploy',
    'postdeploy',
    'prerestore',
    'postrestore',
  ];

  function checkHook(hook: any, where: string, platform?: 'posix' | 'windows'): void {
    expect(typeof hook, where).toBe('object');
    for (const key of Object.keys(hook)) expect(HOOK_KEYS, `${where}.${key}`).toContain(key);
    if (hook.windows && hook.posix) {
      for (const key of ['run', 'shell', 'kind', 'dir', 'interactive', 'continueOnError', 'secrets', 'config'])
        expect(hook[key], `${where}.${key} beside windows and posix`).toBeUndefined();
      checkHook(hook.posix, `${where}.posix`, 'posix');
      checkHook(hook.windows, `${where}.windows`, 'windows');
      return;
    }
    expect(typeof hook.run, `${where}.run`).toBe('string');
    if (hook.shell !== undefined) expect(['sh', 'pwsh']).toContain(hook.shell);
    const script = path.join(ROOT, hook.run);
    expect(fs.existsSync(script), `${where}.run: ${hook.run} exists`).toBe(true);
    if (platform === 'posix') expect(fs.statSync(script).mode & 0o111, `${hook.run} is executable`).not.toBe(0);
    expect(path.extname(hook.run)).toBe(hook.shell === 'pwsh' ? '.ps1' : '.sh');
  }

  it('has a valid name, known top-level keys and a function service built from this folder', () => {
    expect(azd.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    const known = [
      'name',
      'resourceGroup',
      'metadata',
      'infra',
      'services',
      'resources',
      'pipeline',
      'hooks',
      'requiredVersions',
      'state',
      'platform',
      'workflows',
      'cloud',
    ];
    for (const key of Object.keys(azd)) expect(known, key).toContain(key);
    expect(Object.keys(azd.services).length).toBeGreaterThan(0);
    const api = azd.services.api;
    expect(api.host).toBe('function');
    expect(typeof api.project).toBe('string');
    expect(fs.existsSync(path.join(ROOT, api.project, 'package.json'))).toBe(true);
    for (const key of ['image', 'docker', 'k8s', 'apiVersion', 'env'])
      expect(api[key], `${key} is not allowed with host: function`).toBeUndefined();
    expect(['js', 'ts']).toContain(api.language);
    expect(typeof api.remoteBuild).toBe('boolean');
  });

  it('points at infra/main.bicep with its parameters file', () => {
    expect(azd.infra.provider).toBe('bicep');
    expect(azd.infra.provider).toMatch(/^[a-z0-9.]+$/);
    for (const ext of ['.bicep', '.parameters.json'])
      expect(fs.existsSync(path.join(ROOT, azd.infra.path, azd.infra.module + ext))).toBe(true);
  });

  it('has well-formed hooks whose scripts exist: a postprovision hook for POSIX and Windows', () => {
    for (const [event, hook] of Object.entries(azd.hooks ?? {})) {
      expect(COMMAND_HOOKS, event).toContain(event);
      for (const [i, h] of (Array.isArray(hook) ? hook : [hook]).entries()) checkHook(h, `hooks.${event}[${i}]`);
    }
    expect(azd.hooks.postprovision.posix.run).toBe('infra/scripts/create-sql-user.sh');
    expect(azd.hooks.postprovision.windows.run).toBe('infra/scripts/create-sql-user.ps1');
  });
});

describe('host.json (the rules of the host.json schema that apply)', () => {
  const host = readJson('host.json');
  const LEVELS = ['Trace', 'Debug', 'Information', 'Warning', 'Error', 'Critical', 'None'];
  const TELEMETRY_TYPES = ['Dependency', 'Event', 'Exception', 'PageView', 'Request', 'Trace'];

  it('is a version 2.0 file with known top-level keys', () => {
    expect(host.version).toBe('2.0');
    const known = [
      'version',
      'aggregator',
      'concurrency',
      'customHandler',
      'extensionBundle',
      'extensions',
      'functions',
      'functionTimeout',
      'healthMonitor',
      'logging',
      'managedDependency',
      'retry',
      'singleton',
      'watchDirectories',
      'watchFiles',
    ];
    for (const key of Object.keys(host)) expect(known, key).toContain(key);
  });

  it('allows long loads: a bounded timeout of at least 30 minutes (Flex Consumption allows any)', () => {
    const m = /^(\d{2}):([0-5]\d):([0-5]\d)$/.exec(host.functionTimeout);
    expect(m, host.functionTimeout).not.toBeNull();
    const minutes = Number(m![1]) * 60 + Number(m![2]);
    expect(minutes).toBeGreaterThanOrEqual(30);
  });

  it('logs at valid levels and never samples away requests or exceptions', () => {
    for (const [category, level] of Object.entries(host.logging.logLevel)) expect(LEVELS, category).toContain(level);
    expect(host.logging.logLevel.Function).toBe('Information');
    const sampling = host.logging.applicationInsights.samplingSettings;
    const excluded = String(sampling.excludedTypes).split(';');
    for (const t of excluded) expect(TELEMETRY_TYPES).toContain(t);
    expect(excluded).toEqual(expect.arrayContaining(['Request', 'Exception']));
    expect(typeof sampling.isEnabled).toBe('boolean');
  });

  it('runs the load queue as its worker needs: base64 messages, retries before the poison queue, a short wait between polls', () => {
    const queues = host.extensions.queues;
    const known = ['batchSize', 'newBatchThreshold', 'maxDequeueCount', 'visibilityTimeout', 'maxPollingInterval', 'messageEncoding'];
    for (const key of Object.keys(queues)) expect(known, key).toContain(key);
    expect(queues.messageEncoding).toBe('base64'); // what LoadQueue sends
    expect(queues.maxDequeueCount).toBeGreaterThanOrEqual(2);
    expect(queues.batchSize).toBeGreaterThanOrEqual(1);
    expect(queues.batchSize).toBeLessThanOrEqual(32);
    expect(queues.newBatchThreshold).toBeLessThan(queues.batchSize);
    for (const span of [queues.visibilityTimeout, queues.maxPollingInterval]) expect(span).toMatch(/^\d{2}:[0-5]\d:[0-5]\d$/);
  });

  it('keeps the api route prefix and the version 4 extension bundle', () => {
    expect(host.extensions.http.routePrefix).toBe('api');
    expect(host.extensionBundle).toEqual({ id: 'Microsoft.Azure.Functions.ExtensionBundle', version: '[4.*, 5.0.0)' });
  });
});

// ------------------------------------------------------------------ what the package and the image hold

/** Every file of the working tree that git would not ignore: tracked ones and new ones. */
function workingTreeFiles(): string[] {
  return execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: ROOT, encoding: 'utf8' })
    .split('\0')
    .filter((f) => f && fs.existsSync(path.join(ROOT, f)));
}

/**
 * Files of `files` that a gitignore-style file (.funcignore, as azd reads it) excludes: git itself
 * decides, in an empty repository whose only .gitignore is that file.
 */
function ignoredBy(ignoreFile: string, files: string[]): Set<string> {
  const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-ignore-'));
  try {
    const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' };
    execFileSync('git', ['init', '-q'], { cwd: repo, env });
    fs.copyFileSync(path.join(ROOT, ignoreFile), path.join(repo, '.gitignore'));
    const out = spawnSync('git', ['check-ignore', '--no-index', '--stdin', '-z', '--verbose', '--non-matching'], {
      cwd: repo,
      input: files.join('\0') + '\0',
      encoding: 'utf8',
      env,
    });
    expect([0, 1], out.stderr).toContain(out.status);
    // --verbose -z: source, line, pattern, path; no source means no pattern matched.
    const fields = out.stdout.split('\0');
    const ignored = new Set<string>();
    for (let i = 0; i + 3 < fields.length; i += 4) if (fields[i] && !fields[i + 2].startsWith('!')) ignored.add(fields[i + 3]);
    return ignored;
  } finally {
    fs.rmSync(repo, { recursive: true, force: true });
  }
}

const tempDirs: string[] = [];
afterAll(() => {
  for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Copies `files` into an empty folder and runs the project's `build` there (tsc, then the dashboard's bundle), with this node_modules. */
function buildFrom(files: string[]): { dir: string; status: number | null; output: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-build-'));
  tempDirs.push(dir);
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  }
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  const script = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).scripts.build as string;
  expect(script).toMatch(/^tsc\b/);
  // The build script as npm runs it: node_modules/.bin first on the PATH.
  const build = spawnSync('sh', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, PATH: `${path.join(ROOT, 'node_modules', '.bin')}${path.delimiter}${process.env.PATH}` },
  });
  return { dir, status: build.status, output: build.stdout + build.stderr };
}

/** Every function file, compiled to where package.json's `main` glob finds it. */
function expectFunctionsBuilt(dir: string): void {
  const main = readJson('package.json').main as string;
  expect(main).toBe('dist/functions/*.js');
  const functions = fs.readdirSync(path.join(ROOT, 'functions')).filter((f) => f.endsWith('.ts'));
  expect(functions.length).toBeGreaterThan(5);
  for (const f of functions) expect(fs.existsSync(path.join(dir, 'dist', 'functions', f.replace(/\.ts$/, '.js'))), f).toBe(true);
}

describe('.funcignore: the package azd uploads for the remote build', () => {
  const files = workingTreeFiles();
  const ignored = ignoredBy('.funcignore', files);
  const kept = files.filter((f) => !ignored.has(f));

  it('ships what the host and the build need, and none of the tests, tools, infra or local files', () => {
    for (const f of [
      'host.json',
      'package.json',
      'package-lock.json',
      'tsconfig.json',
      'functions/loadTable.ts',
      'shared/config.ts',
      'clients/dashboard/main.ts',
      'clients/dashboard/build.mjs',
    ])
      expect(kept, f).toContain(f);
    for (const f of [
      'tests/deploy.test.ts',
      'infra/main.bicep',
      'local/host.ts',
      'bench/bench.ts',
      'tools/datagen.ts',
      'README.md',
      'Dockerfile',
      '.github/workflows/ci.yml',
      'local.settings.sample.json',
      'clients/cli/main.ts',
      'clients/dashboard/screenshots/metrics.png',
    ]) {
      expect(ignoredBy('.funcignore', [f]).has(f), f).toBe(true);
    }
    for (const dir of ['node_modules/', 'dist/', '.data/'])
      expect(ignoredBy('.funcignore', [`${dir}x.js`]).has(`${dir}x.js`), dir).toBe(true);
    expect(readYaml('azure.yaml').services.api.remoteBuild, 'node_modules is left out only because Azure builds the app').toBe(true);
  });

  it('builds from exactly those files', { timeout: 120_000 }, () => {
    const build = buildFrom(kept);
    expect(build.status, build.output).toBe(0);
    expectFunctionsBuilt(build.dir);
    // The dashboard is bundled by the same build: the page and the files it names.
    const page = fs.readFileSync(path.join(build.dir, 'dist', 'dashboard', 'index.html'), 'utf8');
    for (const [, asset] of page.matchAll(/(?:src|href)="(app-\w+\.(?:js|css))/g))
      expect(fs.existsSync(path.join(build.dir, 'dist', 'dashboard', asset)), asset).toBe(true);
  });
});

describe('Dockerfile', () => {
  interface Instruction {
    readonly op: string;
    readonly args: string;
    readonly stage: number;
  }
  const instructions: Instruction[] = [];
  let stage = -1;
  for (const line of read('Dockerfile').replace(/\\\n/g, ' ').split('\n')) {
    const m = /^\s*([A-Za-z]+)\s+(.*)$/.exec(line);
    if (!m || line.trim().startsWith('#')) continue;
    const op = m[1].toUpperCase();
    if (op === 'FROM') stage++;
    instructions.push({ op, args: m[2].trim(), stage });
  }
  const copies = instructions.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from'));
  const sources = copies.flatMap((c) =>
    c.args
      .split(/\s+/)
      .filter((a) => !a.startsWith('--'))
      .slice(0, -1),
  );
  const dockerignore = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('builds and runs on the official Azure Functions Node 22 image', () => {
    const froms = instructions.filter((i) => i.op === 'FROM').map((i) => i.args.split(/\s+/)[0]);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const image of froms) expect(image).toBe('mcr.microsoft.com/azure-functions/node:4-node22');
    const last = instructions.filter((i) => i.stage === froms.length - 1);
    expect(last.some((i) => i.op === 'ENV' && /AzureWebJobsScriptRoot=\/home\/site\/wwwroot\b/.test(i.args))).toBe(true);
    expect(last.find((i) => i.op === 'WORKDIR')?.args).toBe('/home/site/wwwroot');
    const finalCopies = last.filter((i) => i.op === 'COPY').map((i) => i.args);
    for (const what of ['host.json', '/src/dist', '/src/node_modules', '/src/package.json'])
      expect(
        finalCopies.some((a) => a.includes(what)),
        what,
      ).toBe(true);
  });

  it('copies only files that exist and that .dockerignore lets through', () => {
    expect(sources.length).toBeGreaterThan(3);
    for (const src of sources) {
      expect(fs.existsSync(path.join(ROOT, src)), src).toBe(true);
      const top = src.replace(/^\.\//, '').split('/')[0];
      expect(
        dockerignore.filter((p) => p === top || p === src || (p.startsWith('*') && src.endsWith(p.slice(1)))),
        `${src} is excluded by .dockerignore`,
      ).toEqual([]);
    }
  });

  it('runs only npm scripts that exist, builds before pruning dev dependencies', () => {
    const scripts = readJson('package.json').scripts as Record<string, string>;
    const runs = instructions
      .filter((i) => i.op === 'RUN')
      .map((i) => i.args)
      .join(' && ');
    const used = [...runs.matchAll(/npm run ([\w:-]+)/g)].map((m) => m[1]);
    expect(used).toContain('build');
    for (const s of used) expect(scripts[s], s).toBeDefined();
    expect(runs).toMatch(/npm ci\b/);
    expect(runs.indexOf('npm run build')).toBeLessThan(runs.indexOf('npm prune --omit=dev'));
  });

  it('compiles from exactly the files its build stage copies', { timeout: 120_000 }, () => {
    const files = workingTreeFiles().filter((f) => sources.some((s) => f === s || f.startsWith(s.replace(/\/?$/, '/'))));
    const build = buildFrom(files);
    expect(build.status, build.output).toBe(0);
    expectFunctionsBuilt(build.dir);
    // The dashboard is bundled by the same build: the page and the files it names.
    const page = fs.readFileSync(path.join(build.dir, 'dist', 'dashboard', 'index.html'), 'utf8');
    for (const [, asset] of page.matchAll(/(?:src|href)="(app-\w+\.(?:js|css))/g))
      expect(fs.existsSync(path.join(build.dir, 'dist', 'dashboard', asset)), asset).toBe(true);
  });
});

describe('GitHub workflows', () => {
  it('ci.yml runs npm test on every push and pull request, with SQL Server 2022 for the contract tests', () => {
    const ci = readYaml('.github/workflows/ci.yml');
    expect(Object.keys(ci.on)).toEqual(expect.arrayContaining(['push', 'pull_request']));
    expect(ci.on.push, 'push is not limited to some branches').toBeNull();
    const [job] = Object.values(ci.jobs) as any[];
    const sql = job.services.sqlserver;
    expect(sql.image).toBe('mcr.microsoft.com/mssql/server:2022-latest');
    expect(sql.ports).toContain('1433:1433');
    expect(sql.options).toMatch(/--health-cmd/);
    const test = job.steps.find((s: any) => s.run === 'npm test');
    expect(test, 'a step runs npm test').toBeDefined();
    const connection = test.env?.MSSQL_TEST_CONNECTION ?? job.env?.MSSQL_TEST_CONNECTION;
    expect(connection).toBe(
      `Server=localhost,1433;Database=master;User Id=sa;Password=${sql.env.MSSQL_SA_PASSWORD};Encrypt=true;TrustServerCertificate=true`,
    );
    const steps = job.steps.map((s: any) => s.run ?? s.uses);
    expect(steps.indexOf('npm ci')).toBeLessThan(steps.indexOf('npm test'));
    expect(steps.some((s: string) => /apt-get install -y python3-avro/.test(s))).toBe(true);
    expect(job.strategy.matrix.node).toContain(22);
    expect(steps.find((s: string) => s.startsWith('actions/setup-node'))).toBeDefined();
  });

  it('deploy.yml deploys with azd and OpenID Connect, by hand or on a v* tag', () => {
    const deploy = readYaml('.github/workflows/deploy.yml');
    expect(deploy.on).toHaveProperty('workflow_dispatch');
    expect(deploy.on.push.tags).toContain('v*');
    expect(deploy.permissions['id-token']).toBe('write');
    const [job] = Object.values(deploy.jobs) as any[];
    for (const v of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID']) expect(job.env[v]).toBe(`\${{ vars.${v} }}`);
    const uses = job.steps.map((s: any) => s.uses).filter(Boolean);
    expect(uses.some((u: string) => /^Azure\/setup-azd@/.test(u))).toBe(true);
    const runs = job.steps
      .map((s: any) => s.run)
      .filter(Boolean)
      .join('\n');
    expect(runs).toMatch(/azd auth login[\s\S]*--federated-credential-provider github/);
    expect(runs).toMatch(/azd deploy --no-prompt/);
    expect(JSON.stringify(deploy)).not.toMatch(/secrets\./);
  });
});

describe('the post-provision database user', () => {
  const sql = read('infra/scripts/create-sql-user.sql');

  it('grants exactly db_datareader, db_datawriter and db_ddladmin, idempotently', () => {
    expect([...sql.matchAll(/N'(db_\w+)'/g)].map((m) => m[1]).sort()).toEqual(['db_datareader', 'db_datawriter', 'db_ddladmin']);
    const code = sql.replace(/--.*$/gm, '');
    expect(code).not.toMatch(/db_owner|db_securityadmin|CONTROL|ALTER ANY/i);
    expect(code).toMatch(
      /IF NOT EXISTS \(SELECT 1 FROM sys\.database_principals WHERE name = @user\)\s*BEGIN\s*EXEC \(N'CREATE USER ' \+ QUOTENAME\(@user\) \+ N' FROM EXTERNAL PROVIDER'\)/,
    );
    expect(code).toMatch(/IF NOT EXISTS \([^]*sys\.database_role_members[^]*\)\s*BEGIN\s*EXEC \(N'ALTER ROLE ' \+ QUOTENAME\(@role\)/);
    expect(code.match(/\$\(IdentityName\)/g)).toHaveLength(1);
  });

  /** Runs create-sql-user.sh under `sh` with stand-in sqlcmd and azd that log their arguments. */
  function runScript(identity: string, sqlcmdBehaviour: string): { status: number | null; stderr: string; sqlcmd: string; azd: string } {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'deploy-hook-'));
    tempDirs.push(bin);
    fs.writeFileSync(
      path.join(bin, 'sqlcmd'),
      `#!/bin/sh\nif [ "$1" = --version ]; then echo 'sqlcmd: 1.8.0'; exit 0; fi\necho "$*" >> "${bin}/sqlcmd.log"\n${sqlcmdBehaviour}\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, 'azd'), `#!/bin/sh\necho "$*" >> "${bin}/azd.log"\n`, { mode: 0o755 });
    const result = spawnSync('sh', [path.join(ROOT, 'infra/scripts/create-sql-user.sh')], {
      encoding: 'utf8',
      timeout: 20_000,
      env: {
        PATH: `${bin}:/usr/bin:/bin`,
        SQL_SERVER: 'sql-abc.database.windows.net',
        SQL_DATABASE: 'csv-to-sql',
        AZURE_FUNCTION_IDENTITY_NAME: identity,
      },
    });
    const log = (name: string) => (fs.existsSync(path.join(bin, name)) ? fs.readFileSync(path.join(bin, name), 'utf8') : '');
    return { status: result.status, stderr: result.stderr, sqlcmd: log('sqlcmd.log'), azd: log('azd.log') };
  }

  it('runs the T-SQL as the signed-in Entra administrator, in the service database', () => {
    const run = runScript('id-func-abc', 'exit 0');
    expect(run.status, run.stderr).toBe(0);
    expect(run.sqlcmd.trim()).toBe(
      `-S tcp:sql-abc.database.windows.net,1433 -d csv-to-sql --authentication-method ActiveDirectoryDefault -l 60 -b -v IdentityName=id-func-abc -i ${path.join(ROOT, 'infra/scripts/create-sql-user.sql')}`,
    );
    expect(run.azd).toBe('');
  });

  it("records this machine's address for the firewall rule when SQL refuses it, and fails", () => {
    const run = runScript(
      'id-func-abc',
      `echo "Sqlcmd: Error: Cannot open server 'sql-abc' requested by the login. Client with IP address '203.0.113.7' is not allowed to access the server." >&2; exit 1`,
    );
    expect(run.status).toBe(1);
    expect(run.azd.trim()).toBe('env set SQL_CLIENT_IP_ADDRESS 203.0.113.7');
    expect(run.stderr).toMatch(/run 'azd provision' again/);
  });

  it('refuses an identity name that is not a plain resource name, before connecting', () => {
    const run = runScript('x]; DROP USER [y', 'exit 0');
    expect(run.status).toBe(1);
    expect(run.sqlcmd).toBe('');
  });
});

describe('function keys', () => {
  const functionsDir = path.join(ROOT, 'functions');
  const levels = new Map(
    fs
      .readdirSync(functionsDir)
      .filter((f) => f.endsWith('.ts'))
      .map((f) => [f.replace(/\.ts$/, ''), /authLevel: '(\w+)'/.exec(fs.readFileSync(path.join(functionsDir, f), 'utf8'))?.[1]]),
  );

  it('restores replace tables and cancel or resume stop loads: they need the master key (admin); health is anonymous; every other route a function key', () => {
    const admin = ['restoreTable', 'restoreSet', 'cancelRun', 'resumeRun'];
    for (const name of admin) expect(levels.get(name), name).toBe('admin');
    expect(levels.get('health')).toBe('anonymous');
    expect(levels.get('healthDetails')).toBe('function');
    const others = [...levels].filter(([name, level]) => level !== undefined && ![...admin, 'health'].includes(name));
    expect(others.length).toBeGreaterThan(10);
    for (const [name, level] of others) expect(level, name).toBe('function');
  });
});
